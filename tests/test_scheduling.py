"""The poll schedule (worker/flow/schedule.py, worker/tasks.py) on a real Redis, with a fake clock where time
matters: any number of beats claim each source once per interval, the polls spread over the interval, a
config edit reaches the schedule within one tick and a broken one never stops it, one source's failure never
stops the others, and the tick has a queue of its own, so it never waits behind the polls it sends."""
from __future__ import annotations

import bisect
import logging
import os
import random
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kombu import Connection
from pytest_httpserver import HTTPServer

from tests.plugins.celery_worker import Deployment
from worker.app import QUEUES, create_app
from worker.config import DiscoverEntry, Source
from worker.flow.schedule import (
    JITTER_FRACTION,
    MAX_FAILURES_IN_A_ROW,
    MAX_JITTER_SECONDS,
    PollSchedule,
    SchedulePlan,
    dispatch_due,
    first_offset,
)
from worker.flow.services import Services
from worker.settings import load_settings
from worker.tasks import dispatch_due_polls

T0 = 2_000_000_000.0  # the fake clock's start (seconds since the epoch)
TICK = 15


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def source(source_id: str, interval: int = 900) -> Source:
    return Source(id=source_id, name=source_id.title(), allowed_domains=[f"{source_id}.example"], interval=interval,
                  discover=[DiscoverEntry(kind="feed", url=f"https://{source_id}.example/feed.xml")])


def jitter(interval: float) -> float:
    return min(interval * JITTER_FRACTION, MAX_JITTER_SECONDS)


def sources_yaml(entries: dict[str, int], manual: tuple[str, ...] = ()) -> str:
    """sources.yaml with one feed per source (interval by id); `manual` ones have no discover entries."""
    lines = ["sources:"]
    for source_id, interval in entries.items():
        lines.append(f"  - {{id: {source_id}, name: {source_id}, allowed_domains: [{source_id}.example], "
                     f"interval: {interval}, discover: [{{kind: feed, url: 'https://{source_id}.example/feed.xml'}}]}}")
    for source_id in manual:
        lines.append(f"  - {{id: {source_id}, name: {source_id}, allowed_domains: [{source_id}.example]}}")
    return "\n".join(lines) + "\n"


def write_sources(folder: Path, text: str) -> None:
    """Write sources.yaml and move its mtime on a second, so the edit shows even on a coarse clock."""
    path = folder / "sources.yaml"
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, max(stat.st_mtime_ns, before) + 10**9))


def services(folder: Path, redis_url: str, prefix: str, client: redis.Redis) -> Services:
    """One worker process's Services (its own config cache) on the shared Redis."""
    settings = load_settings({"CONFIG_DIR": str(folder), "REDIS_URL": redis_url,
                              "SYNDICATION_REDIS_KEY_PREFIX": prefix, "SYNDICATION_SCHEDULER_TICK": str(TICK),
                              "SYNDICATION_VAR_DIR": str(folder / "var")})
    return Services(settings, redis_client=client)


def max_in_window(times: list[float], width: float) -> int:
    """The most of `times` in any window [t, t + width) (sliding, not only at tick boundaries)."""
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered))


# --- two beats, a fake clock: each source once per interval, never twice ----------------------------------

