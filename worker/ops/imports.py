"""One-off imports of a partner URL: check the request, queue the ingest, and follow it to its deliveries.

Everything that can be checked before queueing is checked here (source known, URL inside the source's
allowed domains, outlets known, a broker reachable) so a mistake is reported at once, not as a failed
task found later. `syndicate import`, POST /imports and the console's import form all call queue_import;
GET /imports/{id} and `syndicate import --wait` read the same progress().
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from celery.result import AsyncResult

from worker.config import Config
from worker.http.client import check_allowed
from worker.http.urls import normalize_link
from worker.logging_setup import log_context
from worker.ops.base import NotFoundError, OpsContext, say
from worker.store import Delivery, DeliveryState, Store
from worker.tasks import enqueue_ingest

log = logging.getLogger(__name__)
#: imports are remembered as long as Celery keeps their results (worker/app.py: result_expires)
IMPORT_TTL_SECONDS = 7 * 24 * 3600
#: the import's state as the operator reads it, from Celery's task state
IMPORT_STATES = {"PENDING": "queued", "RECEIVED": "queued", "STARTED": "running", "RETRY": "retrying",
                 "SUCCESS": "stored", "FAILURE": "failed", "REVOKED": "failed"}


def describe_ingest(report: dict[str, Any]) -> str:
    """One line for an ingest result, in the words an operator uses."""
    outcome = report["outcome"]
    where = f"{report['article_id']} v{report['version']}"
    return {
        "new": f"stored {where} (new): {report['headline']}",
        "new_version": f"stored {where} (the partner changed it): {report['headline']}",
        "unchanged": f"{where} is unchanged: {report['headline']}",
        "not_modified": f"{where} is unchanged (the partner answered 304): {report['headline']}",
        "duplicate": f"a copy of {where}, already stored; not stored again: {report['headline']}",
    }.get(outcome, f"{where} ({outcome}): {report['headline']}")


def check_import(config: Config, url: str, source_id: str, outlet_ids: list[str] | None) -> None:
    """What every import must pass before it is queued: a known source, a URL inside its allowed domains,
    known outlets. Raises the error that names the mistake."""
    check_allowed(url, config.source(source_id))
    for outlet_id in outlet_ids or []:
        config.outlet(outlet_id)


def record_import(store: Store, source_id: str, url: str, outlet_ids: list[str] | None) -> None:
    """Record the link as planned before the message is sent, so the sweeper re-queues the import if Redis
    loses it (worker/flow/sweep.py). Only imports routed by the outlets' rules: the sweeper re-queues a link
    without the outlets an operator named, which must not send the article where the operator did not."""
    if not outlet_ids:
        store.plan_link(source_id, normalize_link(url))


def _import_key(ctx: OpsContext, import_id: str) -> str:
    return ctx.key(f"syndication:import:{import_id}")


def queue_import(ctx: OpsContext, url: str, source_id: str, outlet_ids: list[str] | None) -> dict[str, Any]:
    """Check and queue an ingest; the import id is the Celery task id (its state is the task's state).

    The import is remembered in Redis for a week, so GET /imports/{id} can follow it, whoever queued it."""
    check_import(ctx.config(), url, source_id, outlet_ids)
    celery = ctx.celery()  # before recording: no broker, nothing changed
    record_import(ctx.store, source_id, url, outlet_ids)
    result = enqueue_ingest(source_id, url, outlet_ids or None, via=celery)
    record = {"id": result.id, "url": url, "source_id": source_id, "outlets": outlet_ids or [],
              "queued_at": datetime.now(timezone.utc).isoformat()}
    ctx.redis().set(_import_key(ctx, result.id), json.dumps(record), ex=IMPORT_TTL_SECONDS)
    with log_context(source_id=source_id, import_id=result.id):
        log.info("queued import of %s", url)
    return record


@dataclass(frozen=True)
class ImportProgress:
    #: queued, running, retrying, stored or failed
    state: str
    #: what is happening, or why it failed, in an operator's words
    message: str
    #: the ingest's report (worker/flow: IngestReport.as_dict) once stored
    report: dict[str, Any] | None = None


def progress(result: AsyncResult) -> ImportProgress:
    """Where an ingest task stands, read from Celery's task state."""
    celery_state = result.state
    state = IMPORT_STATES.get(celery_state, celery_state.lower())
    if celery_state == "SUCCESS":
        report = result.result or {}
        return ImportProgress(state, describe_ingest(report), report)
    if celery_state in ("FAILURE", "REVOKED"):
        return ImportProgress(state, f"import failed: {result.result}")
    if celery_state == "RETRY":
        return ImportProgress(state, f"transient error; will retry with backoff: {result.result}")
    if celery_state in ("PENDING", "RECEIVED"):
        return ImportProgress(state, "waiting for a worker to take it")
    return ImportProgress(state, "a worker is fetching and extracting")


def deliveries_of(store: Store, report: dict[str, Any]) -> list[Delivery]:
    """The ledger rows an ingest made or found: the stored version's, and those of the outlets it queued."""
    wanted = set(report.get("deliveries") or [])
    return [row for row in store.deliveries(article_id=report["article_id"])
            if row.version == report.get("version") or row.outlet_id in wanted]


def import_status(ctx: OpsContext, import_id: str) -> dict[str, Any]:
    """Where an import stands: queued, running, retrying, stored (with the article and its deliveries) or
    failed (with why)."""
    raw = ctx.redis().get(_import_key(ctx, import_id))
    if raw is None:
        raise NotFoundError(f"no import {import_id} (imports are kept for 7 days; stored articles are listed "
                            "by GET /articles and `syndicate articles`)")
    now = progress(ctx.celery().AsyncResult(import_id))
    report = now.report or {}
    status: dict[str, Any] = {**json.loads(raw), "state": now.state, "message": now.message,
                              "outcome": report.get("outcome"), "article": None, "deliveries": []}
    if report.get("article_id"):
        status["article"] = ctx.store.get_article(report["article_id"], report.get("version"))
        status["deliveries"] = deliveries_of(ctx.store, report)
    return status


# --- `syndicate import` ----------------------------------------------------------------------------------

def import_url(url: str, source_id: str, outlet_ids: list[str] | None, wait: bool, timeout: float) -> int:
    ctx = OpsContext.from_environment()
    record = queue_import(ctx, url, source_id, outlet_ids)
    say(f"queued ingest {record['id']} for {url}")
    if not wait:
        print(record["id"])
        return 0
    report = _wait_for_ingest(ctx.celery().AsyncResult(record["id"]), timeout)
    if report is None:
        return 1
    return _wait_for_deliveries(ctx.store, report, timeout)


def _wait_for_ingest(result: AsyncResult, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    last_state = None
    while time.monotonic() < deadline:
        now = progress(result)
        if now.state != last_state:
            say(now.message)
            last_state = now.state
        if now.state == "stored":
            return now.report
        if now.state == "failed":
            return None
        time.sleep(0.2)
    say(f"still {last_state} after {timeout:.0f}s: is a worker running on this broker? (the task stays queued)")
    return None


def _wait_for_deliveries(store: Store, report: dict[str, Any], timeout: float) -> int:
    if not report["deliveries"]:
        say("nothing to deliver (this version is already at every outlet)")
        print(report["article_id"])
        return 0
    deadline = time.monotonic() + timeout
    pending = set(report["deliveries"])
    failed = 0
    while pending and time.monotonic() < deadline:
        for outlet_id in sorted(pending):
            row = store.get_delivery(report["article_id"], report["version"], outlet_id)
            if row is not None and row.state.is_final:
                pending.discard(outlet_id)
                if row.state == DeliveryState.DELIVERED:
                    say(f"delivered to {outlet_id}: {row.remote_url or row.remote_id}")
                else:
                    failed += 1
                    say(f"delivery to {outlet_id} failed: {row.last_error}")
        time.sleep(0.2)
    for outlet_id in sorted(pending):
        say(f"delivery to {outlet_id} not finished after {timeout:.0f}s (it stays queued and retries)")
    print(report["article_id"])
    return 1 if failed or pending else 0
