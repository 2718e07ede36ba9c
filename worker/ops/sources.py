"""Sources: the table of sources with their polling health, poll now, and re-import of known links.

`syndicate sources`, GET /sources and the console's dashboard show source_rows(); `syndicate poll`,
POST /sources/{id}/poll and the console's Run Now button call poll_now(); `syndicate reimport` calls
reimport(). Each checks what it can before queueing (the source exists and has something to poll, a broker
is reachable); the work itself runs in the workers.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from celery.result import AsyncResult

from worker.errors import UnknownSourceError
from worker.flow.schedule import restart_interval
from worker.ops.base import NotFoundError, NothingToPollError, OpsContext, say
from worker.tasks import enqueue_ingest, enqueue_poll


def source_rows(ctx: OpsContext) -> list[dict[str, Any]]:
    """Every configured source with its polling health: what an operator checks first."""
    health = {h.source_id: h for h in ctx.store.all_source_health()}
    now = datetime.now(timezone.utc)
    rows = []
    for source in ctx.config().sources.values():
        h = health.get(source.id)
        status = "manual only" if not source.discover else (
            h.status(now, source.idle_alert_after_hours) if h else "never polled")
        rows.append({
            "id": source.id, "name": source.name, "status": status, "pollable": bool(source.discover),
            "interval_seconds": source.interval, "idle_alert_after_hours": source.idle_alert_after_hours,
            "idle": bool(h and source.discover and h.is_idle(now, source.idle_alert_after_hours)),
            "last_poll_finished_at": h.last_poll_finished_at if h else None,
            "last_new_article_at": h.last_new_article_at if h else None,
            "consecutive_failures": h.consecutive_failures if h else 0,
            "articles_total": h.articles_total if h else 0,
            "last_error": h.last_error if h else None,
        })
    return rows


def poll_now(ctx: OpsContext, source_id: str) -> AsyncResult:
    """The Run Now button: queue a poll of one source; the next scheduled one is an interval later."""
    try:
        source = ctx.config().source(source_id)
    except UnknownSourceError as exc:
        raise NotFoundError(exc.reason) from None  # the thing acted on is not there (HTTP: 404, not 422)
    if not source.discover:
        raise NothingToPollError(f"source {source_id!r} has no discover: entries in sources.yaml; nothing to poll "
                                 "(it is imported by hand only)")
    result = enqueue_poll(source_id, via=ctx.celery())
    restart_interval(ctx.redis(), ctx.settings.redis_key_prefix, source)
    return result


def reimport(ctx: OpsContext, source_id: str, since: datetime | None) -> list[str]:
    """Re-queue the known articles of a source (published or first seen since a date) for ingest."""
    ctx.config().source(source_id)
    celery = ctx.celery()
    urls = ctx.store.known_links(source_id, since)
    for url in urls:
        enqueue_ingest(source_id, url, via=celery)
    return urls


# --- the cli's views ------------------------------------------------------------------------------------

def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "-"
    seconds = (now - moment).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def print_sources() -> int:
    """`syndicate sources`: source_rows() as a table."""
    now = datetime.now(timezone.utc)
    print(f"{'source':<16} {'status':<12} {'every':>6} {'last poll':>10} {'last new':>10} {'fails':>5} "
          f"{'articles':>8}  last error")
    for row in source_rows(OpsContext.from_environment()):
        print(f"{row['id']:<16.16} {row['status']:<12} {row['interval_seconds']:>5}s "
              f"{_ago(row['last_poll_finished_at'], now):>10} {_ago(row['last_new_article_at'], now):>10} "
              f"{row['consecutive_failures']:>5} {row['articles_total']:>8}  {row['last_error'] or ''}")
    return 0


def poll(source_id: str, wait: bool, timeout: float) -> int:
    """`syndicate poll`: poll_now() and, with wait, what the poll found."""
    result = poll_now(OpsContext.from_environment(), source_id)
    say(f"queued poll {result.id} of {source_id}")
    if not wait:
        print(result.id)
        return 0
    try:
        report = result.get(timeout=timeout, propagate=False)
    except Exception as exc:  # celery's TimeoutError and broker errors alike: say it, don't trace
        say(f"no answer within {timeout:.0f}s ({type(exc).__name__}): is a worker consuming the poll queue?")
        return 1
    if result.failed():
        say(f"poll failed: {report}")
        return 1
    if report.get("skipped"):
        say(f"skipped: {report['skipped']}")
        return 0
    say(f"{report['discovered']} links, {len(report['queued'])} queued for ingest, "
        f"{len(report['not_modified'])} resources unchanged, {len(report['errors'])} errors")
    for error in report["errors"]:
        say(f"  error: {error}")
    for url in report["queued"]:
        print(url)
    return 1 if report["errors"] else 0


def print_reimport(source_id: str, since: datetime | None) -> int:
    """`syndicate reimport`: reimport() and how many links it queued."""
    urls = reimport(OpsContext.from_environment(), source_id, since)
    say(f"queued {len(urls)} known link(s) of {source_id} for ingest"
        + (f" (since {since.date().isoformat()})" if since else ""))
    return 0
