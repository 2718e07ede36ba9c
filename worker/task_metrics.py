"""A worker's own Prometheus metrics: task latencies and delivery latency, as real Histograms.

Why here and not in the web server: a task's run time and a delivery's wait are known only in the
worker process that ran it, and a prefork worker runs tasks in pool children that come and go. So each
process records into prometheus_client's multiprocess mode (one file per process in a private directory
made at start-up) and the worker's main process serves the sum on its own port
(SYNDICATION_WORKER_METRICS_PORT, bound to SYNDICATION_WORKER_METRICS_HOST, loopback by default: the
separate port is the credential, and it serves nothing but metrics). Counts only grow, across child
restarts too, so `rate()` and `histogram_quantile()` read them right.

Labels come from closed sets: the task label is one of this worker's task names (anything else "other"),
the outcome one of success, retry, failure, other.

Import this module before anything else imports prometheus_client in a worker process (worker/tasks.py
does, first): multiprocess mode is chosen when prometheus_client is imported.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from typing import Any

from worker.settings import load_settings

log = logging.getLogger(__name__)
_SETTINGS = load_settings()
ENABLED = _SETTINGS.worker_metrics_port > 0
if ENABLED and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    # made by the main process at import, before the pool forks, so every child inherits the same one
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="syndication-worker-metrics-")

from celery.signals import task_postrun, task_prerun, worker_init, worker_process_shutdown, worker_shutdown  # noqa: E402
from prometheus_client import CollectorRegistry, Histogram, multiprocess, start_http_server  # noqa: E402

TASK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
DELIVERY_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 24 * 3600.0)
TASK_NAMES = frozenset({"syndication.schedule_polls", "syndication.poll_source", "syndication.ingest",
                        "syndication.deliver", "syndication.withdraw", "syndication.sweep"})
OUTCOMES = frozenset({"success", "retry", "failure"})

TASK_SECONDS = Histogram("syndication_task_seconds", "Run time of the worker's tasks, by task and outcome",
                         ["task", "outcome"], buckets=TASK_BUCKETS)
DELIVERY_LATENCY = Histogram(
    "syndication_delivery_latency_seconds",
    "Seconds from a delivery being planned (its ledger row) to the outlet having it, per delivery made",
    buckets=DELIVERY_BUCKETS)

_started: dict[str, float] = {}


def task_label(name: str | None) -> str:
    return name if name in TASK_NAMES else "other"


def outcome_label(state: str | None) -> str:
    value = (state or "").lower()
    return value if value in OUTCOMES else "other"


@task_prerun.connect(weak=False)
def _task_started(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@task_postrun.connect(weak=False)
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id or "", None)
    if started is not None:
        TASK_SECONDS.labels(task_label(getattr(task, "name", None)), outcome_label(state)).observe(
            time.perf_counter() - started)


def observe_delivery(planned_at: Any, delivered_at: Any) -> None:
    """One delivery made: its wait from planning to the outlet having it (never negative)."""
    if planned_at is not None and delivered_at is not None:
        DELIVERY_LATENCY.observe(max(0.0, (delivered_at - planned_at).total_seconds()))


@worker_init.connect(weak=False)
def _serve(**_: Any) -> None:
    """The main process serves the sum of every process's samples; started once, before the pool forks."""
    if not ENABLED:
        return
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    host, port = _SETTINGS.worker_metrics_host, _SETTINGS.worker_metrics_port
    start_http_server(port, addr=host, registry=registry)
    log.info("worker metrics at http://%s:%d/metrics", host, port)


@worker_process_shutdown.connect(weak=False)
def _process_gone(pid: int | None = None, **_: Any) -> None:
    if ENABLED:
        multiprocess.mark_process_dead(pid or os.getpid())


@worker_shutdown.connect(weak=False)
def _remove_directory(**_: Any) -> None:
    """The directory was made for this worker run alone (a new one each start, so counts restart with the
    worker as any process's counters do); it goes with it."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if ENABLED and os.path.basename(directory).startswith("syndication-worker-metrics-"):
        shutil.rmtree(directory, ignore_errors=True)
