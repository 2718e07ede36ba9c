"""The images of each article version: the files, stored once per content, and per version what became of
each image the article names (stored, or missing with the reason).

Two tables (worker/store/models.py): `image_files` holds each distinct file once, keyed by the SHA-256 of
its bytes, with the facts sniffed from them (type, declared size); `article_images` holds one row per
(article version, image URL): the file it got, or the failure's code and reason. A version's rows are
written once: the first writer of a row wins (INSERT ... ON CONFLICT DO NOTHING), so two workers ingesting
the same page at once record one outcome, and the ingest that re-runs after a crash finds what the first
run recorded and fetches only what it had not reached. A missing image is tried again by the next version,
which has no rows yet.

Why the bytes live in the database: every worker, on any machine, reads the same store; a file path under
one machine's var/ would be missing on the others. The files are bounded (SYNDICATION_MAX_IMAGE_BYTES,
SYNDICATION_MAX_IMAGES_PER_ARTICLE) and read one at a time (`image_bytes`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from worker.store.base import StoreBase
from worker.store.base import utc_now as _now
from worker.store.engine import translate_errors
from worker.store.models import ArticleImageRow, ImageFileRow

STORED = "stored"
MISSING = "missing"


@dataclass(frozen=True)
class ImageFile:
    """What the caller fetched and inspected: the bytes and the facts sniffed from them."""

    sha256: str
    content_type: str
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class ImageRecord:
    """What became of one image of one article version."""

    article_id: str
    version: int
    url: str
    #: "lead" or "body"
    role: str
    #: its place among the article's images: 0 the lead image (when there is one), then the body's in order
    position: int
    #: STORED or MISSING
    state: str
    sha256: str | None
    content_type: str | None
    width: int | None
    height: int | None
    byte_size: int | None
    #: the failure's code (worker/errors.py) and its reason, when missing
    code: str | None
    reason: str | None
    recorded_at: datetime

    @property
    def stored(self) -> bool:
        return self.state == STORED


def _record(row: ArticleImageRow, file: ImageFileRow | None) -> ImageRecord:
    return ImageRecord(
        article_id=row.article_id, version=row.version, url=row.url, role=row.role, position=row.position,
        state=row.state, sha256=row.sha256, content_type=file.content_type if file else None,
        width=file.width if file else None, height=file.height if file else None,
        byte_size=file.byte_size if file else None, code=row.code, reason=row.reason, recorded_at=row.created_at,
    )


class ImageStore(StoreBase):
    """Images of article versions; see the module docstring."""

    @translate_errors
    def image_records(self, article_id: str, version: int) -> list[ImageRecord]:
        """Every image recorded for one article version, in the article's order."""
        query = (
            select(ArticleImageRow, ImageFileRow)
            .outerjoin(ImageFileRow, ImageFileRow.sha256 == ArticleImageRow.sha256)
            .where(ArticleImageRow.article_id == article_id, ArticleImageRow.version == version)
            .order_by(ArticleImageRow.position, ArticleImageRow.id)
        )
        with self._reading() as session:
            return [_record(row, file) for row, file in session.execute(query).all()]

    @translate_errors
    def earlier_stored_image(self, article_id: str, url: str) -> ImageRecord | None:
        """The newest stored copy of `url` among the article's versions, if any: a new version whose image
        did not change reuses it instead of fetching it again."""
        query = (
            select(ArticleImageRow, ImageFileRow)
            .join(ImageFileRow, ImageFileRow.sha256 == ArticleImageRow.sha256)
            .where(ArticleImageRow.article_id == article_id, ArticleImageRow.url == url,
                   ArticleImageRow.state == STORED)
            .order_by(ArticleImageRow.version.desc())
            .limit(1)
        )
        with self._reading() as session:
            found = session.execute(query).first()
        return _record(*found) if found else None

    @translate_errors
    def record_stored_image(self, article_id: str, version: int, url: str, role: str, position: int,
                            file: ImageFile) -> bool:
        """Keep the file (once per content) and record it as this version's image for `url`. True when this
        call recorded it, False when the version's row for the URL was there already."""
        now = _now()
        files = cast(Table, ImageFileRow.__table__)
        with self._writing() as session:
            session.execute(self._insert(files).values(
                sha256=file.sha256, content_type=file.content_type, width=file.width, height=file.height,
                byte_size=len(file.data), data=file.data, created_at=now,
            ).on_conflict_do_nothing(index_elements=[files.c.sha256]))
            return self._insert_record(session, article_id, version, url, role, position, STORED, file.sha256,
                                       None, None, now)

    @translate_errors
    def record_reused_image(self, article_id: str, version: int, url: str, role: str, position: int,
                            sha256: str) -> bool:
        """Record an already stored file as this version's image for `url` (nothing fetched)."""
        with self._writing() as session:
            return self._insert_record(session, article_id, version, url, role, position, STORED, sha256,
                                       None, None, _now())

    @translate_errors
    def record_missing_image(self, article_id: str, version: int, url: str, role: str, position: int,
                             code: str, reason: str) -> bool:
        """Record that this version could not have the image at `url`, and why."""
        with self._writing() as session:
            return self._insert_record(session, article_id, version, url, role, position, MISSING, None,
                                       code, reason, _now())

    @translate_errors
    def record_missing_images(self, article_id: str, version: int,
                              missing: list[tuple[str, str, int, str, str]]) -> None:
        """Record several images this version could not have, (url, role, position, code, reason) each, in
        one transaction: an article's refusals are known without any fetch and need no commit apiece."""
        if not missing:
            return
        now = _now()
        with self._writing() as session:
            for url, role, position, code, reason in missing:
                self._insert_record(session, article_id, version, url, role, position, MISSING, None,
                                    code, reason, now)

    def _insert_record(self, session: Session, article_id: str, version: int, url: str, role: str, position: int,
                       state: str, sha256: str | None, code: str | None, reason: str | None, now: datetime) -> bool:
        records = cast(Table, ArticleImageRow.__table__)
        statement = self._insert(records).values(
            article_id=article_id, version=version, url=url, role=role, position=position, state=state,
            sha256=sha256, code=code, reason=reason, created_at=now,
        ).on_conflict_do_nothing(index_elements=[records.c.article_id, records.c.version, records.c.url])
        # RETURNING rather than rowcount: the insert's row count is not reported alike by every driver
        return session.execute(statement.returning(records.c.id)).first() is not None

    @translate_errors
    def image_bytes(self, sha256: str) -> bytes | None:
        """One stored file's bytes (read when an outlet needs them, one file at a time)."""
        with self._reading() as session:
            return session.scalar(select(ImageFileRow.data).where(ImageFileRow.sha256 == sha256))
