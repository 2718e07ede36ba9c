"""Which sources are due for a poll: a schedule in Redis whose cost per tick follows the sources due.

Why a sorted set: beat sends one small `schedule_polls` tick every SYNDICATION_SCHEDULER_TICK seconds, and
any number of beats may run (a second one by mistake, two during a rolling deploy). The old tick claimed
every configured source with its own `SET NX EX interval` each time, so its cost grew with the sources
configured (10,000 commands a tick at 10,000 sources, due or not), and the claims of one tick all expired
together, so polls came in bursts of everything. Now each pollable source is a member of one sorted set
per key prefix, scored by its next due time, and a tick runs one Lua script (CLAIM_SCRIPT) that takes the
members with score <= now (at most a batch) and re-scores each to its next due time, atomically: whichever
beat's tick runs it first gets the claim; no other tick can see that source due until its next time.

Spread: a source's first due time is now + a stable offset (a hash of its id modulo its interval), and each
next one is the previous due time + interval (+ a jitter of at most JITTER_FRACTION of the interval, either
way), so the schedule keeps each source's phase: load stays even across the interval, and neither a worker
restart (nothing is re-scored) nor an outage (missed polls are skipped, not queued, and the phase is kept)
lines them up. A claim never re-scores a source nearer than `min_gap` ahead (interval less one tick, or the
whole interval for intervals shorter than two ticks), so however late or frequent the ticks of several
beats are, a source is polled once per interval, never twice.

The set is synced with the config only when the config changes: the tick passes a fingerprint of what the
schedule depends on (each pollable source's id and interval, and which sources have discovery entries) and
the member count to the script, which refuses to claim when Redis holds another fingerprint (an edit, a
first start, a Redis that lost its data) or another count (a key evicted). Then `sync` adds new sources,
drops removed ones and re-scores those whose interval changed, in one transaction, and stores the new
fingerprint. The intervals live in a hash beside the set, so a claim needs no config at all.

Failure isolation as before: a dispatch that fails for one source is logged naming it and its claim is given
back (its due time restored, so the next tick tries it again); the tick goes on with the others. Several
failures in a row mean the broker itself is away: the rest of the claims are given back and the tick ends.
Only a Redis that cannot be reached ends a tick at once, since nothing could be claimed.
"""
from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import redis

from worker.config import Config, Source

log = logging.getLogger(__name__)

#: members one claim script takes at most (a script blocks Redis while it runs: about a millisecond a batch)
CLAIM_BATCH = 1000
#: polls one tick sends at most; more due means the schedule is behind (an outage), and the rest wait a tick
MAX_CLAIMS_PER_TICK = 20_000
#: jitter of each next due time, as a share of the interval, either way, and its ceiling in seconds
JITTER_FRACTION = 0.01
MAX_JITTER_SECONDS = 10.0
#: dispatch failures in a row after which the broker is taken to be away and the tick ends
MAX_FAILURES_IN_A_ROW = 5
#: a sync (an edit of 100,000 sources) is done well within this; another tick does not start one meanwhile
SYNC_LOCK_SECONDS = 120
_CHUNK = 1000

# KEYS: due (sorted set), intervals (hash), fingerprint (string)
# ARGV: now, batch, tick, jitter fraction, max jitter, seed in [0, 1), fingerprint ('' = no check), count
# Returns {1, id, previous due, ...} (claimed), or {0} when the schedule is not that of the caller's config.
CLAIM_SCRIPT = """
if ARGV[7] ~= '' then
  if redis.call('GET', KEYS[3]) ~= ARGV[7] or redis.call('ZCARD', KEYS[1]) ~= tonumber(ARGV[8]) then
    return {0}
  end
end
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local result = {1}
if #due == 0 then return result end
local ids = {}
for i = 1, #due, 2 do ids[#ids + 1] = due[i] end
local intervals = redis.call('HMGET', KEYS[2], unpack(ids))
local tick, fraction, max_jitter, seed = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local rescore = {}
for i, id in ipairs(ids) do
  local interval = tonumber(intervals[i])
  if interval and interval > 0 then
    local previous = tonumber(due[2 * i])
    local min_gap = interval
    if interval >= 2 * tick then min_gap = interval - tick end
    local steps = math.max(1, math.ceil((now + min_gap - previous) / interval))
    -- a low-discrepancy sequence from the caller's seed: scripts must not call math.random themselves
    local spread = ((seed + i * 0.6180339887498949) % 1) * 2 - 1
    local nxt = previous + steps * interval + spread * math.min(interval * fraction, max_jitter)
    rescore[#rescore + 1] = nxt
    rescore[#rescore + 1] = id
    result[#result + 1] = id
    result[#result + 1] = due[2 * i]
  else
    redis.call('ZREM', KEYS[1], id)  -- no interval: not synced; the count check brings it back
  end
end
if #rescore > 0 then redis.call('ZADD', KEYS[1], unpack(rescore)) end
return result
"""


