"""A files outlet that logs every call it receives, so tests count calls rather than writes.

Why: the files outlet writes idempotently (the same version twice is written once, a second withdrawal
changes nothing), so its publish.log cannot show a duplicate delivery. calls.log can: one JSON line per
publish() and per withdraw(), whatever they end up writing. Loaded like any plug-in outlet
(`kind: tests.support.counting_outlet:CountingFilesOutlet`).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from worker.outlets.base import RemoteRef
from worker.outlets.files import FilesOutlet
from worker.schema import Article

KIND = "tests.support.counting_outlet:CountingFilesOutlet"


class CountingFilesOutlet(FilesOutlet):
    kind = "counting-files"

    def _note(self, entry: dict[str, object]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / "calls.log", "a", encoding="utf-8") as log:
            log.write(json.dumps({"pid": os.getpid(), **entry}) + "\n")

    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        self._note({"call": "publish", "article_id": article.id, "version": article.version, "url": article.url})
        return super().publish(article, previous)

    def withdraw(self, remote: RemoteRef, reason: str) -> None:
        self._note({"call": "withdraw", "article_id": remote.id})
        super().withdraw(remote, reason)


def calls(directory: Path, call: str | None = None) -> list[dict[str, object]]:
    """The calls logged in `directory` (the outlet's folder), optionally only one kind."""
    path = directory / "calls.log"
    entries = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [e for e in entries if call is None or e["call"] == call]
