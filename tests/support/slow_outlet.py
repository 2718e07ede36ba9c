"""A files outlet that can be held in the middle of publish, so a test can SIGKILL the worker there.

Loaded through the outlet plug-in mechanism (`kind: tests.support.slow_outlet:SlowFilesOutlet`), the
same way an operator adds an outlet of their own. While the file `<hold_dir>/hold` exists, publish
records that it started and waits; the test kills the worker during that wait.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

from worker.outlets.base import RemoteRef
from worker.outlets.files import FilesOptions, FilesOutlet
from worker.schema import Article


class SlowFilesOptions(FilesOptions):
    hold_dir: str


class SlowFilesOutlet(FilesOutlet):
    kind = "slow-files"
    options_model = SlowFilesOptions  # extends FilesOptions: FilesOutlet's own code reads its fields
    options: SlowFilesOptions

    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        hold_dir = Path(self.options.hold_dir)
        with open(hold_dir / "started.log", "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {article.id} v{article.version}\n")
        deadline = time.monotonic() + 120
        while (hold_dir / "hold").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        return super().publish(article, previous)
