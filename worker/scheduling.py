"""Which sources are due for a poll, decided so that any number of beat processes dispatch each poll once.

Why not one beat entry per source: Celery beat reads its schedule at start, so a new source or a changed
`interval` would need a beat restart, and two beats (a second one started by mistake, or a rolling
deploy) would both send every poll. Instead beat sends one small `schedule_polls` tick every few
seconds; the tick re-reads sources.yaml and claims each due source with a Redis `SET NX EX interval`.
Only the first claim in an interval succeeds, whichever beat or worker made it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import redis

from worker.config import Source


def poll_due_key(prefix: str, source_id: str) -> str:
    return f"{prefix}syndication:poll-due:{source_id}"


def poll_lock_key(prefix: str, source_id: str) -> str:
    return f"{prefix}syndication:poll-lock:{source_id}"


def claim_due_sources(
    client: redis.Redis, prefix: str, sources: Iterable[Source], dispatch: Callable[[str], None]
) -> list[str]:
    """Dispatch a poll for every source whose interval has passed since its last dispatch; return their ids."""
    dispatched = []
    for source in sources:
        if not source.discover:
            continue  # a source without discovery entries is imported by hand only
        if client.set(poll_due_key(prefix, source.id), "1", nx=True, ex=source.interval):
            dispatch(source.id)
            dispatched.append(source.id)
    return dispatched


def restart_interval(client: redis.Redis, prefix: str, source: Source) -> None:
    """After a poll run by hand (`syndicate poll`, the Run Now button) the next scheduled one is an interval away."""
    client.set(poll_due_key(prefix, source.id), "1", ex=source.interval)
