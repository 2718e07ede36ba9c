"""The delivery ledger: one row per (article version, outlet), so each version goes out once per outlet.

Rows are created with INSERT ... ON CONFLICT DO NOTHING and moved between states by UPDATEs that check the
state in their WHERE clause, so racing workers cannot make two rows or re-open a finished delivery.

Withdrawals (the partner took an article down) are recorded on the same ledger, on the row of the version
the outlet holds (the latest delivered one), in two columns rather than a new state: the row stays
DELIVERED, because that is still what happened at the outlet, and `withdrawal_started_at` / `withdrawn_at`
say whether the outlet is being, or has been, told to take the item down.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.errors import ArticleNotFoundError
from worker.store.base import StoreBase, affected_rows
from worker.store.base import utc_now as _now
from worker.store.engine import translate_errors
from worker.store.models import DeliveryRow

#: how long a worker's claim on a withdrawal holds before another worker may take it over (it may have died)
WITHDRAWAL_LEASE = timedelta(minutes=15)


class DeliveryState(str, Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    #: the outlet refused it for good (a permanent error): retrying would not help
    FAILED = "failed"
    #: transient errors until the retries ran out: worth a replay once the outlet is fixed
    DEAD = "dead"

    @property
    def is_final(self) -> bool:
        """A state a delivery does not leave by itself (only an operator's replay reopens FAILED/DEAD)."""
        return self in (DeliveryState.DELIVERED, DeliveryState.FAILED, DeliveryState.DEAD)


#: states a delivery does not leave by itself; begin_delivery hands them back untouched
FINAL_STATES = tuple(state.value for state in DeliveryState if state.is_final)


@dataclass(frozen=True)
class Delivery:
    """One row of the ledger: where one version of an article stands at one outlet.

    The one spelling of a delivery: the API's DeliveryOut (worker/web/models.py) is derived from these
    fields, and the deliver task returns as_dict(); a field added here is read from the table by
    _delivery, shown by the API and returned by the task.
    """

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
    withdrawal_started_at: datetime | None = None
    withdrawn_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The row as JSON carries it: the state by its name, times in ISO 8601."""
        out: dict[str, Any] = {}
        for name in FIELD_NAMES:
            value = getattr(self, name)
            out[name] = value.value if isinstance(value, Enum) else (
                value.isoformat() if isinstance(value, datetime) else value)
        return out


FIELD_NAMES = tuple(f.name for f in fields(Delivery))


class WithdrawalOutcome(str, Enum):
    #: this caller holds the claim: tell the outlet, then mark_withdrawal_done (or release_withdrawal)
    CLAIMED = "claimed"
    #: the outlet has been told already
    ALREADY_DONE = "already_done"
    #: another worker holds a fresh claim
    IN_PROGRESS = "in_progress"
    #: no version was delivered and none is under way: the outlet has nothing to take down
    NOT_DELIVERED = "not_delivered"
    #: nothing delivered yet, but a delivery is pending or under way: try again once it has settled
    DELIVERY_UNDER_WAY = "delivery_under_way"


@dataclass(frozen=True)
class WithdrawalStart:
    outcome: WithdrawalOutcome
    #: the ledger row of the version the outlet holds (None for NOT_DELIVERED and DELIVERY_UNDER_WAY)
    delivery: Delivery | None


def _delivery(row: DeliveryRow) -> Delivery:
    """The table row as a Delivery: each field from the column of its name (the state as the enum)."""
    values = {name: getattr(row, name) for name in FIELD_NAMES}
    return Delivery(**{**values, "state": DeliveryState(row.state)})


class LedgerStore(StoreBase):
    """The delivery ledger part of the Store."""

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
        """Claim a delivery attempt. A row in a final state comes back unchanged: the caller stops there.

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
    def mark_dead(self, delivery_id: int, error: str) -> Delivery:
        values = {"state": DeliveryState.DEAD.value, "last_error": error}
        return self._transition(delivery_id, values, unless_state=DeliveryState.DELIVERED.value)

    @translate_errors
    def reopen_delivery(self, delivery_id: int) -> Delivery:
        """Put a failed or dead delivery back to PENDING so an operator's replay can begin it again."""
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
    def delivery_by_id(self, delivery_id: int) -> Delivery | None:
        with self._reading() as session:
            row = session.get(DeliveryRow, delivery_id)
            return _delivery(row) if row is not None else None

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

    # --- withdrawals --------------------------------------------------------------------------------

    @translate_errors
    def begin_withdrawal(self, article_id: str, outlet_id: str, lease: timedelta = WITHDRAWAL_LEASE) -> WithdrawalStart:
        """Claim the job of telling one outlet to take a withdrawn article down.

        The claim is a conditional UPDATE of the latest delivered row (the remote item the outlet holds),
        so of several workers only one gets CLAIMED; a claim older than `lease` counts as abandoned. Once
        mark_withdrawal_done has run, every later call gets ALREADY_DONE: the outlet is told once.
        """
        now = _now()
        with self._writing() as session:
            target = session.scalars(
                select(DeliveryRow)
                .where(DeliveryRow.article_id == article_id, DeliveryRow.outlet_id == outlet_id,
                       DeliveryRow.state == DeliveryState.DELIVERED.value)
                .order_by(DeliveryRow.version.desc(), DeliveryRow.id.desc())
                .limit(1)
            ).first()
            if target is None:
                under_way = session.scalars(
                    select(DeliveryRow.id)
                    .where(DeliveryRow.article_id == article_id, DeliveryRow.outlet_id == outlet_id,
                           DeliveryRow.state.not_in(FINAL_STATES))
                    .limit(1)
                ).first()
                outcome = WithdrawalOutcome.NOT_DELIVERED if under_way is None else WithdrawalOutcome.DELIVERY_UNDER_WAY
                return WithdrawalStart(outcome, None)
            claimed = affected_rows(session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == target.id, DeliveryRow.withdrawn_at.is_(None),
                       or_(DeliveryRow.withdrawal_started_at.is_(None),
                           DeliveryRow.withdrawal_started_at < now - lease))
                .values(withdrawal_started_at=now, updated_at=now)
                .execution_options(synchronize_session=False)
            ))
            session.refresh(target)
            row = _delivery(target)
        if claimed:
            return WithdrawalStart(WithdrawalOutcome.CLAIMED, row)
        if row.withdrawn_at is not None:
            return WithdrawalStart(WithdrawalOutcome.ALREADY_DONE, row)
        return WithdrawalStart(WithdrawalOutcome.IN_PROGRESS, row)

    @translate_errors
    def mark_withdrawal_done(self, delivery_id: int) -> Delivery:
        """The outlet has taken the item down. The first time is kept; repeating it changes nothing."""
        now = _now()
        with self._writing() as session:
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.withdrawn_at.is_(None))
                .values(withdrawn_at=now, updated_at=now)
            )
            return self._reload(session, delivery_id)

    @translate_errors
    def release_withdrawal(self, delivery_id: int, error: str) -> Delivery:
        """Give the claim back after the outlet could not be told, so a retry can claim it at once."""
        with self._writing() as session:
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.withdrawn_at.is_(None))
                .values(withdrawal_started_at=None, last_error=error, updated_at=_now())
            )
            return self._reload(session, delivery_id)

    @staticmethod
    def _reload(session: Session, delivery_id: int) -> Delivery:
        row = session.get(DeliveryRow, delivery_id)
        if row is None:
            raise LookupError(f"no delivery with id {delivery_id}")
        return _delivery(row)
