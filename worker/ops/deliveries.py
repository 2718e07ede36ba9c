"""Deliveries: the ledger as an operator reads it, the replay of failed or dead rows, and the outlets' check.

`syndicate deliveries`, GET /deliveries and the console's pages list with list_deliveries();
`syndicate deliveries retry`, POST /deliveries/{id}/retry and the console's Retry button call retry().
A replay cannot double a delivery: the row is reopened, not copied, and the deliver task still claims it
under the ledger's rules and the per-row lock.
"""
from __future__ import annotations

import logging

from worker.errors import SyndicationError
from worker.logging_setup import log_context
from worker.ops.base import NotFoundError, NotReplayableError, OpsContext, say
from worker.store import Delivery, DeliveryState
from worker.tasks import enqueue_delivery

log = logging.getLogger(__name__)
REPLAYABLE = (DeliveryState.FAILED, DeliveryState.DEAD)


def list_deliveries(ctx: OpsContext, state: str | None = None, article_id: str | None = None,
                    limit: int = 100) -> list[Delivery]:
    """Ledger rows, the most recently touched first."""
    return ctx.store.deliveries(article_id=article_id, state=state, limit=limit)


def find_delivery(ctx: OpsContext, delivery_id: int) -> Delivery:
    row = ctx.store.delivery_by_id(delivery_id)
    if row is None:
        raise NotFoundError(f"no delivery with id {delivery_id} (see `syndicate deliveries` or GET /deliveries)")
    return row


def retry(ctx: OpsContext, row: Delivery) -> Delivery:
    """Replay one failed or dead delivery: reopen its ledger row and queue it again (never a copy)."""
    if row.state not in REPLAYABLE:
        raise NotReplayableError(f"delivery {row.id} is {row.state.value}, not failed or dead: left alone "
                                 "(only failed or dead deliveries are retried)")
    celery = ctx.celery()  # before reopening: no broker, nothing changed
    reopened = ctx.store.reopen_delivery(row.id)
    enqueue_delivery(row.article_id, row.version, row.outlet_id, via=celery)
    with log_context(article_id=row.article_id, outlet_id=row.outlet_id):
        log.info("re-queued delivery %s (v%s)", row.id, row.version)
    return reopened


# --- the cli's views ------------------------------------------------------------------------------------

def print_deliveries(state: str | None, limit: int) -> int:
    """`syndicate deliveries`: the ledger, newest first, with the reason of every failure."""
    rows = list_deliveries(OpsContext.from_environment(), state=state, limit=limit)
    print(f"{'id':>6}  {'state':<11} {'outlet':<14} {'article':<24} {'v':>2} {'tries':>5}  remote / reason")
    for row in rows:
        delivered = row.state == DeliveryState.DELIVERED
        detail = (row.remote_url or row.remote_id or "") if delivered else (row.last_error or "")
        print(f"{row.id:>6}  {row.state.value:<11} {row.outlet_id:<14.14} {row.article_id:<24} {row.version:>2} "
              f"{row.attempts:>5}  {detail}")
    if not rows:
        print("(no deliveries" + (f" in state {state}" if state else "") + ")")
    return 0


def retry_deliveries(ids: list[int], all_failed: bool) -> int:
    """`syndicate deliveries retry`: retry() each row named (every failed or dead one with all_failed)."""
    ctx = OpsContext.from_environment()
    ctx.broker_url()  # no broker: refused before anything is looked up or reopened
    if all_failed:
        rows = [row for state in REPLAYABLE for row in list_deliveries(ctx, state=state.value, limit=100_000)]
    else:
        rows = [find_delivery(ctx, delivery_id) for delivery_id in ids]
    queued = 0
    for row in rows:
        try:
            retry(ctx, row)
        except NotReplayableError as exc:
            say(exc.reason)
            continue
        queued += 1
    say(f"re-queued {queued} deliver{'y' if queued == 1 else 'ies'}")
    return 0


def check_outlets(outlet_ids: list[str] | None) -> int:
    """`syndicate outlets check`: each outlet's credentials and reachability, one line each; exit 1 when
    any is not usable."""
    from worker.outlets import build_outlet

    ctx = OpsContext.from_environment()
    config = ctx.config()
    chosen = [config.outlet(i) for i in outlet_ids] if outlet_ids else list(config.outlets.values())
    broken = 0
    for outlet_config in chosen:
        try:
            print(f"{outlet_config.id:<16} ok      {build_outlet(outlet_config, ctx.settings).check()}")
        except SyndicationError as exc:
            broken += 1
            print(f"{outlet_config.id:<16} FAILED  {exc}")
    return 1 if broken else 0