def poll_lock_key(prefix: str, source_id: str) -> str:
    return f"{prefix}syndication:poll-lock:{source_id}"


def first_offset(source_id: str, interval: int) -> float:
    """Seconds after a sync at which a new source is first due: stable per source, spread over its interval."""
    digest = int.from_bytes(hashlib.blake2b(source_id.encode(), digest_size=8).digest(), "big")
    return (digest % (interval * 1000)) / 1000


@dataclass(frozen=True)
class SchedulePlan:
    """What the schedule depends on in a config: each pollable source's interval, and their fingerprint."""

    intervals: Mapping[str, int]
    fingerprint: str

    @classmethod
    def of(cls, sources: Iterable[Source]) -> SchedulePlan:
        digest = hashlib.sha256()
        intervals: dict[str, int] = {}
        for source in sorted(sources, key=lambda s: s.id):
            digest.update(f"{source.id}\0{source.interval}\0{int(bool(source.discover))}\n".encode())
            if source.discover:  # a source without discovery entries is imported by hand only
                intervals[source.id] = source.interval
        return cls(intervals, digest.hexdigest())


_last_plan: tuple[Config, SchedulePlan] | None = None


def plan_for(config: Config) -> SchedulePlan:
    """The plan of `config`, computed once per config object: the Services' config cache hands a tick the
    same object until an edit, so a tick costs no walk over every source."""
    global _last_plan
    if _last_plan is None or _last_plan[0] is not config:
        _last_plan = (config, SchedulePlan.of(config.sources.values()))
    return _last_plan[1]


@dataclass(frozen=True)
class Claim:
    source_id: str
    #: the due time it was claimed at, as Redis holds it (restored exactly when the claim is given back)
    due: str


@dataclass(frozen=True)
class SyncReport:
    added: int
    removed: int
    rescheduled: int


class PollSchedule:
    """One key prefix's poll schedule in Redis: the due set, the intervals beside it, the fingerprint."""

    def __init__(self, client: redis.Redis, prefix: str, tick: float = 15.0) -> None:
        self.client = client
        self.tick = float(tick)
        base = f"{prefix}syndication:schedule"
        self.due_key, self.intervals_key = f"{base}:due", f"{base}:intervals"
        self.fingerprint_key, self.sync_lock_key = f"{base}:fingerprint", f"{base}:sync-lock"
        self._claim = client.register_script(CLAIM_SCRIPT)

    # --- claiming -----------------------------------------------------------------------------------

    def claim(self, now: float, plan: SchedulePlan | None, limit: int = CLAIM_BATCH) -> list[Claim] | None:
        """Take up to `limit` due sources and move each to its next due time; None when `plan` is given
        and the schedule is not in step with it (sync first). plan None: claim from the schedule as it is."""
        fingerprint, count = (plan.fingerprint, len(plan.intervals)) if plan is not None else ("", 0)
        reply = self._claim(keys=[self.due_key, self.intervals_key, self.fingerprint_key],
                            args=[repr(float(now)), limit, self.tick, JITTER_FRACTION, MAX_JITTER_SECONDS,
                                  random.random(), fingerprint, count])
        if not reply or int(reply[0]) == 0:
            return None
        return [Claim(_text(reply[i]), _text(reply[i + 1])) for i in range(1, len(reply), 2)]

    def give_back(self, claims: Sequence[Claim]) -> None:
        """Make claimed sources due again at the time they were claimed at (the next tick takes them)."""
        with self.client.pipeline(transaction=False) as pipe:
            for claim in claims:
                pipe.zadd(self.due_key, {claim.source_id: claim.due}, xx=True)
            pipe.execute()

    def restart(self, source_id: str, interval: int, now: float | None = None) -> None:
        """Next due an interval from now (after a poll run by hand); a source not yet scheduled is left to the sync."""
        self.client.zadd(self.due_key, {source_id: (time.time() if now is None else now) + interval}, xx=True)

    # --- keeping it in step with the config ----------------------------------------------------------

    def sync(self, plan: SchedulePlan, now: float) -> SyncReport | None:
        """Bring the schedule in step with `plan`; None when another tick is doing it right now."""
        lock = self.client.lock(self.sync_lock_key, timeout=SYNC_LOCK_SECONDS, blocking_timeout=0)
        if not lock.acquire():
            return None
        try:
            return self._sync(plan, now)
        finally:
            try:
                lock.release()
            except redis.exceptions.LockError:
                log.warning("the schedule's sync lock expired before the sync ended")

    def _sync(self, plan: SchedulePlan, now: float) -> SyncReport:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.intervals_key)
            pipe.zrange(self.due_key, 0, -1)
            stored_raw, members_raw = pipe.execute()
        stored = {_text(k): int(v) for k, v in stored_raw.items()}
        members = {_text(m) for m in members_raw}
        wanted = plan.intervals
        added = [source_id for source_id in wanted if source_id not in members]
        removed = sorted((members | set(stored)) - set(wanted))
        changed = [source_id for source_id in wanted
                   if source_id in members and stored.get(source_id, wanted[source_id]) != wanted[source_id]]
        rescored = self._rescored(changed, stored, wanted, now)
        intervals = {source_id: interval for source_id, interval in wanted.items() if stored.get(source_id) != interval}
        with self.client.pipeline(transaction=True) as pipe:
            for chunk in _chunks(added):
                pipe.zadd(self.due_key, {s: now + first_offset(s, wanted[s]) for s in chunk}, nx=True)
            for chunk in _chunks(removed):
                pipe.zrem(self.due_key, *chunk)
                pipe.hdel(self.intervals_key, *chunk)
            for chunk in _chunks(list(intervals)):
                pipe.hset(self.intervals_key, mapping={s: intervals[s] for s in chunk})
            for chunk in _chunks(list(rescored)):
                pipe.zadd(self.due_key, {s: rescored[s] for s in chunk}, xx=True)
            pipe.set(self.fingerprint_key, plan.fingerprint)
            pipe.execute()
        report = SyncReport(len(added), len(removed), len(rescored))
        log.info("poll schedule synced with the config: %d sources added, %d removed, %d re-scheduled "
                 "(%d scheduled)", report.added, report.removed, report.rescheduled, len(wanted))
        return report

    def _rescored(self, changed: list[str], stored: Mapping[str, int], wanted: Mapping[str, int],
                  now: float) -> dict[str, float]:
        """A changed interval counts from the last poll (due - old interval): next = last + new interval,
        or, if that is past already, now + the source's offset in the new interval (no burst of them)."""
        rescored: dict[str, float] = {}
        for chunk in _chunks(changed):
            for source_id, due in zip(chunk, self.client.zmscore(self.due_key, chunk)):
                if due is None:
                    continue
                candidate = float(due) - stored[source_id] + wanted[source_id]
                if candidate <= now:
                    candidate = now + first_offset(source_id, wanted[source_id])
                rescored[source_id] = candidate
        return rescored

    # --- reading it (tests, the bench) --------------------------------------------------------------

    def due_times(self) -> dict[str, float]:
        return {_text(m): float(s) for m, s in self.client.zrange(self.due_key, 0, -1, withscores=True)}


