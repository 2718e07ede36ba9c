"""The files outlet: each article version as ninjs JSON and a rendered HTML page in a folder.

Layout: <directory>/<article id>/v<version>.ninjs.json and v<version>.html, plus index.html and
article.ninjs.json for the latest version, and beside them the version's stored images as
image-<content hash>.<ext> (worker/outlets/images.py), which the pages link relatively: the folder can be
served or copied anywhere and its pictures come along. An image the store could not have keeps the
partner's URL in the page. An image file is named by its content, so it is written once whatever version
or article names it, and never rewritten. Every write is atomic (worker/outlets/atomic_write.py: temp file +
rename) so a reader never sees half a file, with the mode the umask gives (a web server running as another
user can serve them), and a version already written with the same bytes is not written again, so delivering
the same version twice writes once. Each real write is logged as one JSON line in publish.log.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from worker.outlets.atomic_write import check_writable, write_atomically
from worker.errors import OutletUnavailableError
from worker.outlets.base import Outlet, OutletOptions, RemoteRef
from worker.outlets.images import ArticleImages
from worker.outlets.render import render_article_html
from worker.schema import Article, to_ninjs


class FilesOptions(OutletOptions):
    #: where the files go; relative paths are resolved against the working directory
    directory: str


class FilesOutlet(Outlet[FilesOptions]):
    kind = "files"

    @property
    def directory(self) -> Path:
        return Path(self.options.directory).resolve()

    def publish(self, article: Article, previous: RemoteRef | None, *,
                images: ArticleImages | None = None) -> RemoteRef:
        folder = self.directory / article.id
        ninjs = json.dumps(to_ninjs(article), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
        page = render_article_html(article, images).encode("utf-8")
        try:
            written = self._write_images(folder, images) + [
                name
                for name, data in (
                    (f"v{article.version}.ninjs.json", ninjs),
                    (f"v{article.version}.html", page),
                )
                if write_atomically(folder / name, data)
            ]
            if self._is_latest(folder, article.version):
                write_atomically(folder / "article.ninjs.json", ninjs)
                write_atomically(folder / "index.html", page)
            if written:
                self._log(article, written)
        except OSError as exc:
            # a full disk or a missing mount may be fixed by the operator; retry rather than give up
            raise OutletUnavailableError(f"cannot write to {folder}: {exc}") from exc
        return RemoteRef(id=article.id, url=(folder / f"v{article.version}.html").as_uri())

    def check(self) -> str:
        return check_writable(self.directory, ".write-check")

    @staticmethod
    def _write_images(folder: Path, images: ArticleImages | None) -> list[str]:
        """Write the stored images beside the pages (before the pages that link them); their names."""
        written = []
        for image in images.available if images is not None else []:
            target = folder / image.filename
            if not target.exists() and write_atomically(target, image.read()):
                written.append(image.filename)
        return written

    def withdraw(self, remote: RemoteRef, reason: str) -> None:
        """Replace the latest page with a withdrawal notice and leave a marker; version files stay for the record."""
        folder = self.directory / remote.id
        notice = json.dumps({"article_id": remote.id, "withdrawn": True, "reason": reason}, indent=2).encode() + b"\n"
        page = (
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"robots\" content=\"noindex\">"
            "<title>Withdrawn</title></head><body><p class=\"withdrawn\">This article was withdrawn by its "
            "publisher.</p></body></html>\n"
        ).encode()
        try:
            if write_atomically(folder / "withdrawn.json", notice) | write_atomically(folder / "index.html", page):
                self._log_line({"article_id": remote.id, "withdrawn": True, "reason": reason})
        except OSError as exc:
            raise OutletUnavailableError(f"cannot write to {folder}: {exc}") from exc

    @staticmethod
    def _is_latest(folder: Path, version: int) -> bool:
        versions = [int(p.name[1:].split(".")[0]) for p in folder.glob("v*.ninjs.json")]
        return version >= max(versions, default=0)

    def _log(self, article: Article, files: list[str]) -> None:
        self._log_line({"article_id": article.id, "version": article.version, "files": files})

    def _log_line(self, entry: dict[str, object]) -> None:
        line = json.dumps({"at": datetime.now(timezone.utc).isoformat(), **entry})
        with open(self.directory / "publish.log", "a", encoding="utf-8") as log:
            log.write(line + "\n")
