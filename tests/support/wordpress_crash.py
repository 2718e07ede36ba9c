"""A WordPress outlet that dies like a lost machine right after WordPress created the post.

Loaded through the outlet plug-in mechanism (`kind: tests.support.wordpress_crash:CrashingWordPressOutlet`).
While the file `crash_marker` exists, publish does its real work against WordPress, removes the marker
(so the next worker does not die too) and SIGKILLs its whole process group: the Celery worker and its
pool children, before the ledger can record the delivery.
"""
from __future__ import annotations

import os
import signal
from pathlib import Path

from worker.outlets.base import RemoteRef
from worker.outlets.wordpress import WordPressOptions, WordPressOutlet
from worker.schema import Article


class CrashingWordPressOptions(WordPressOptions):
    crash_marker: str


class CrashingWordPressOutlet(WordPressOutlet):
    kind = "crashing-wordpress"
    options_model = CrashingWordPressOptions  # extends WordPressOptions, which WordPressOutlet reads
    options: CrashingWordPressOptions

    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        remote = super().publish(article, previous)
        marker = Path(self.options.crash_marker)
        with open(marker.with_suffix(".log"), "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} published {article.id} v{article.version} as {remote.id} (previous={previous})\n")
        if marker.exists():
            marker.unlink()
            os.killpg(os.getpgid(0), signal.SIGKILL)
        return remote
