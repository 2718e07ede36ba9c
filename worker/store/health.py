"""Source health: how each source's polls go, so the operator sees failing and idle sources at a glance.

Every update is one INSERT ... ON CONFLICT DO UPDATE whose counters are computed from the stored row
(`consecutive_failures + 1`, `articles_total + n`), so polls finishing at once in several processes never
lose a count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import update, Table, select

from worker.store.base import StoreBase, utc_now
from worker.store.engine import translate_errors
from worker.store.models import SourceHealthRow

NEVER_POLLED = "never polled"
FAILING = "failing"
IDLE = "idle"
OK = "ok"


@dataclass(frozen=True)
class SourceHealth:
    source_id: str
    first_poll_started_at: datetime
    last_poll_started_at: datetime
    last_poll_finished_at: datetime | None
    #: None until a poll has finished
    last_poll_ok: bool | None
    consecutive_failures: int
    #: the error of the last poll when it failed; None after a poll that succeeded
    last_error: str | None
    last_new_article_at: datetime | None
    articles_total: int

    @property
    def never_polled(self) -> bool:
        """No poll has finished yet: too early to call the source idle."""
        return self.last_poll_finished_at is None

    def is_idle(self, now: datetime, idle_alert_after_hours: float) -> bool:
        """No new article for longer than the alert threshold, counted from the first poll if there never was one.

        A never-polled source is not idle: nothing can be said about it yet (status() says "never polled").
        """
        if self.never_polled:
            return False
        since = self.last_new_article_at or self.first_poll_started_at
        return now - since > timedelta(hours=idle_alert_after_hours)

    def status(self, now: datetime, idle_alert_after_hours: float) -> str:
        """One word for the operator: "never polled", "failing", "idle" or "ok" (the first that applies)."""
        if self.never_polled:
            return NEVER_POLLED
        if not self.last_poll_ok:
            return FAILING
        return IDLE if self.is_idle(now, idle_alert_after_hours) else OK


def _health(row: SourceHealthRow) -> SourceHealth:
    return SourceHealth(
        source_id=row.source_id, first_poll_started_at=row.first_poll_started_at,
        last_poll_started_at=row.last_poll_started_at, last_poll_finished_at=row.last_poll_finished_at,
        last_poll_ok=row.last_poll_ok, consecutive_failures=row.consecutive_failures, last_error=row.last_error,
        last_new_article_at=row.last_new_article_at, articles_total=row.articles_total,
    )


class SourceHealthStore(StoreBase):
    """Poll bookkeeping per source."""

    @translate_errors
    def record_poll_start(self, source_id: str, now: datetime | None = None) -> None:
        now = now or utc_now()
        table = cast(Table, SourceHealthRow.__table__)
        statement = self._upsert(table).values(
            source_id=source_id, first_poll_started_at=now, last_poll_started_at=now, consecutive_failures=0,
            articles_total=0,
        ).on_conflict_do_update(index_elements=[table.c.source_id], set_={"last_poll_started_at": now})
        with self._writing() as session:
            session.execute(statement)

    @translate_errors
    def record_poll_result(self, source_id: str, ok: bool, error: str | None, new_articles: int,
                           now: datetime | None = None) -> SourceHealth:
        """Count a finished poll: a success resets the failure streak, a failure extends it."""
        now = now or utc_now()
        table = cast(Table, SourceHealthRow.__table__)
        found_new = new_articles > 0
        statement = self._upsert(table).values(
            source_id=source_id, first_poll_started_at=now, last_poll_started_at=now, last_poll_finished_at=now,
            last_poll_ok=ok, consecutive_failures=0 if ok else 1, last_error=None if ok else error,
            last_new_article_at=now if found_new else None, articles_total=new_articles,
        )
        updates: dict[str, Any] = {
            "last_poll_finished_at": now,
            "last_poll_ok": ok,
            "consecutive_failures": 0 if ok else table.c.consecutive_failures + 1,
            "last_error": None if ok else error,
            "articles_total": table.c.articles_total + new_articles,
        }
        if found_new:
            updates["last_new_article_at"] = now
        statement = statement.on_conflict_do_update(index_elements=[table.c.source_id], set_=updates)
        with self._writing() as session:
            session.execute(statement)
            return _health(session.get_one(SourceHealthRow, source_id))

    @translate_errors
    def record_new_article(self, source_id: str, now: datetime | None = None) -> None:
        """Count one new article at ingest time (polls only queue links; the article appears later).

        A source that has never been polled has no health row yet, and hand imports don't create one:
        health describes polling.
        """
        now = now or utc_now()
        statement = (
            update(SourceHealthRow)
            .where(SourceHealthRow.source_id == source_id)
            .values(articles_total=SourceHealthRow.articles_total + 1, last_new_article_at=now)
        )
        with self._writing() as session:
            session.execute(statement)

    @translate_errors
    def source_health(self, source_id: str) -> SourceHealth | None:
        """None for a source never polled at all."""
        with self._reading() as session:
            row = session.get(SourceHealthRow, source_id)
            return _health(row) if row is not None else None

    @translate_errors
    def all_source_health(self) -> list[SourceHealth]:
        with self._reading() as session:
            rows = session.scalars(select(SourceHealthRow).order_by(SourceHealthRow.source_id)).all()
            return [_health(row) for row in rows]
