"""Thin Celery tasks: parse arguments, call the pipeline, decide retry or give up.

Transient errors retry with Celery's exponential backoff and full jitter (honouring a partner's or an
outlet's Retry-After); permanent errors are recorded (on the article's ingest record or the ledger row)
and raised so the task ends FAILED with the reason, without a retry.

A task past its soft time limit (worker/flow/time_limits.py) gets Celery's SoftTimeLimitExceeded in the middle
of whatever it was doing; each task turns it into TaskTimeLimitError, a transient failure like any other,
so the work is retried (and given up on, with the reason recorded, once the budget is spent), not lost.

This is the one module that sends task messages: the enqueue_* functions below, used by the tasks' own
wiring and by worker/ops (the cli, the web console and the demo reach them only through ops). One place
means one spelling of each task's arguments, and names that cannot drift from the tasks they route to.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

# first: it chooses prometheus_client's multiprocess mode, which must happen before that is imported
from worker import task_metrics

import redis
from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.result import AsyncResult
from celery.signals import worker_init, worker_process_shutdown
from celery.utils.time import get_exponential_backoff_interval
from kombu import Producer
from redis.exceptions import LockError

from worker.app import app, broker_url_for
from worker.errors import (
    ConfigError,
    HostBackedOffError,
    PermanentError,
    StoreUnavailableError,
    TaskTimeLimitError,
    TransientError,
)
from worker.flow.deliver import deliver_article
from worker.flow.ingest import ingest_url
from worker.flow.services import Services
from worker.flow.withdraw import withdraw_article
from worker.flow.poll import poll_source as run_poll
from worker.flow.schedule import PollSchedule, dispatch_due, plan_for, poll_lock_key
from worker.settings import load_settings
from worker.store import DeliveryState
from worker.flow.sweep import sweep as sweep_stuck_work

log = logging.getLogger(__name__)
_services: Services | None = None
#: a poll lock lives this long unless the running poll refreshes it (each fetch does)
POLL_LOCK_SECONDS = 120


@worker_init.connect(weak=False)
def _preload_before_fork(**_: object) -> None:
    """Import the heavy modules of an ingest (numpy for the near-duplicate MinHash, trafilatura) in the worker's
    main process, before the pool forks: the children share those pages instead of each importing them
    (about a second) in the middle of its first task."""
    from worker import fingerprint
    from worker.extract import trafilatura_body  # noqa: F401 - imported for its side effect

    fingerprint.preload()


def services() -> Services:
    """Built once per worker process, after the fork, so no connection is shared between processes."""
    global _services
    if _services is None:
        settings = load_settings()
        _services = Services(settings, redis_client=redis.Redis.from_url(broker_url_for(settings)))
    return _services


@worker_process_shutdown.connect(weak=False)
def _close_services(**_: object) -> None:
    """A pool process that ends closes its HTTP sessions (pooled partner connections) instead of leaving
    them to the kernel; nothing is lost if it cannot: the process is going away."""
    if _services is not None:
        _services.close()


def redis_client() -> redis.Redis:
    client = services().redis_client
    assert client is not None
    return client


#: message header counting a task's uncounted waits (a backed-off host, the store away), which Celery's
#: own `retries` counts too; the failure budget is `retries` minus these
WAITS_HEADER = "syndication_waits"


def waits_so_far(task: Task) -> int:
    return int((task.request.headers or {}).get(WAITS_HEADER) or 0)


def failures_so_far(task: Task) -> int:
    """Retries this task spent on real failures: Celery's count, less the waits that were not failures."""
    return max(0, task.request.retries - waits_so_far(task))


def retry_waiting(task: Task, countdown: float, exc: Exception | None = None) -> Exception:
    """Retry without using the failure budget (the caller raises what this returns): a wait, not a failure."""
    return task.retry(exc=exc, countdown=countdown, max_retries=None, headers={WAITS_HEADER: waits_so_far(task) + 1})