def test_two_beats_claim_every_source_once_per_interval_and_none_twice(
    client: redis.Redis, redis_url: str, redis_key_prefix: str, tmp_path: Path
) -> None:
    rng = random.Random(18)
    # 300 sources: most with intervals of a few ticks, some shorter than a tick (10 s, the least allowed)
    intervals = {f"s{i:03d}": rng.choice([10, 20, 30, 45, 60, 90, 120, 300]) for i in range(300)}
    write_sources(tmp_path, sources_yaml(intervals))
    beats = [services(tmp_path, redis_url, redis_key_prefix, client) for _ in range(2)]  # two processes
    claims: dict[str, list[float]] = defaultdict(list)
    by_beat = [0, 0]
    # each beat ticks every 15 s give or take 2 s, the second a few seconds out of phase with the first
    ticks = sorted([(T0 + k * TICK + rng.uniform(-2, 2), 0) for k in range(80)]
                   + [(T0 + 6.3 + k * TICK + rng.uniform(-2, 2), 1) for k in range(80)])
    for now, beat in ticks:
        for source_id in dispatch_due_polls(beats[beat], lambda _: None, now=now):
            claims[source_id].append(now)
            by_beat[beat] += 1
    start, end = ticks[0][0], ticks[-1][0]
    widest_gap = max(b[0] - a[0] for a, b in zip(ticks, ticks[1:]))

    assert all(by_beat), by_beat  # both beats dispatched polls: the claims were shared, not one beat's
    for source_id, interval in intervals.items():
        times = claims[source_id]
        gaps = [b - a for a, b in zip(times, times[1:])]
        # none twice: a claim re-scores the source at least an interval less one tick ahead (the whole
        # interval when the interval is shorter than two ticks), less the jitter
        least = (interval - TICK if interval >= 2 * TICK else interval) - jitter(interval)
        assert all(gap >= least for gap in gaps), (source_id, interval, gaps)
        if interval >= 2 * TICK:
            # once per interval: never a slot skipped (the next due is an interval on; the next tick takes it)
            assert times and times[0] <= start + interval + widest_gap, (source_id, interval, times[:1])
            assert all(gap <= interval + jitter(interval) + widest_gap for gap in gaps), (source_id, interval, gaps)
            assert end - times[-1] <= interval + jitter(interval) + widest_gap, (source_id, interval, times[-1])
        else:  # a tick may come after the next due time: the one after it is taken (the old SET EX rhythm)
            assert times and all(gap <= 2 * interval + jitter(interval) + widest_gap for gap in gaps), \
                (source_id, interval, gaps)


# --- spread over the interval -------------------------------------------------------------------------------

def test_ten_thousand_sources_at_900_s_spread_so_no_15_s_window_holds_3x_the_mean(
    client: redis.Redis, redis_key_prefix: str
) -> None:
    interval, count = 900, 10_000
    mean = count * TICK / interval
    plan = SchedulePlan.of(source(f"partner-{i:05d}", interval) for i in range(count))
    schedule = PollSchedule(client, redis_key_prefix, TICK)
    schedule.sync(plan, T0)
    first = schedule.due_times()
    assert len(first) == count
    assert all(T0 <= due < T0 + interval for due in first.values())
    assert max_in_window(list(first.values()), TICK) <= 3 * mean

    # one interval of ticks: what they claim per tick is what the first due times promised, and the
    # next due times they leave are spread as evenly (each source keeps its phase)
    claimed: set[str] = set()
    claimed_per_tick = []
    for k in range(1, 61):
        ids = dispatch_due(schedule, plan, T0 + k * TICK, lambda _: None)
        claimed.update(ids)
        claimed_per_tick.append(len(ids))
    assert len(claimed) == count
    assert max(claimed_per_tick) <= 3 * mean
    second = schedule.due_times()
    assert all(T0 + interval - jitter(interval) <= due < T0 + 2 * interval + jitter(interval) for due in second.values())
    assert max_in_window(list(second.values()), TICK) <= 3 * mean

    # an outage of three intervals: the first tick after it takes every source (missed polls are not made
    # up), and they stay spread: no burst of all of them one interval later, each keeps its phase
    back = T0 + 5 * interval
    assert len(dispatch_due(schedule, plan, back, lambda _: None)) == count
    after = schedule.due_times()
    least = back + interval - TICK - jitter(interval)
    assert all(least <= due <= least + interval + 2 * jitter(interval) for due in after.values())
    assert max_in_window(list(after.values()), TICK) <= 3 * mean


