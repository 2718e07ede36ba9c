"""Which sources are due for a poll, decided so that any number of beat processes dispatch each poll once.

Why not one beat entry per source: Celery beat reads its schedule at start, so a new source or a changed
`interval` would need a beat restart, and two beats (a second one started by mistake, or a rolling
deploy) would both send every poll. Instead beat sends one small `schedule_polls` tick every few
seconds; the tick re-reads sources.yaml and claims each due source with a Redis `SET NX EX interval`.
Only the first claim in an interval succeeds, whichever beat or worker made it.

One source's bad state never stops the tick for the others: a claim or a dispatch that fails for one
source (Redis refusing its key or its expiry, a dispatch error) is logged naming the source, and the
tick goes on with the sources after it. Only a Redis that cannot be reached at all ends the tick, since
no other source could be claimed either; the next tick tries again.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import redis

from worker.config import Source

log = logging.getLogger(__name__)


def poll_due_key(prefix: str, source_id: str) -> str:
    return f"{prefix}syndication:poll-due:{source_id}"


def poll_lock_key(prefix: str, source_id: str) -> str:
    return f"{prefix}syndication:poll-lock:{source_id}"


def claim_due_sources(
    client: redis.Redis, prefix: str, sources: Iterable[Source], dispatch: Callable[[str], None]
) -> list[str]:
    """Dispatch a poll for every source whose interval has passed since its last dispatch; return their ids.

    A source whose claim or dispatch fails is logged and skipped (its claim, if made, is given back so
    the next tick tries it again); the others are still claimed and dispatched.
    """
    dispatched = []
    for source in sources:
        if not source.discover:
            continue  # a source without discovery entries is imported by hand only
        key = poll_due_key(prefix, source.id)
        claimed = False
        try:
            claimed = bool(client.set(key, "1", nx=True, ex=source.interval))
            if claimed:
                dispatch(source.id)
                dispatched.append(source.id)
        except (redis.ConnectionError, redis.TimeoutError):
            raise  # Redis itself is away: no source can be claimed this tick
        except Exception:
            log.exception("scheduling source %r failed; the other sources are still scheduled", source.id)
            if claimed:
                _give_back(client, key, source.id)
    return dispatched


def _give_back(client: redis.Redis, key: str, source_id: str) -> None:
    """Drop a claim whose dispatch failed, so the next tick retries the poll instead of waiting an interval."""
    try:
        client.delete(key)
    except redis.RedisError:
        log.warning("could not release the poll claim of %r; it polls after its interval", source_id)


def restart_interval(client: redis.Redis, prefix: str, source: Source) -> None:
    """After a poll run by hand (`syndicate poll`, the Run Now button) the next scheduled one is an interval away."""
    client.set(poll_due_key(prefix, source.id), "1", ex=source.interval)
