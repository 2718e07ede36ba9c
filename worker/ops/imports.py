"""Operator-triggered imports: check the request, queue the ingest, and (with --wait) follow it through.

Everything that can be checked before queueing is checked here (source known, URL inside the source's
allowed domains, outlets known, a broker reachable) so a mistake is reported at once, not as a failed
task found later.
"""
from __future__ import annotations

import sys
import time
from typing import Any

from worker.config import Config, load_config
from worker.embedded_redis import running_embedded_url
from worker.errors import SyndicationError
from worker.http.client import check_allowed
from worker.http.urls import normalize_link
from worker.settings import Settings, load_settings
from worker.store import DeliveryState, Store


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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


def require_broker(settings: Settings) -> None:
    """Refuse early, with what to do, when there is no Redis to queue on."""
    if not settings.redis_url and not running_embedded_url(settings.var_dir):
        raise SyndicationError(
            "no Redis to queue on: start `syndicate worker` in another terminal (it starts a private "
            "Redis when REDIS_URL is unset), or set REDIS_URL"
        )


def check_import(config: Config, url: str, source_id: str, outlet_ids: list[str] | None) -> None:
    """What every import (the CLI's, the API's, the console's) must pass before it is queued: a known
    source, a URL inside its allowed domains, known outlets. Raises the error that names the mistake."""
    check_allowed(url, config.source(source_id))
    for outlet_id in outlet_ids or []:
        config.outlet(outlet_id)


def record_import(store: Store, source_id: str, url: str, outlet_ids: list[str] | None) -> None:
    """Record the link as planned before the message is sent, so the sweeper re-queues the import if Redis
    loses it (worker/flow/sweep.py). Only imports routed by the outlets' rules: the sweeper re-queues a link
    without the outlets an operator named, which must not send the article where the operator did not."""
    if not outlet_ids:
        store.plan_link(source_id, normalize_link(url))


def import_url(url: str, source_id: str, outlet_ids: list[str] | None, wait: bool, timeout: float) -> int:
    settings = load_settings()
    check_import(load_config(settings.config_dir), url, source_id, outlet_ids)
    require_broker(settings)
    from worker.tasks import ingest  # imported late: it connects the Celery app to the broker

    store = Store(settings.database_url)
    store.migrate()  # an import may come before any worker has created the store
    record_import(store, source_id, url, outlet_ids)
    result = ingest.apply_async((source_id, url, outlet_ids))
    _say(f"queued ingest {result.id} for {url}")
    if not wait:
        print(result.id)
        return 0
    report = _wait_for_ingest(result, timeout)
    if report is None:
        return 1
    return _wait_for_deliveries(store, report, timeout)


def _wait_for_ingest(result: Any, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    last_state = None
    while time.monotonic() < deadline:
        state = result.state
        if state != last_state:
            _say({"PENDING": "waiting for a worker to take it",
                  "STARTED": "a worker is fetching and extracting",
                  "RETRY": "transient error; will retry with backoff"}.get(state, state.lower()))
            last_state = state
        if state == "SUCCESS":
            report = result.get()
            _say(describe_ingest(report))
            return report
        if state == "FAILURE":
            _say(f"import failed: {result.result}")
            return None
        time.sleep(0.2)
    _say(f"still {last_state} after {timeout:.0f}s: is a worker running on this broker? (the task stays queued)")
    return None


def _wait_for_deliveries(store: Store, report: dict[str, Any], timeout: float) -> int:
    if not report["deliveries"]:
        _say("nothing to deliver (this version is already at every outlet)")
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
                    _say(f"delivered to {outlet_id}: {row.remote_url or row.remote_id}")
                else:
                    failed += 1
                    _say(f"delivery to {outlet_id} failed: {row.last_error}")
        time.sleep(0.2)
    for outlet_id in sorted(pending):
        _say(f"delivery to {outlet_id} not finished after {timeout:.0f}s (it stays queued and retries)")
    print(report["article_id"])
    return 1 if failed or pending else 0