def test_the_first_due_time_of_a_source_is_stable_and_within_its_interval() -> None:
    assert first_offset("theepochtimes", 900) == first_offset("theepochtimes", 900)
    offsets = [first_offset(f"partner-{i}", 900) for i in range(1000)]
    assert all(0 <= offset < 900 for offset in offsets)
    assert len({round(offset) for offset in offsets}) > 500  # spread, not a handful of values


# --- the config and the schedule ----------------------------------------------------------------------------

def test_a_config_edit_reaches_the_schedule_within_one_tick_and_an_unchanged_one_is_not_synced(
    client: redis.Redis, redis_url: str, redis_key_prefix: str, tmp_path: Path
) -> None:
    write_sources(tmp_path, sources_yaml({"kept": 900, "dropped": 900, "changed": 3600}, manual=("byhand",)))
    svc = services(tmp_path, redis_url, redis_key_prefix, client)
    schedule = PollSchedule(client, redis_key_prefix, TICK)
    dispatch_due_polls(svc, lambda _: None, now=T0)
    due = schedule.due_times()
    assert set(due) == {"kept", "dropped", "changed"}  # a source without discover entries is not scheduled
    assert due["changed"] == T0 + first_offset("changed", 3600)

    # an unchanged config is not synced again: a tick leaves even a wrong interval in Redis as it is
    client.hset(schedule.intervals_key, "kept", 12345)
    dispatch_due_polls(svc, lambda _: None, now=T0 + TICK)
    assert client.hget(schedule.intervals_key, "kept") == b"12345"
    client.hset(schedule.intervals_key, "kept", 900)

    write_sources(tmp_path, sources_yaml({"kept": 900, "changed": 60, "added": 900}, manual=("byhand",)))
    now = T0 + 2 * TICK
    dispatch_due_polls(svc, lambda _: None, now=now)
    after = schedule.due_times()
    assert set(after) == {"kept", "changed", "added"}
    assert client.hgetall(schedule.intervals_key) == {b"kept": b"900", b"changed": b"60", b"added": b"900"}
    assert after["kept"] == due["kept"]  # untouched
    assert after["added"] == now + first_offset("added", 900)
    assert now < after["changed"] <= now + 60  # no longer up to an hour away

    # a source that loses its discover entries leaves the schedule; one that gains them joins it
    write_sources(tmp_path, sources_yaml({"changed": 60, "added": 900, "byhand": 900}, manual=("kept",)))
    dispatch_due_polls(svc, lambda _: None, now=now + TICK)
    assert set(schedule.due_times()) == {"changed", "added", "byhand"}


def test_a_schedule_redis_lost_is_rebuilt_on_the_next_tick(
    client: redis.Redis, redis_url: str, redis_key_prefix: str, tmp_path: Path
) -> None:
    write_sources(tmp_path, sources_yaml({"first": 60, "second": 60}))
    svc = services(tmp_path, redis_url, redis_key_prefix, client)
    schedule = PollSchedule(client, redis_key_prefix, TICK)
    dispatch_due_polls(svc, lambda _: None, now=T0)
    client.zrem(schedule.due_key, "second")  # evicted, or a restarted Redis without its data
    dispatch_due_polls(svc, lambda _: None, now=T0 + 1)
    assert set(schedule.due_times()) == {"first", "second"}
    client.delete(schedule.due_key, schedule.intervals_key, schedule.fingerprint_key)
    dispatch_due_polls(svc, lambda _: None, now=T0 + 2)
    assert set(schedule.due_times()) == {"first", "second"}