def dispatch_due(schedule: PollSchedule, plan: SchedulePlan, now: float,
                 dispatch: Callable[[str], object]) -> list[str]:
    """One tick: sync the schedule if the config changed, claim what is due (in batches) and dispatch each;
    return the source ids dispatched. A failed dispatch gives that claim back and the tick goes on."""
    claims = schedule.claim(now, plan)
    if claims is None:
        if schedule.sync(plan, now) is None:
            log.info("another tick is syncing the poll schedule; claiming from it as it stands")
        claims = schedule.claim(now, None)
        assert claims is not None
    dispatched: list[str] = []
    taken = 0
    while True:
        taken += len(claims)
        dispatched += _dispatch_batch(schedule, claims, dispatch)
        if len(claims) < CLAIM_BATCH:
            break
        if taken >= MAX_CLAIMS_PER_TICK:
            log.warning("%d polls claimed this tick, the most one tick sends; the rest are due and wait for the "
                        "next (after an outage, or more sources due per tick than that)", taken)
            break
        claims = schedule.claim(now, None) or []
    return dispatched


def _dispatch_batch(schedule: PollSchedule, claims: list[Claim], dispatch: Callable[[str], object]) -> list[str]:
    sent: list[str] = []
    failed: list[Claim] = []
    in_a_row = 0
    for index, claim in enumerate(claims):
        try:
            dispatch(claim.source_id)
        except Exception:
            log.exception("dispatching the poll of source %r failed; the other sources are still scheduled",
                          claim.source_id)
            failed.append(claim)
            in_a_row += 1
            if in_a_row >= MAX_FAILURES_IN_A_ROW:
                rest = claims[index + 1:]
                log.error("%d dispatches failed in a row: the broker looks away; %d more claims given back, "
                          "tick ended", in_a_row, len(rest))
                _give_back(schedule, failed + rest)
                raise
            continue
        in_a_row = 0
        sent.append(claim.source_id)
    _give_back(schedule, failed)
    return sent


def _give_back(schedule: PollSchedule, claims: list[Claim]) -> None:
    if not claims:
        return
    try:
        schedule.give_back(claims)
    except redis.RedisError:
        log.warning("could not give back the poll claims of %s; they poll after their interval",
                    ", ".join(repr(c.source_id) for c in claims[:10]))


def restart_interval(client: redis.Redis, prefix: str, source: Source) -> None:
    """After a poll run by hand (`syndicate poll`, the Run Now button) the next scheduled one is an interval away."""
    PollSchedule(client, prefix).restart(source.id, source.interval)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
