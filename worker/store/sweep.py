"""What the sweeper (worker/flow/sweep.py) asks of the store: work the ledger and the known links show unfinished.

The broker is not the record of work to do: a Redis restart (the embedded one keeps nothing), a lost
retry countdown or a poller killed between planning and queueing all drop task messages. The store
still shows that work: a ledger row left PENDING / IN_PROGRESS / RETRYING, or a known link planned for
ingest (`last_planned_at`) and not checked since. These queries find such rows once they have been
quiet longer than the stuck timeout, and claim them in the same statement (they touch the row's clock),
so two sweepers running at once re-queue each row once, and a row is re-queued at most once per timeout.

Also here: `plan_delivery`, which writes the PENDING row when an ingest queues a delivery, so a delivery
that was queued but never started is visible to the sweeper too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, and_, or_, select, update

from worker.store.base import StoreBase, affected_rows
from worker.store.base import utc_now as _now
from worker.store.engine import translate_errors
from worker.store.ledger import DeliveryState
from worker.store.models import DeliveryRow, KnownLinkRow

#: ledger states a delivery leaves by itself, if a task is still working on it
UNFINISHED_STATES = tuple(state.value for state in DeliveryState if not state.is_final)


@dataclass(frozen=True)
class StuckDelivery:
    article_id: str
    version: int
    outlet_id: str
    state: str
    #: when the row last changed before the sweeper claimed it
    quiet_since: datetime


@dataclass(frozen=True)
class StuckLink:
    source_id: str
    url: str
    #: when the link was planned for ingest before the sweeper claimed it
    planned_at: datetime


class SweepStore(StoreBase):
    """Stuck-work queries for the sweeper, and the PENDING row an ingest writes before queueing a delivery."""

    @translate_errors
    def plan_delivery(self, article_id: str, version: int, outlet_id: str) -> None:
        """Record that a delivery is queued (a PENDING row), unless the ledger has the row already."""
        now = _now()
        table = cast(Table, DeliveryRow.__table__)
        statement = self._insert(table).values(
            article_id=article_id, version=version, outlet_id=outlet_id, state=DeliveryState.PENDING.value,
            attempts=0, created_at=now, updated_at=now,
        ).on_conflict_do_nothing(index_elements=[table.c.article_id, table.c.version, table.c.outlet_id])
        with self._writing() as session:
            session.execute(statement)

    @translate_errors
    def claim_stuck_deliveries(self, stuck_before: datetime, limit: int, now: datetime | None = None) -> list[StuckDelivery]:
        """Unfinished ledger rows untouched since `stuck_before`, oldest first; each is claimed by setting
        its updated_at to `now`, so it is not claimed again for another stuck timeout."""
        now = now or _now()
        quiet = and_(DeliveryRow.state.in_(UNFINISHED_STATES), DeliveryRow.updated_at < stuck_before)
        claimed: list[StuckDelivery] = []
        with self._writing() as session:
            rows = session.execute(
                select(DeliveryRow.id, DeliveryRow.article_id, DeliveryRow.version, DeliveryRow.outlet_id,
                       DeliveryRow.state, DeliveryRow.updated_at)
                .where(quiet).order_by(DeliveryRow.updated_at, DeliveryRow.id).limit(limit)
            ).all()
            for row in rows:
                # the WHERE is checked again on the row as it is now: a worker or another sweeper that
                # touched it in between wins, and this sweeper leaves it alone
                won = affected_rows(session.execute(
                    update(DeliveryRow).where(DeliveryRow.id == row.id, quiet).values(updated_at=now)
                    .execution_options(synchronize_session=False)
                ))
                if won:
                    claimed.append(StuckDelivery(row.article_id, row.version, row.outlet_id, row.state, row.updated_at))
        return claimed

    @translate_errors
    def claim_stuck_links(self, stuck_before: datetime, limit: int, now: datetime | None = None) -> list[StuckLink]:
        """Links planned for ingest before `stuck_before` and not checked since (the ingest never finished),
        not withdrawn, oldest first; each is claimed by planning it again at `now`."""
        now = now or _now()
        row = KnownLinkRow
        stuck = and_(
            row.withdrawn_at.is_(None),
            row.last_planned_at.is_not(None),
            row.last_planned_at < stuck_before,
            or_(row.last_checked_at.is_(None), row.last_checked_at < row.last_planned_at),
        )
        claimed: list[StuckLink] = []
        with self._writing() as session:
            rows = session.execute(
                select(row.source_id, row.url, row.last_planned_at)
                .where(stuck).order_by(row.last_planned_at, row.source_id, row.url).limit(limit)
            ).all()
            for found in rows:
                won = affected_rows(session.execute(
                    update(row).where(row.source_id == found.source_id, row.url == found.url, stuck)
                    .values(last_planned_at=now).execution_options(synchronize_session=False)
                ))
                if won:
                    claimed.append(StuckLink(found.source_id, found.url, found.last_planned_at))
        return claimed

    @translate_errors
    def touch_planned(self, source_id: str, url: str, now: datetime | None = None) -> None:
        """An ingest of a planned link is alive and will retry: keep the sweeper off it for another timeout."""
        row = KnownLinkRow
        with self._writing() as session:
            session.execute(
                update(row)
                .where(row.source_id == source_id, row.url == url, row.last_planned_at.is_not(None),
                       or_(row.last_checked_at.is_(None), row.last_checked_at < row.last_planned_at))
                .values(last_planned_at=now or _now())
                .execution_options(synchronize_session=False)
            )