def backoff_seconds(task: Task, exc: TransientError, attempt: int) -> float:
    settings = services().settings
    # a countdown longer than the visibility timeout would make Redis hand the task out twice
    ceiling = max(1, min(settings.retry_backoff_max, settings.visibility_timeout // 2))
    delay = get_exponential_backoff_interval(factor=2, retries=attempt, maximum=ceiling, full_jitter=True)
    if exc.retry_after is not None:
        delay = max(delay, min(exc.retry_after, ceiling))
    return max(1.0, float(delay))


def retry_or_give_up(task: Task, exc: TransientError, give_up: Callable[[str], None]) -> None:
    """Retry with backoff, or record the give-up once SYNDICATION_MAX_RETRIES retries are spent.

    The budget is counted here, not by Celery: the tasks that call this are declared with
    max_retries=None, because Celery reads `retry(max_retries=None)` as "the task's default" (3), which
    capped every task at 3 retries whatever the setting, ended uncounted waits after 3, and skipped give_up.
    Waits are counted in a message header of their own, so a task that first waited out a partner's
    back-off still has its whole budget for failures.
    """
    if isinstance(exc, (HostBackedOffError, StoreUnavailableError)):
        # the partner asked us to wait, or our own database is away (a restart, a fail-over): neither is a
        # failure of this task, so it uses no retry; and giving up would need the database to record it
        raise retry_waiting(task, backoff_seconds(task, exc, waits_so_far(task)), exc)
    failures = failures_so_far(task)
    if failures >= services().settings.max_retries:
        give_up(f"gave up after {failures} retries: {exc}")
        raise exc
    raise task.retry(exc=exc, countdown=backoff_seconds(task, exc, failures))


def as_transient(task: Task, exc: TransientError | SoftTimeLimitExceeded) -> TransientError:
    """The named transient failure for what a task caught: a soft time limit becomes TaskTimeLimitError."""
    if isinstance(exc, SoftTimeLimitExceeded):
        return TaskTimeLimitError(
            f"{task.name} ran past its soft time limit of {task.soft_time_limit} s and was stopped, to be "
            "tried again (a peer too slow even for the request deadlines?)")
    return exc


@contextmanager
def held_lock(name: str, ttl: float) -> Iterator[Callable[[], None] | None]:
    """A Redis lock, or None when another holder has it; yields a `refresh` to call while working."""
    lock = redis_client().lock(f"{services().settings.redis_key_prefix}{name}", timeout=ttl, blocking_timeout=0)
    if not lock.acquire():
        yield None
        return
    guard = threading.Lock()

    def refresh() -> None:
        with guard:
            try:
                lock.reacquire()
            except LockError:
                log.warning("lock %s was lost while working", name)
    try:
        yield refresh
    finally:
        try:
            lock.release()
        except LockError:
            log.warning("lock %s expired before release", name)


@app.task(bind=True, name="syndication.schedule_polls", ignore_result=True)
def schedule_polls(self: Task) -> int:
    """Beat's tick (on its own queue, `schedule`, never behind the polls it sends): dispatch a poll for
    each due source; returns how many."""
    return len(dispatch_due_polls(services()))


def dispatch_due_polls(svc: Services, dispatch: Callable[[str], object] | None = None, *,
                       now: float | None = None) -> list[str]:
    """Claim and dispatch the due sources of the Services' config: the last good one, as ingest uses.

    Why svc.config and not load_config: one broken live edit of sources.yaml then failed every tick, so no
    source was polled until someone fixed the file. svc.config keeps the last good config and logs why the
    edit was ignored; only a worker that never had a good config has nothing to schedule (logged each tick).
    The schedule itself (worker/flow/schedule.py) is synced with the config only when it changed.

    `dispatch` None sends the polls through one producer (one broker connection) for the whole tick;
    `now` (seconds since the epoch) is the clock, given by tests and the bench.
    """
    try:
        config = svc.config
    except ConfigError as exc:
        log.error("no source scheduled: the config has never loaded: %s", exc)
        return []
    assert svc.redis_client is not None
    schedule = PollSchedule(svc.redis_client, svc.settings.redis_key_prefix, svc.settings.scheduler_tick)
    moment = time.time() if now is None else now
    if dispatch is not None:
        return dispatch_due(schedule, plan_for(config), moment, dispatch)
    with poll_sender() as send:
        return dispatch_due(schedule, plan_for(config), moment, send)


@app.task(bind=True, name="syndication.poll_source", throws=(PermanentError,), max_retries=None)
def poll_source(self: Task, source_id: str) -> dict[str, Any]:
    svc = services()
    with held_lock(poll_lock_key("", source_id), POLL_LOCK_SECONDS) as refresh:
        if refresh is None:
            log.info("poll %s skipped: another poll of it is running", source_id)
            return {"source_id": source_id, "skipped": "another poll of this source is running"}
        try:
            report = run_poll(
                svc, source_id,
                enqueue_ingest=enqueue_ingest,
                enqueue_withdrawal=queue_withdrawals,
                heartbeat=refresh,
            )
        except (TransientError, SoftTimeLimitExceeded) as caught:
            retry_or_give_up(self, as_transient(self, caught), lambda reason: log.error("poll %s: %s", source_id, reason))
            raise
    return report.as_dict()


def queue_withdrawals(article_id: str) -> None:
    for outlet_id in sorted(services().store.outlets_delivered(article_id)):
        enqueue_withdrawal(article_id, outlet_id)


@app.task(bind=True, name="syndication.ingest", throws=(PermanentError,), max_retries=None, track_started=True)
def ingest(self: Task, source_id: str, url: str, outlet_ids: list[str] | None = None) -> dict[str, Any]:
    svc = services()

    def give_up(reason: str) -> None:
        svc.store.record_ingest_failure(source_id, url, code, reason)
        svc.store.mark_checked(source_id, url, None)  # finished, if badly: the sweeper must not re-queue it

    try:
        # ingest_url writes the PENDING ledger row first: a message lost with Redis leaves it for the sweeper
        report = ingest_url(svc, source_id, url, outlet_ids, enqueue_delivery, queue_withdrawals)
        return report.as_dict()
    except (TransientError, SoftTimeLimitExceeded) as caught:
        exc = as_transient(self, caught)
        code = exc.code
        if not isinstance(exc, StoreUnavailableError):
            try:
                svc.store.touch_planned(source_id, url)  # alive and retrying: not stuck
            except StoreUnavailableError:
                pass
        retry_or_give_up(self, exc, give_up)
        raise  # unreachable: retry_or_give_up always raises


@app.task(bind=True, name="syndication.deliver", throws=(PermanentError,), max_retries=None, ignore_result=True)
def deliver(self: Task, article_id: str, outlet_id: str, version: int | None = None) -> dict[str, Any]:
    svc = services()
    if version is None:
        latest = svc.store.get_article(article_id)
        version = latest.version if latest else 1
    # one publisher per ledger row at a time; the lock expires with the visibility timeout, the point
    # at which Redis would hand this task to another worker anyway
    with held_lock(f"syndication:deliver:{article_id}:{version}:{outlet_id}", svc.settings.visibility_timeout) as held:
        if held is None:
            raise retry_waiting(self, countdown=5)  # another worker is publishing this row: not a failure
        started = datetime.now(timezone.utc)
        try:
            row = deliver_article(svc, article_id, version, outlet_id)
        except (TransientError, SoftTimeLimitExceeded) as caught:
            exc = as_transient(self, caught)
            if isinstance(caught, SoftTimeLimitExceeded):
                reopen_after_time_limit(article_id, version, outlet_id, exc)

            def give_up(reason: str) -> None:
                exhausted = svc.store.get_delivery(article_id, version, outlet_id)
                if exhausted is not None:
                    svc.store.mark_dead(exhausted.id, reason)  # replayable: `syndicate deliveries retry`
            retry_or_give_up(self, exc, give_up)
            raise
    if row.state == DeliveryState.DELIVERED and row.delivered_at is not None and row.delivered_at >= started:
        task_metrics.observe_delivery(row.created_at, row.delivered_at)  # made by this call, not found made
    return row.as_dict()


def reopen_after_time_limit(article_id: str, version: int, outlet_id: str, exc: TransientError) -> None:
    """deliver_article records an exception it has no name for as an outlet bug (FAILED, final); a soft
    time limit is not one, so the row is put back to RETRYING, where the retry can claim it again."""
    store = services().store
    row = store.get_delivery(article_id, version, outlet_id)
    if row is not None and row.state == DeliveryState.FAILED and \
            (row.last_error or "").startswith(f"unexpected {SoftTimeLimitExceeded.__name__}"):
        store.mark_retrying(row.id, str(exc))


@app.task(bind=True, name="syndication.withdraw", throws=(PermanentError,), max_retries=None, ignore_result=True)
def withdraw(self: Task, article_id: str, outlet_id: str) -> str:
    try:
        return withdraw_article(services(), article_id, outlet_id)
    except (TransientError, SoftTimeLimitExceeded) as caught:
        retry_or_give_up(self, as_transient(self, caught), lambda reason: log.error("withdraw %s from %s: %s", article_id, outlet_id, reason))
        raise


@app.task(bind=True, name="syndication.sweep", ignore_result=True)
def sweep(self: Task) -> dict[str, list[str]]:
    """Beat's sweep: re-queue deliveries and ingests the store shows stuck (worker/flow/sweep.py)."""
    svc = services()
    config = svc.config
    try:
        report = sweep_stuck_work(
            svc.store,
            stuck_after=timedelta(seconds=svc.settings.stuck_after),
            enqueue_delivery=enqueue_delivery,
            enqueue_ingest=enqueue_ingest,
            known_outlets=config.outlets,
            known_sources=config.sources,
        )
    except StoreUnavailableError as exc:
        log.warning("sweep skipped: %s", exc)  # the next beat tick tries again
        return {}
    return report.as_dict()


# --- sending task messages: the only place that does ----------------------------------------------------
# `via`: the Celery app to send through. None is this process's app (a worker's own wiring, the cli);
# the web console passes the app it built for its deployment's broker (worker/ops/context.py), since one
# process may serve several deployments. Either way the message is the task's own name and arguments.

def _send(task: Task, args: tuple[Any, ...], kwargs: dict[str, Any] | None, via: Celery | None,
          producer: Producer | None = None, ignore_result: bool | None = None) -> AsyncResult:
    ignore = task.ignore_result if ignore_result is None else ignore_result
    if via is None:
        return task.apply_async(args, kwargs, producer=producer, ignore_result=ignore)
    return via.send_task(task.name, args, kwargs, ignore_result=ignore, producer=producer)


def enqueue_poll(source_id: str, *, via: Celery | None = None, producer: Producer | None = None,
                 ignore_result: bool | None = None) -> AsyncResult:
    """Queue a poll of one source (syndication.poll_source, on the poll queue). A poll asked for by hand keeps
    its result (`syndicate poll --wait` reads it); poll_sender's pass a producer and ignore_result."""
    return _send(poll_source, (source_id,), None, via, producer, ignore_result)


@contextmanager
def poll_sender(*, via: Celery | None = None) -> Iterator[Callable[[str], AsyncResult]]:
    """enqueue_poll for many sources, as a tick sends them: through one producer (one broker connection
    for the whole batch, not one taken from the pool per message), and without a result. Nobody reads a
    scheduled poll's result (its outcome is the source's health row), and asking for one cost a result
    subscription per message and a result key kept a week per poll: 6.7 million of them at 10,000
    sources polled every 15 minutes."""
    with (via or app).producer_or_acquire() as producer:
        yield lambda source_id: enqueue_poll(source_id, via=via, producer=producer, ignore_result=True)


def enqueue_ingest(source_id: str, url: str, outlet_ids: list[str] | None = None, *,
                   via: Celery | None = None) -> AsyncResult:
    """Queue the ingest of one link; outlet_ids None routes it by the outlets' rules."""
    args: tuple[Any, ...] = (source_id, url, outlet_ids) if outlet_ids else (source_id, url)
    return _send(ingest, args, None, via)


def enqueue_delivery(article_id: str, version: int, outlet_id: str, *, via: Celery | None = None) -> AsyncResult:
    """Queue the delivery of one article version to one outlet (its ledger row is written before this)."""
    return _send(deliver, (article_id, outlet_id), {"version": version}, via)


def enqueue_withdrawal(article_id: str, outlet_id: str, *, via: Celery | None = None) -> AsyncResult:
    """Queue telling one outlet to take an article down."""
    return _send(withdraw, (article_id, outlet_id), None, via)
