"""What the API and the console do, once: queue an import and follow it, preview, poll now, replay.

Each action checks what it can before queueing (the same checks as `syndicate import`/`poll`/`deliveries
retry`: source known, URL allowed, outlets known, a broker reachable), so an operator's mistake is answered
at once instead of turning up later as a failed task.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from worker.config import Source
from worker.extract import extract_article
from worker.http.client import check_allowed, fetch_page
from worker.ops.imports import check_import, record_import
from worker.logging_setup import log_context
from worker.flow.schedule import restart_interval
from worker.schema import Article
from worker.store import Delivery, DeliveryState
from worker.web.context import WebContext
from worker.web.errors import ApiError, not_found

log = logging.getLogger(__name__)
#: imports are remembered as long as Celery keeps their results (worker/app.py: result_expires)
IMPORT_TTL_SECONDS = 7 * 24 * 3600
REPLAYABLE = (DeliveryState.FAILED, DeliveryState.DEAD)
#: the import's state as the operator reads it, from Celery's task state
IMPORT_STATES = {"PENDING": "queued", "RECEIVED": "queued", "STARTED": "running", "RETRY": "retrying",
                 "SUCCESS": "stored", "FAILURE": "failed", "REVOKED": "failed"}


def _import_key(ctx: WebContext, import_id: str) -> str:
    return ctx.key(f"syndication:import:{import_id}")


def queue_import(ctx: WebContext, url: str, source_id: str, outlet_ids: list[str] | None) -> dict[str, Any]:
    """Check and queue an ingest; the import id is the Celery task id (its state is the task's state)."""
    check_import(ctx.config(), url, source_id, outlet_ids)
    celery = ctx.celery()
    record_import(ctx.store, source_id, url, outlet_ids)
    result = celery.send_task("syndication.ingest", (source_id, url, outlet_ids or None))
    record = {"id": result.id, "url": url, "source_id": source_id, "outlets": outlet_ids or [],
              "queued_at": datetime.now(timezone.utc).isoformat()}
    ctx.redis().set(_import_key(ctx, result.id), json.dumps(record), ex=IMPORT_TTL_SECONDS)
    with log_context(source_id=source_id, import_id=result.id):
        log.info("queued import of %s", url)
    return record


def _delivery_dict(row: Delivery) -> dict[str, Any]:
    return {"id": row.id, "article_id": row.article_id, "version": row.version, "outlet_id": row.outlet_id,
            "state": row.state.value, "attempts": row.attempts, "remote_id": row.remote_id,
            "remote_url": row.remote_url, "last_error": row.last_error, "created_at": row.created_at,
            "updated_at": row.updated_at, "delivered_at": row.delivered_at}


def import_status(ctx: WebContext, import_id: str) -> dict[str, Any]:
    """Where an import stands: queued, running, retrying, stored (with the article) or failed (with why)."""
    raw = ctx.redis().get(_import_key(ctx, import_id))
    if raw is None:
        raise not_found(f"import {import_id}", "imports are kept for 7 days; see GET /articles for stored ones")
    record = json.loads(raw)
    result = ctx.celery().AsyncResult(import_id)
    celery_state = result.state
    status: dict[str, Any] = {**record, "state": IMPORT_STATES.get(celery_state, celery_state.lower()),
                              "message": None, "outcome": None, "article": None, "deliveries": []}
    if celery_state == "SUCCESS":
        report = result.result or {}
        status["outcome"] = report.get("outcome")
        status["message"] = f"{report.get('outcome')}: {report.get('headline')}"
        article_id, version = report.get("article_id"), report.get("version")
        if article_id:
            status["article"] = ctx.store.get_article(article_id, version)
            wanted = set(report.get("deliveries") or [])
            status["deliveries"] = [
                _delivery_dict(row) for row in ctx.store.deliveries(article_id=article_id)
                if row.version == version or row.outlet_id in wanted
            ]
    elif celery_state in ("FAILURE", "REVOKED"):
        status["message"] = str(result.result)
    elif celery_state == "RETRY":
        status["message"] = f"transient error; will retry with backoff: {result.result}"
    else:
        status["message"] = "waiting for a worker to take it" if celery_state == "PENDING" else "a worker is on it"
    return status


def retry_delivery(ctx: WebContext, delivery_id: int) -> Delivery:
    """Replay one failed or dead delivery: reopen its ledger row and queue it again (never a copy)."""
    row = ctx.store.delivery_by_id(delivery_id)
    if row is None:
        raise not_found(f"delivery {delivery_id}", "see GET /deliveries")
    if row.state not in REPLAYABLE:
        raise ApiError(409, "not_replayable",
                       f"delivery {delivery_id} is {row.state.value}; only failed or dead deliveries are retried")
    celery = ctx.celery()  # before reopening: no broker, nothing changed
    reopened = ctx.store.reopen_delivery(row.id)
    celery.send_task("syndication.deliver", (row.article_id, row.outlet_id), {"version": row.version})
    with log_context(article_id=row.article_id, outlet_id=row.outlet_id):
        log.info("re-queued delivery %s (v%s)", row.id, row.version)
    return reopened


def poll_now(ctx: WebContext, source_id: str) -> str:
    """The Run Now button: queue a poll of one source; the next scheduled one is an interval away."""
    config = ctx.config()
    if source_id not in config.sources:
        raise not_found(f"source {source_id!r} in sources.yaml", "see GET /sources")
    source = config.sources[source_id]
    if not source.discover:
        raise ApiError(409, "nothing_to_poll",
                       f"source {source_id!r} has no discover: entries in sources.yaml; it is imported by hand only")
    result = ctx.celery().send_task("syndication.poll_source", (source_id,))
    restart_interval(ctx.redis(), ctx.settings.redis_key_prefix, source)
    return str(result.id)


def preview(ctx: WebContext, url: str | None, html: str | None, source_id: str | None) -> Article:
    """The canonical article of a page, without storing or delivering it (fetching it when no HTML is given)."""
    source = ctx.config().source(source_id) if source_id else None
    if html is not None:
        page_url = url or "https://preview.invalid/"
        return extract_article(html, page_url, source)
    assert url is not None
    host = urlsplit(url).hostname or ""
    fetch_source = source or Source(id="adhoc", name=host or "adhoc", allowed_domains=[host or "invalid"])
    check_allowed(url, fetch_source)
    page = fetch_page(url, fetch_source, ctx.settings)
    return extract_article(page.body, page.url, source)


def source_rows(ctx: WebContext) -> list[dict[str, Any]]:
    """Every configured source with its polling health, as `syndicate sources` shows it."""
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


def deliveries(ctx: WebContext, state: str | None, article_id: str | None, limit: int) -> list[dict[str, Any]]:
    return [_delivery_dict(row) for row in ctx.store.deliveries(article_id=article_id, state=state, limit=limit)]
