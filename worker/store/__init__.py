"""The store: articles and their versions, the delivery ledger, permanent ingest failures, polling state.

Many worker processes call it at once, so every decision that could race (which version number comes next,
whether a delivery is already done, which poller ingests a new link) is settled in the database by a unique
constraint or a conditional UPDATE, never by a check in Python alone: the loser of a race re-reads and
decides again.

Store is assembled from parts, one module each: this one (articles, withdrawals, ingest failures),
ledger (deliveries), polling (conditional GET state, known links), health (source health),
duplicates (URL aliases, near-duplicate fingerprints), sweep (work left unfinished), images (each
version's images: the files once per content, what became of each) and reports (the console's and
/metrics' read-only reports), on base and engine, with models.

The package holds Store (this module), its parts (base, engine, models, ledger, polling, health,
duplicates, images, reports, sweep) and the Alembic migrations/. May import: worker.errors, worker.schema,
worker.fingerprint; never Celery, flow, ops, web or cli.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.errors import ArticleNotFoundError
from worker.schema import Article
from worker.store.base import affected_rows
from worker.store.base import utc_now as _now
from worker.store.duplicates import DuplicateStore
from worker.store.engine import translate_errors
from worker.store.health import SourceHealth, SourceHealthStore
from worker.store.images import ImageStore
from worker.store.ledger import FINAL_STATES, Delivery, DeliveryState, LedgerStore, WithdrawalOutcome, WithdrawalStart
from worker.store.models import ArticleRow, ArticleVersionRow, IngestFailureRow, KnownLinkRow
from worker.store.polling import LinkSeen, PollingStore, UrlState
from worker.store.reports import ArticlePage, Counts, ReportStore
from worker.store.sweep import SweepStore

__all__ = [
    "FINAL_STATES", "ArticlePage", "Counts", "Delivery", "DeliveryState", "IngestFailure", "LinkSeen",
    "SourceHealth", "Store",
    "UpsertOutcome", "UpsertResult", "UrlState", "WithdrawalOutcome", "WithdrawalStart",
]

#: how often a write that lost a race is re-read and tried again before the error is let through
RACE_RETRIES = 5


class UpsertOutcome(str, Enum):
    NEW = "new"
    NEW_VERSION = "new_version"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class UpsertResult:
    outcome: UpsertOutcome
    #: the article as stored, carrying its stored version number
    article: Article


@dataclass(frozen=True)
class IngestFailure:
    """A URL of a source that failed for good, with the last reason, for the operator to read and replay."""

    id: int
    source_id: str
    url: str
    code: str
    last_error: str
    attempts: int
    created_at: datetime
    updated_at: datetime


def _ingest_failure(row: IngestFailureRow) -> IngestFailure:
    return IngestFailure(
        id=row.id, source_id=row.source_id, url=row.url, code=row.code, last_error=row.last_error,
        attempts=row.attempts, created_at=row.created_at, updated_at=row.updated_at,
    )


class Store(LedgerStore, PollingStore, SourceHealthStore, DuplicateStore, SweepStore, ReportStore, ImageStore):
    """All persistent state of the worker, behind plain methods that take and return plain values."""

    # --- articles -----------------------------------------------------------------------------------

    @translate_errors
    def upsert_article(self, article: Article) -> UpsertResult:
        """Store the article as a new article, a new version of a known one, or nothing new at all.

        The version is decided against the latest stored version's content hash. Two workers storing the
        same article at once both try the same (article_id, version); one insert fails on the unique
        constraint and that worker decides again against what the other stored.
        """
        for attempt in range(RACE_RETRIES):
            try:
                with self._writing(savepoint=True) as session:
                    return self._upsert_once(session, article)
            except IntegrityError:
                if attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _upsert_once(self, session: Session, article: Article) -> UpsertResult:
        now = _now()
        latest = session.scalars(
            select(ArticleVersionRow)
            .where(ArticleVersionRow.article_id == article.id)
            .order_by(ArticleVersionRow.version.desc())
            .limit(1)
        ).first()
        if latest is None:
            session.add(ArticleRow(
                id=article.id, source_id=article.source.id, url=article.url, latest_version=1,
                first_seen_at=now, updated_at=now, last_seen_at=now,
            ))
            session.flush()  # the article row must exist before its version row (foreign key)
            outcome, version = UpsertOutcome.NEW, 1
        elif latest.content_hash == article.content_hash:
            session.execute(update(ArticleRow).where(ArticleRow.id == article.id).values(last_seen_at=now))
            return UpsertResult(UpsertOutcome.UNCHANGED, Article.model_validate(latest.data))
        else:
            outcome, version = UpsertOutcome.NEW_VERSION, latest.version + 1
            session.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article.id)
                .values(latest_version=version, source_id=article.source.id, url=article.url,
                        updated_at=now, last_seen_at=now)
            )
        stored = article.model_copy(update={"version": version})
        session.add(ArticleVersionRow(
            article_id=article.id, version=version, content_hash=article.content_hash,
            data=stored.model_dump(mode="json"), created_at=now,
        ))
        session.flush()  # surface a lost race as IntegrityError here, inside the retry loop
        return UpsertResult(outcome, stored)

    @translate_errors
    def get_article(self, article_id: str, version: int | None = None) -> Article | None:
        """One version of an article; the latest when no version is given."""
        query = select(ArticleVersionRow.data).where(ArticleVersionRow.article_id == article_id)
        if version is None:
            query = query.order_by(ArticleVersionRow.version.desc()).limit(1)
        else:
            query = query.where(ArticleVersionRow.version == version)
        with self._reading() as session:
            data = session.scalars(query).first()
        return Article.model_validate(data) if data is not None else None

    @translate_errors
    def versions(self, article_id: str) -> list[Article]:
        """Every stored version of an article, oldest first."""
        with self._reading() as session:
            rows = session.scalars(
                select(ArticleVersionRow.data)
                .where(ArticleVersionRow.article_id == article_id)
                .order_by(ArticleVersionRow.version)
            ).all()
        return [Article.model_validate(data) for data in rows]

    @translate_errors
    def list_articles(self, limit: int = 50, source_id: str | None = None) -> list[Article]:
        """The latest version of each article, the most recently changed first."""
        query = (
            select(ArticleVersionRow.data)
            .join(ArticleRow, (ArticleRow.id == ArticleVersionRow.article_id)
                  & (ArticleRow.latest_version == ArticleVersionRow.version))
            .order_by(ArticleRow.updated_at.desc(), ArticleRow.id)
            .limit(limit)
        )
        if source_id is not None:
            query = query.where(ArticleRow.source_id == source_id)
        with self._reading() as session:
            return [Article.model_validate(data) for data in session.scalars(query).all()]

    # --- withdrawn articles -------------------------------------------------------------------------

    @translate_errors
    def mark_withdrawn(self, article_id: str, reason: str) -> bool:
        """Record that the partner took the article down; True only for the call that recorded it.

        The UPDATE only matches a row not yet withdrawn, so of several workers noticing the withdrawal at
        once exactly one gets True and goes on to tell the outlets (see begin_withdrawal). The known links
        that led to the article are marked too, so polling stops re-checking them.
        """
        now = _now()
        with self._writing() as session:
            changed = affected_rows(session.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id, ArticleRow.withdrawn_at.is_(None))
                .values(withdrawn_at=now, withdrawn_reason=reason)
            ))
            if not changed:
                if session.get(ArticleRow, article_id) is None:
                    raise ArticleNotFoundError(f"article {article_id} is not in the store")
                return False
            session.execute(
                update(KnownLinkRow)
                .where(KnownLinkRow.article_id == article_id, KnownLinkRow.withdrawn_at.is_(None))
                .values(withdrawn_at=now)
            )
            return True

    @translate_errors
    def is_withdrawn(self, article_id: str) -> bool:
        """Whether the article was withdrawn; False for an article the store does not know."""
        with self._reading() as session:
            withdrawn_at = session.scalar(select(ArticleRow.withdrawn_at).where(ArticleRow.id == article_id))
        return withdrawn_at is not None

    # --- permanent ingest failures ------------------------------------------------------------------

    @translate_errors
    def record_ingest_failure(self, source_id: str, url: str, code: str, reason: str) -> None:
        """Remember why a URL could not be ingested; a repeat failure counts up on the same row."""
        now = _now()
        table = cast(Table, IngestFailureRow.__table__)
        statement = self._insert(table).values(
            source_id=source_id, url=url, code=code, last_error=reason, attempts=1, created_at=now, updated_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.source_id, table.c.url],
            set_={"code": code, "last_error": reason, "attempts": table.c.attempts + 1, "updated_at": now},
        )
        with self._writing() as session:
            session.execute(statement)

    @translate_errors
    def ingest_failures(self, source_id: str | None = None) -> list[IngestFailure]:
        query = select(IngestFailureRow).order_by(IngestFailureRow.updated_at.desc(), IngestFailureRow.id.desc())
        if source_id is not None:
            query = query.where(IngestFailureRow.source_id == source_id)
        with self._reading() as session:
            return [_ingest_failure(row) for row in session.scalars(query).all()]

    @translate_errors
    def clear_ingest_failure(self, source_id: str, url: str) -> None:
        """Forget a failure once the URL has been ingested after all."""
        with self._writing() as session:
            session.execute(
                delete(IngestFailureRow)
                .where(IngestFailureRow.source_id == source_id, IngestFailureRow.url == url)
            )

