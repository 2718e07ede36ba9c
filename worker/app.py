"""The Celery app: broker, queues, routes and the reliability settings every task relies on.

Reliability choices, and why:
- acks_late + reject_on_worker_lost: a task is acknowledged only after it finished, so a worker killed
  mid-task (SIGKILL, OOM, a lost machine) leaves the message to be delivered again, not lost.
- prefetch 1: a worker holds one message beyond the one it runs, so a crash strands at most that.
- visibility_timeout: with Redis, an unacknowledged message goes back to the queue only after this many
  seconds. It must exceed the longest task and the longest retry countdown (see README: Recovery).
- time limits (worker/flow/time_limits.py): every task that talks to peers has a soft limit derived from the
  HTTP deadlines, mapped to a transient failure (retried), and a hard limit shortly after it, so no slow
  peer pins a worker; they also make "the longest task" a known number to set visibility_timeout above.

Cost choices (bench/pipeline.py measured each): task events are off unless asked for (`syndicate worker
--events`; Flower turns them on by itself), since publishing them took about a third of a worker's main
process. Only an ingest records STARTED (an operator's import shows "running"), and only an ingest keeps a
result: a delivery's outcome lives on its ledger row, which is what every command and page reads.
"""
from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from worker.embedded_redis import running_embedded_url
from worker.logging_setup import install_celery_logging
from worker.settings import Settings, load_settings
from worker.flow.time_limits import task_annotations

#: `schedule` carries beat's tick alone: on the poll queue it waited behind the polls it had sent (up to
#: every source after a burst) and expired unrun
QUEUES = ("schedule", "poll", "ingest", "deliver")
#: one direct exchange; each queue is bound under its own name as routing key. Declared explicitly:
#: `Queue(name)` alone takes Celery's defaults (the default exchange and key, "ingest", for every
#: queue), so a message sent through the exchange by key landed in all the queues or in none.
EXCHANGE = Exchange("syndication", type="direct")
FALLBACK_REDIS_URL = "redis://127.0.0.1:6379/0"


def broker_url_for(settings: Settings) -> str:
    """REDIS_URL, else the private Redis a `syndicate worker` started, else the conventional local one."""
    return settings.redis_url or running_embedded_url(settings.var_dir) or FALLBACK_REDIS_URL


def beat_schedule(settings: Settings) -> dict[str, dict[str, object]]:
    schedule: dict[str, dict[str, object]] = {
        "schedule-polls": {
            "task": "syndication.schedule_polls",
            "schedule": float(settings.scheduler_tick),
            # a tick older than the next one is useless; don't let a backlog of them pile up
            "options": {"expires": float(settings.scheduler_tick)},
        },
    }
    if settings.sweep_interval > 0:
        # re-queues work the store shows unfinished (a restarted Redis forgets its queues): worker/flow/sweep.py
        schedule["sweep-stuck-work"] = {
            "task": "syndication.sweep",
            "schedule": float(settings.sweep_interval),
            "options": {"expires": float(settings.sweep_interval)},
        }
    return schedule


def create_app(settings: Settings | None = None) -> Celery:
    settings = settings or load_settings()
    url = broker_url_for(settings)
    celery_app = Celery("syndication", broker=url, backend=url, include=["worker.tasks"])
    transport: dict[str, object] = {
        "visibility_timeout": settings.visibility_timeout,
        # kombu sweeps for abandoned messages every interval*throttle seconds; throttle 1 makes the
        # interval the one knob (default kombu: 10 s * 10 = 100 s)
        "unacked_restore_interval": settings.restore_interval,
        "unacked_restore_throttle": 1,
    }
    if settings.redis_key_prefix:
        transport["global_keyprefix"] = settings.redis_key_prefix
    celery_app.conf.update(
        task_queues=[Queue(name, EXCHANGE, routing_key=name) for name in QUEUES],
        task_default_queue="ingest",
        task_default_exchange=EXCHANGE.name,
        task_default_exchange_type=EXCHANGE.type,
        task_default_routing_key="ingest",
        task_routes={
            "syndication.schedule_polls": {"queue": "schedule"},
            "syndication.poll_source": {"queue": "poll"},
            "syndication.ingest": {"queue": "ingest"},
            "syndication.deliver": {"queue": "deliver"},
            "syndication.withdraw": {"queue": "deliver"},
            "syndication.sweep": {"queue": "poll"},
        },
        beat_schedule=beat_schedule(settings),
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=False,  # the ingest task asks for it (worker/tasks.py)
        task_annotations=task_annotations(settings),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=7 * 24 * 3600,
        result_extended=True,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,  # `syndicate worker --events`, or Flower's enable_events
        task_send_sent_event=False,
        timezone="UTC",
    )
    return celery_app


app = create_app()
# JSON log lines carrying task, article, source and outlet ids (SYNDICATION_LOG_FORMAT=text to opt out)
install_celery_logging()