def test_a_broken_live_edit_keeps_the_last_good_configs_schedule(
    client: redis.Redis, redis_url: str, redis_key_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_sources(tmp_path, sources_yaml({"first": 60, "second": 60}))
    svc = services(tmp_path, redis_url, redis_key_prefix, client)
    schedule = PollSchedule(client, redis_key_prefix, TICK)
    dispatched: list[str] = []
    dispatch_due_polls(svc, dispatched.append, now=T0)
    good = schedule.due_times()
    fingerprint = client.get(schedule.fingerprint_key)

    # an operator's edit, half done: the tick goes on with the schedule it had
    sources_path = tmp_path / "sources.yaml"
    write_sources(tmp_path, sources_path.read_text().replace("interval: 60", "interval: 1", 1)
                  .replace("  - {id: second", "  - {id: third"))
    with caplog.at_level(logging.ERROR, logger="worker.flow.services"):
        dispatch_due_polls(svc, dispatched.append, now=T0 + 1)
    assert "keeping the last good config" in caplog.text
    assert f"{sources_path}, line 2" in caplog.text
    assert schedule.due_times() == good
    assert client.get(schedule.fingerprint_key) == fingerprint
    # and it still dispatches what falls due, with the good intervals
    assert sorted(dispatch_due_polls(svc, dispatched.append, now=T0 + 60)) == ["first", "second"]
    least = T0 + 60 + 60 - TICK - jitter(60)  # claimed late: the next due is its first slot an interval on
    assert all(least <= due <= least + 60 + 2 * jitter(60) for due in schedule.due_times().values())


def test_a_worker_that_never_had_a_good_config_schedules_nothing(
    client: redis.Redis, redis_url: str, redis_key_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_sources(tmp_path, "sources:\n  - {id: broken, interval: 1}\n")
    svc = services(tmp_path, redis_url, redis_key_prefix, client)
    with caplog.at_level(logging.ERROR, logger="worker.tasks"):
        assert dispatch_due_polls(svc, lambda _: None, now=T0) == []
    assert "the config has never loaded" in caplog.text
    assert not client.exists(PollSchedule(client, redis_key_prefix).due_key)


# --- failure isolation --------------------------------------------------------------------------------------

def test_a_failed_dispatch_skips_only_that_source_and_gives_its_claim_back(
    client: redis.Redis, redis_key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    plan = SchedulePlan.of([source("flaky", 60), source("steady", 60)])
    schedule = PollSchedule(client, redis_key_prefix, TICK)
    schedule.sync(plan, T0 - 60)  # both due now
    claimed_at = schedule.due_times()
    dispatched: list[str] = []

    def dispatch(source_id: str) -> None:
        if source_id == "flaky":
            raise RuntimeError("the message could not be sent")
        dispatched.append(source_id)

    with caplog.at_level(logging.ERROR, logger="worker.flow.schedule"):
        assert dispatch_due(schedule, plan, T0, dispatch) == ["steady"]
    assert "'flaky'" in caplog.text
    # its claim was given back: due when it was, so the next tick dispatches it instead of waiting an interval
    after = schedule.due_times()
    assert after["flaky"] == claimed_at["flaky"]
    assert after["steady"] > T0
    assert dispatch_due(schedule, plan, T0 + 1, dispatched.append) == ["flaky"]
    assert dispatch_due(schedule, plan, T0 + 2, dispatched.append) == []


def test_dispatches_failing_in_a_row_end_the_tick_and_give_every_claim_back(
    client: redis.Redis, redis_key_prefix: str
) -> None:
    plan = SchedulePlan.of(source(f"s{i:02d}", 60) for i in range(20))
    schedule = PollSchedule(client, redis_key_prefix, TICK)
    schedule.sync(plan, T0 - 60)
    before = schedule.due_times()
    attempts: list[str] = []

    def broker_away(source_id: str) -> None:
        attempts.append(source_id)
        raise ConnectionError("the broker is away")

    with pytest.raises(ConnectionError):
        dispatch_due(schedule, plan, T0, broker_away)
    assert len(attempts) == MAX_FAILURES_IN_A_ROW  # not one attempt (and its retries) per source
    assert schedule.due_times() == before
    assert len(dispatch_due(schedule, plan, T0 + 1, lambda _: None)) == 20


def test_an_unreachable_redis_still_fails_the_tick(redis_key_prefix: str) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=2)
    schedule = PollSchedule(unreachable, redis_key_prefix, TICK)
    with pytest.raises(redis.ConnectionError):
        dispatch_due(schedule, SchedulePlan.of([source("first")]), T0, lambda _: None)


def test_a_poll_run_by_hand_moves_the_next_scheduled_one_an_interval_away(
    client: redis.Redis, redis_key_prefix: str
) -> None:
    plan = SchedulePlan.of([source("partner", 900)])
    schedule = PollSchedule(client, redis_key_prefix, TICK)
    schedule.sync(plan, T0 - 900)
    schedule.restart("partner", 900, now=T0)
    assert schedule.due_times() == {"partner": T0 + 900}
    assert dispatch_due(schedule, plan, T0 + 899, lambda _: None) == []
    assert dispatch_due(schedule, plan, T0 + 900, lambda _: None) == ["partner"]
    schedule.restart("unknown", 900, now=T0)  # not scheduled: left to the sync, not added
    assert "unknown" not in schedule.due_times()


# --- the tick's own queue -----------------------------------------------------------------------------------

def test_the_tick_is_routed_to_the_schedule_queue_by_its_routing_key(redis_url: str, redis_key_prefix: str) -> None:
    app = create_app(load_settings({"REDIS_URL": redis_url, "SYNDICATION_REDIS_KEY_PREFIX": redis_key_prefix}))
    route = app.amqp.router.route({}, "syndication.schedule_polls")
    assert route["queue"].name == "schedule" and route["queue"].routing_key == "schedule"
    assert app.amqp.router.route({}, "syndication.poll_source")["queue"].name == "poll"
    with Connection(redis_url, transport_options=app.conf.broker_transport_options) as connection:
        channel = connection.channel()
        bound = {name: queue(channel) for name, queue in app.amqp.queues.items()}
        for queue in bound.values():
            queue.declare()
        app.send_task("syndication.schedule_polls")
        taken: dict[str, list[str]] = {name: [] for name in QUEUES}
        for name, queue in bound.items():
            while (message := queue.get(no_ack=True)) is not None:
                taken[name].append(message.delivery_info["routing_key"])
    assert taken == {name: (["schedule"] if name == "schedule" else []) for name in QUEUES}


def test_a_worker_takes_the_tick_before_the_polls_queued_ahead_of_it_and_runs_its_poll(
    deployment: Deployment, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>",
        content_type="application/rss+xml")
    deployment.write_config(sources_yaml=(
        "sources:\n  - id: partner\n    name: Partner\n    allowed_domains: [127.0.0.1, localhost]\n"
        "    allow_private_networks: [127.0.0.1/8, '::1']\n    ignore_robots: true\n"
        "    ignore_robots_reason: a test partner on loopback\n    interval: 900\n"
        f"    discover: [{{kind: feed, url: '{httpserver.url_for('/feed.xml')}'}}]\n"))
    app = deployment.app()
    settings = load_settings(deployment.env())
    client = redis.Redis.from_url(deployment.redis_url)
    # the schedule as an earlier tick left it, the partner due now
    svc = Services(settings, redis_client=client)
    PollSchedule(client, settings.redis_key_prefix, TICK).sync(SchedulePlan.of(svc.config.sources.values()),
                                                               time.time() - 900)
    ahead = 30
    for _ in range(ahead):  # a backlog of polls (of a source no longer configured: each ends at once)
        app.send_task("syndication.poll_source", ("gone",))
    app.send_task("syndication.schedule_polls")
    deployment.start_worker(concurrency=1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(r.path == "/feed.xml" for r, _ in httpserver.log):
        time.sleep(0.2)
    assert any(r.path == "/feed.xml" for r, _ in httpserver.log), deployment.worker_log(0)[-3000:]
    received = [("tick" if "schedule_polls" in line else "poll")
                for line in deployment.worker_log(0).splitlines() if "received" in line and "syndication." in line]
    assert "tick" in received, received
    # the tick waited behind at most a poll or two (the worker's round robin over its queues), not all 30
    assert received.index("tick") <= 3, received
    client.close()
