"""Celery soft and hard time limits for the tasks that talk to peers, derived from the HTTP deadlines.

Why both kinds of bound: a request deadline (worker/http/deadline.py) bounds one request, but a task makes
several (a poll reads feeds and sitemaps, a WordPress delivery a dozen REST calls and an image), and some
waits have no deadline at all (a DNS lookup, a bug). The task limits are the backstop that frees the
worker whatever happened. The soft limit raises SoftTimeLimitExceeded inside the task, which tasks.py
turns into TaskTimeLimitError, a named transient failure: retried with backoff, counted against the retry
budget, recorded as given up when it is spent, never silently lost. The hard limit, GRACE seconds later,
ends the pool process if the task does not stop at the soft one.

Each soft limit is the time its requests may take at their deadlines plus SLACK for the work between
them (parsing, extraction, the store). SYNDICATION_TASK_SOFT_TIME_LIMIT, when set, replaces all of them.
Celery enforces time limits in the prefork pool (the default of `syndicate worker`), not in solo or threads.
"""
from __future__ import annotations

from worker.settings import Settings

#: seconds between the soft limit and the hard one: time to record the failure and queue the retry
GRACE = 30
#: seconds beyond the requests' own deadlines for the work between them
SLACK = 60
#: full-deadline fetches a poll is allowed: a few feeds, a sitemap index and its files
POLL_FETCHES = 10
#: full-deadline requests a delivery or withdrawal is allowed (each outlet request and the featured image)
DELIVERY_REQUESTS = 5

PEER_TASKS = ("syndication.poll_source", "syndication.ingest", "syndication.deliver", "syndication.withdraw")


def soft_limits(settings: Settings) -> dict[str, int]:
    """Task name -> soft time limit in seconds."""
    if settings.task_soft_time_limit > 0:
        return {name: settings.task_soft_time_limit for name in PEER_TASKS}
    fetch = settings.fetch_total_timeout
    delivery = DELIVERY_REQUESTS * fetch + SLACK
    return {
        "syndication.poll_source": POLL_FETCHES * fetch + SLACK,
        # one page: its redirects, robots.txt and rate-limit wait all spend the one fetch deadline; then
        # the version's images, all of them within one budget of the same length (worker/flow/images.py)
        "syndication.ingest": 2 * fetch + SLACK,
        "syndication.deliver": delivery,
        "syndication.withdraw": delivery,
    }


def task_annotations(settings: Settings) -> dict[str, dict[str, int]]:
    """Celery's task_annotations setting: soft_time_limit and time_limit for each peer task."""
    return {name: {"soft_time_limit": soft, "time_limit": soft + GRACE}
            for name, soft in soft_limits(settings).items()}
