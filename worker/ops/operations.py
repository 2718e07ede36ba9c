"""Operator commands that act on sources and deliveries: poll now, re-import, health, replay.

Like `syndicate import`, each checks what it can before queueing (the source exists and has something
to poll, a broker is reachable) and reports plainly; the work itself runs in the workers.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

from worker.config import load_config
from worker.errors import SyndicationError
from worker.ops.imports import require_broker
from worker.settings import load_settings
from worker.store import Store


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _store() -> Store:
    store = Store(load_settings().database_url)
    store.migrate()
    return store


def poll_now(source_id: str, wait: bool, timeout: float) -> int:
    """The "Run Now" button: queue a poll of one source and, with wait, report what it found."""
    settings = load_settings()
    source = load_config(settings.config_dir).source(source_id)
    if not source.discover:
        raise SyndicationError(f"source {source_id!r} has no discover: entries in sources.yaml; nothing to poll")
    require_broker(settings)
    import redis

    from worker.app import broker_url_for
    from worker.flow.schedule import restart_interval
    from worker.tasks import poll_source

    result = poll_source.apply_async((source_id,))
    restart_interval(redis.Redis.from_url(broker_url_for(settings)), settings.redis_key_prefix, source)
    _say(f"queued poll {result.id} of {source_id}")
    if not wait:
        print(result.id)
        return 0
    try:
        report = result.get(timeout=timeout, propagate=False)
    except Exception as exc:  # celery's TimeoutError and broker errors alike: say it, don't trace
        _say(f"no answer within {timeout:.0f}s ({type(exc).__name__}): is a worker consuming the poll queue?")
        return 1
    if result.failed():
        _say(f"poll failed: {report}")
        return 1
    if report.get("skipped"):
        _say(f"skipped: {report['skipped']}")
        return 0
    _say(f"{report['discovered']} links, {len(report['queued'])} queued for ingest, "
         f"{len(report['not_modified'])} resources unchanged, {len(report['errors'])} errors")
    for error in report["errors"]:
        _say(f"  error: {error}")
    for url in report["queued"]:
        print(url)
    return 1 if report["errors"] else 0


def reimport(source_id: str, since: datetime | None) -> int:
    """Re-queue the known articles of a source (published or first seen since a date) for ingest."""
    settings = load_settings()
    load_config(settings.config_dir).source(source_id)
    require_broker(settings)
    from worker.tasks import ingest

    urls = _store().known_links(source_id, since)
    for url in urls:
        ingest.apply_async((source_id, url))
    _say(f"queued {len(urls)} known link(s) of {source_id} for ingest"
         + (f" (since {since.date().isoformat()})" if since else ""))
    return 0


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def print_sources() -> int:
    """Every configured source with its polling health: what an operator checks first."""
    settings = load_settings()
    config = load_config(settings.config_dir)
    health = {h.source_id: h for h in _store().all_source_health()}
    now = datetime.now(timezone.utc)
    print(f"{'source':<16} {'status':<12} {'every':>6} {'last poll':>10} {'last new':>10} {'fails':>5} "
          f"{'articles':>8}  last error")
    for source in config.sources.values():
        row = health.get(source.id)
        status = "manual only" if not source.discover else (
            row.status(now, source.idle_alert_after_hours) if row else "never polled")
        print(f"{source.id:<16.16} {status:<12} {source.interval:>5}s "
              f"{_ago(row.last_poll_finished_at if row else None, now):>10} "
              f"{_ago(row.last_new_article_at if row else None, now):>10} "
              f"{row.consecutive_failures if row else 0:>5} {row.articles_total if row else 0:>8}  "
              f"{(row.last_error or '') if row else ''}")
    return 0


def print_deliveries(state: str | None, limit: int) -> int:
    """The ledger, newest first, with the reason of every failure: what `deliveries retry` acts on."""
    rows = _store().deliveries(state=state, limit=limit)
    print(f"{'id':>6}  {'state':<11} {'outlet':<14} {'article':<24} {'v':>2} {'tries':>5}  remote / reason")
    for row in rows:
        delivered = row.state.value == "delivered"
        detail = (row.remote_url or row.remote_id or "") if delivered else (row.last_error or "")
        print(f"{row.id:>6}  {row.state.value:<11} {row.outlet_id:<14.14} {row.article_id:<24} {row.version:>2} "
              f"{row.attempts:>5}  {detail}")
    if not rows:
        print("(no deliveries" + (f" in state {state}" if state else "") + ")")
    return 0


def retry_deliveries(ids: list[int], all_failed: bool) -> int:
    """Replay failed or dead deliveries: reopen each ledger row and queue its delivery again.

    A replay cannot double a delivery: the row is reopened, not copied, and the deliver task still
    claims it under the ledger's rules and the per-row lock.
    """
    from worker.store import DeliveryState

    settings = load_settings()
    require_broker(settings)
    from worker.tasks import deliver

    store = _store()
    replayable = (DeliveryState.FAILED, DeliveryState.DEAD)
    if all_failed:
        rows = [row for state in replayable for row in store.deliveries(state=state.value, limit=100_000)]
    else:
        rows = []
        for delivery_id in ids:
            row = store.delivery_by_id(delivery_id)
            if row is None:
                raise SyndicationError(f"no delivery with id {delivery_id} (see `syndicate deliveries`)")
            rows.append(row)
    queued = 0
    for row in rows:
        if row.state not in replayable:
            _say(f"delivery {row.id} is {row.state.value}, not failed or dead: left alone")
            continue
        store.reopen_delivery(row.id)
        deliver.apply_async((row.article_id, row.outlet_id), {"version": row.version})
        queued += 1
    _say(f"re-queued {queued} deliver{'y' if queued == 1 else 'ies'}")
    return 0


def check_outlets(outlet_ids: list[str] | None) -> int:
    """Each outlet's credentials and reachability, one line each; exit 1 when any is not usable."""
    from worker.errors import SyndicationError as OutletProblem
    from worker.outlets import build_outlet

    settings = load_settings()
    config = load_config(settings.config_dir)
    chosen = [config.outlet(i) for i in outlet_ids] if outlet_ids else list(config.outlets.values())
    broken = 0
    for outlet_config in chosen:
        try:
            print(f"{outlet_config.id:<16} ok      {build_outlet(outlet_config, settings).check()}")
        except OutletProblem as exc:
            broken += 1
            print(f"{outlet_config.id:<16} FAILED  {exc}")
    return 1 if broken else 0
