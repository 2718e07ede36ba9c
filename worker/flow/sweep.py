"""The sweeper: re-queue work the store shows unfinished but the broker may have lost.

Why: Redis holds the queues, the retry countdowns, the unacknowledged messages and the locks, and the
embedded Redis keeps none of them across a restart. Celery's visibility timeout brings back the tasks of
a dead worker, not those of a dead broker, nor the ingests a poller planned and died before queueing.
The store is the record: a ledger row still PENDING / IN_PROGRESS / RETRYING, or a known link planned
and not checked since, that has been quiet for longer than the stuck timeout is re-queued here.

Why that is safe (no duplicates): a re-queued delivery goes through the same path as any other — the
per-row Redis lock, the ledger claim that never re-opens a final row, and the outlet's idempotency key —
so a delivery that was in fact still running, or finished a moment ago, is not sent twice (at worst it is
sent again with the same key, which the outlet ignores). A re-queued ingest of an unchanged page is a
conditional GET and makes no new version. The stuck timeout defaults to at least the visibility
timeout, so the sweeper never races Redis's own re-delivery of a dead worker's task.

Pure core: no Celery here. tasks.py passes the store and the two enqueue callables.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from worker.store.base import utc_now
from worker.store.sweep import StuckDelivery, StuckLink

log = logging.getLogger(__name__)

#: rows re-queued per kind per sweep; a bigger backlog is worked off over the next sweeps
SWEEP_BATCH = 500


class SweepableStore(Protocol):
    def claim_stuck_deliveries(self, stuck_before: datetime, limit: int, now: datetime | None = None) -> list[StuckDelivery]: ...

    def claim_stuck_links(self, stuck_before: datetime, limit: int, now: datetime | None = None) -> list[StuckLink]: ...


@dataclass
class SweepReport:
    #: "article_id:version:outlet_id" of each delivery re-queued
    deliveries: list[str] = field(default_factory=list)
    #: "source_id url" of each ingest re-queued
    ingests: list[str] = field(default_factory=list)
    #: rows found stuck but left alone: their source or outlet is no longer configured
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return {"deliveries": self.deliveries, "ingests": self.ingests, "skipped": self.skipped}


def sweep(
    store: SweepableStore,
    *,
    stuck_after: timedelta,
    enqueue_delivery: Callable[[str, int, str], None],
    enqueue_ingest: Callable[[str, str], None],
    known_outlets: Container[str],
    known_sources: Container[str],
    now: datetime | None = None,
    batch: int = SWEEP_BATCH,
) -> SweepReport:
    """Re-queue each delivery and ingest stuck for longer than `stuck_after`; return what was re-queued.

    A row whose outlet or source left the config is not re-queued (its task would only fail for good),
    but it is claimed all the same, so it is looked at again one stuck timeout later, not every sweep.
    """
    now = now or utc_now()
    stuck_before = now - stuck_after
    report = SweepReport()
    for delivery in store.claim_stuck_deliveries(stuck_before, batch, now=now):
        name = f"{delivery.article_id}:{delivery.version}:{delivery.outlet_id}"
        if delivery.outlet_id not in known_outlets:
            report.skipped.append(f"delivery {name}: outlet not configured")
            continue
        enqueue_delivery(delivery.article_id, delivery.version, delivery.outlet_id)
        report.deliveries.append(name)
    for link in store.claim_stuck_links(stuck_before, batch, now=now):
        if link.source_id not in known_sources:
            report.skipped.append(f"ingest {link.source_id} {link.url}: source not configured")
            continue
        enqueue_ingest(link.source_id, link.url)
        report.ingests.append(f"{link.source_id} {link.url}")
    if report.deliveries or report.ingests:
        log.warning("sweeper re-queued %d stuck deliveries and %d stuck ingests (quiet for over %ds)",
                    len(report.deliveries), len(report.ingests), int(stuck_after.total_seconds()))
    return report
