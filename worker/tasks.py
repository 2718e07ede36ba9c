"""Thin Celery tasks: parse arguments, call the pipeline, decide retry or give up.

Transient errors retry with Celery's exponential backoff and full jitter (honouring a partner's or an
outlet's Retry-After); permanent errors are recorded (on the article's ingest record or the ledger row)
and raised so the task ends FAILED with the reason, without a retry.
"""
from __future__ import annotations

import logging
from typing import Any

import redis
from celery import Task
from celery.utils.time import get_exponential_backoff_interval
from redis.exceptions import LockError

from worker.app import app, broker_url_for
from worker.errors import PermanentError, TransientError
from worker.pipeline import Services, deliver_article, ingest_url
from worker.settings import load_settings

log = logging.getLogger(__name__)
_services: Services | None = None
_redis: redis.Redis | None = None


def services() -> Services:
    """Built once per worker process, after the fork, so no connection is shared between processes."""
    global _services
    if _services is None:
        _services = Services(load_settings())
    return _services


def redis_client() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(broker_url_for(services().settings))
    return _redis


def backoff_seconds(task: Task, exc: TransientError) -> float:
    settings = services().settings
    # a countdown longer than the visibility timeout would make Redis hand the task out twice
    ceiling = max(1, min(settings.retry_backoff_max, settings.visibility_timeout // 2))
    delay = get_exponential_backoff_interval(factor=2, retries=task.request.retries, maximum=ceiling, full_jitter=True)
    if exc.retry_after is not None:
        delay = max(delay, min(exc.retry_after, ceiling))
    return max(1.0, float(delay))


def retry_or_give_up(task: Task, exc: TransientError, give_up: Any) -> None:
    if task.request.retries >= services().settings.max_retries:
        give_up(f"gave up after {task.request.retries} retries: {exc}")
        raise exc
    raise task.retry(exc=exc, countdown=backoff_seconds(task, exc))


@app.task(bind=True, name="syndication.ingest", throws=(PermanentError,))
def ingest(self: Task, source_id: str, url: str, outlet_ids: list[str] | None = None) -> dict[str, Any]:
    svc = services()

    def queue_delivery(article_id: str, version: int, outlet_id: str) -> None:
        deliver.apply_async((article_id, outlet_id), {"version": version})

    try:
        return ingest_url(svc, source_id, url, outlet_ids, queue_delivery).as_dict()
    except TransientError as exc:
        retry_or_give_up(self, exc, lambda reason: svc.store.record_ingest_failure(source_id, url, exc.code, reason))
        raise  # unreachable: retry_or_give_up always raises


@app.task(bind=True, name="syndication.deliver", throws=(PermanentError,))
def deliver(self: Task, article_id: str, outlet_id: str, version: int | None = None) -> dict[str, Any]:
    svc = services()
    if version is None:
        latest = svc.store.get_article(article_id)
        version = latest.version if latest else 1
    # one publisher per ledger row at a time; the lock expires with the visibility timeout, the point
    # at which Redis would hand this task to another worker anyway
    lock = redis_client().lock(
        f"{svc.settings.redis_key_prefix}syndication:deliver:{article_id}:{version}:{outlet_id}",
        timeout=svc.settings.visibility_timeout, blocking_timeout=0,
    )
    if not lock.acquire():
        raise self.retry(countdown=5, max_retries=None)
    try:
        try:
            row = deliver_article(svc, article_id, version, outlet_id)
        except TransientError as exc:
            def give_up(reason: str) -> None:
                failed = svc.store.get_delivery(article_id, version, outlet_id)
                if failed is not None:
                    svc.store.mark_failed(failed.id, reason)
            retry_or_give_up(self, exc, give_up)
            raise
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("delivery lock for %s v%s -> %s expired before release", article_id, version, outlet_id)
    return {"article_id": row.article_id, "version": row.version, "outlet_id": row.outlet_id,
            "state": row.state.value,
            "remote_id": row.remote_id, "remote_url": row.remote_url, "attempts": row.attempts}
