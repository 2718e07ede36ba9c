"""The store: articles and their versions, the delivery ledger, and permanent ingest failures.

Many worker processes call it at once, so every decision that could race (which version number comes next,
whether a delivery is already done) is settled by a unique constraint in the database, never by a check in
Python alone: the loser of a race re-reads and decides again.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.errors import ArticleNotFoundError
from worker.schema import Article
from worker.store_engine import create_store_engine, translate_errors, upgrade_to_head, writer
from worker.store_models import ArticleRow, ArticleVersionRow, DeliveryRow, IngestFailureRow

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


class DeliveryState(str, Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"


#: states a delivery does not leave by itself; begin_delivery hands them back untouched
FINAL_STATES = (DeliveryState.DELIVERED.value, DeliveryState.FAILED.value)


@dataclass(frozen=True)
class Delivery:
    """One row of the ledger: where one version of an article stands at one outlet."""

    id: int
    article_id: str
    version: int
    outlet_id: str
    state: DeliveryState
    attempts: int
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None


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


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id, article_id=row.article_id, version=row.version, outlet_id=row.outlet_id, state=DeliveryState(row.state),
        attempts=row.attempts, remote_id=row.remote_id, remote_url=row.remote_url, last_error=row.last_error,
        created_at=row.created_at, updated_at=row.updated_at, delivered_at=row.delivered_at,
    )


def _ingest_failure(row: IngestFailureRow) -> IngestFailure:
    return IngestFailure(
        id=row.id, source_id=row.source_id, url=row.url, code=row.code, last_error=row.last_error,
        attempts=row.attempts, created_at=row.created_at, updated_at=row.updated_at,
    )


class Store:
    """All persistent state of the worker, behind plain methods that take and return plain values."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_store_engine(database_url)
        self._writer = writer(self.engine)
        # Both SQLite and PostgreSQL (the only supported databases) share this INSERT ... ON CONFLICT form.
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @translate_errors
    def migrate(self) -> None:
        """Bring the schema up to date. Idempotent, and safe when several processes start at once."""
        upgrade_to_head(self.engine)

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
                with self._writing() as session:
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

    # --- delivery ledger ----------------------------------------------------------------------------

    @staticmethod
    def _ledger_key(article_id: str, version: int, outlet_id: str) -> tuple[Any, ...]:
        return (
            DeliveryRow.article_id == article_id,
            DeliveryRow.version == version,
            DeliveryRow.outlet_id == outlet_id,
        )

    @translate_errors
    def get_delivery(self, article_id: str, version: int, outlet_id: str) -> Delivery | None:
        with self._reading() as session:
            row = session.scalars(select(DeliveryRow).where(*self._ledger_key(article_id, version, outlet_id))).first()
            return _delivery(row) if row is not None else None

    @translate_errors
    def begin_delivery(self, article_id: str, version: int, outlet_id: str) -> Delivery:
        """Claim a delivery attempt. A DELIVERED or FAILED row comes back unchanged: the caller stops there.

        The row is created with INSERT ... ON CONFLICT DO NOTHING and claimed with an UPDATE that checks the
        state in its WHERE clause, so two workers racing here cannot make two rows, and a worker cannot
        re-open a delivery that another one finished a moment ago.
        """
        now = _now()
        key = self._ledger_key(article_id, version, outlet_id)
        table = cast(Table, DeliveryRow.__table__)
        create = self._insert(table).values(
            article_id=article_id, version=version, outlet_id=outlet_id, state=DeliveryState.PENDING.value,
            attempts=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=[table.c.article_id, table.c.version, table.c.outlet_id])
        claim = (
            update(DeliveryRow)
            .where(*key, DeliveryRow.state.not_in(FINAL_STATES))
            .values(state=DeliveryState.IN_PROGRESS.value, attempts=DeliveryRow.attempts + 1, updated_at=now)
        )
        try:
            with self._writing() as session:
                session.execute(create)
                session.execute(claim)
                return _delivery(session.scalars(select(DeliveryRow).where(*key)).one())
        except IntegrityError as error:  # only the foreign key can fail: the unique key is handled above
            raise ArticleNotFoundError(f"article {article_id} version {version} is not in the store") from error

    def _transition(self, delivery_id: int, values: dict[str, Any], unless_state: str | None = None) -> Delivery:
        query = update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(updated_at=_now(), **values)
        if unless_state is not None:
            query = query.where(DeliveryRow.state != unless_state)
        with self._writing() as session:
            session.execute(query)
            row = session.get(DeliveryRow, delivery_id)
            if row is None:
                raise LookupError(f"no delivery with id {delivery_id}")
            return _delivery(row)

    @translate_errors
    def mark_delivered(self, delivery_id: int, remote_id: str | None, remote_url: str | None) -> Delivery:
        return self._transition(delivery_id, {
            "state": DeliveryState.DELIVERED.value, "remote_id": remote_id, "remote_url": remote_url,
            "delivered_at": _now(),
        })

    # A delivered row is never downgraded: with at-least-once tasks a late duplicate attempt may fail after
    # another attempt succeeded, and the success is what happened at the outlet.
    @translate_errors
    def mark_retrying(self, delivery_id: int, error: str) -> Delivery:
        values = {"state": DeliveryState.RETRYING.value, "last_error": error}
        return self._transition(delivery_id, values, unless_state=DeliveryState.DELIVERED.value)

    @translate_errors
    def mark_failed(self, delivery_id: int, error: str) -> Delivery:
        values = {"state": DeliveryState.FAILED.value, "last_error": error}
        return self._transition(delivery_id, values, unless_state=DeliveryState.DELIVERED.value)

    @translate_errors
    def reopen_delivery(self, delivery_id: int) -> Delivery:
        """Put a failed delivery back to PENDING so an operator's replay can begin it again."""
        values = {"state": DeliveryState.PENDING.value}
        return self._transition(delivery_id, values, unless_state=DeliveryState.DELIVERED.value)

    @translate_errors
    def previous_remote(self, article_id: str, outlet_id: str) -> Delivery | None:
        """The latest delivered version at this outlet, so the outlet updates that remote item in place."""
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.article_id == article_id, DeliveryRow.outlet_id == outlet_id,
                   DeliveryRow.state == DeliveryState.DELIVERED.value)
            .order_by(DeliveryRow.version.desc(), DeliveryRow.id.desc())
            .limit(1)
        )
        with self._reading() as session:
            row = session.scalars(query).first()
            return _delivery(row) if row is not None else None

    @translate_errors
    def outlets_delivered(self, article_id: str) -> set[str]:
        query = select(DeliveryRow.outlet_id).where(
            DeliveryRow.article_id == article_id, DeliveryRow.state == DeliveryState.DELIVERED.value
        )
        with self._reading() as session:
            return set(session.scalars(query).all())

    @translate_errors
    def deliveries(self, article_id: str | None = None, state: str | None = None, limit: int = 200) -> list[Delivery]:
        """Ledger rows, the most recently touched first."""
        query = select(DeliveryRow).order_by(DeliveryRow.updated_at.desc(), DeliveryRow.id.desc()).limit(limit)
        if article_id is not None:
            query = query.where(DeliveryRow.article_id == article_id)
        if state is not None:
            query = query.where(DeliveryRow.state == state)
        with self._reading() as session:
            return [_delivery(row) for row in session.scalars(query).all()]
