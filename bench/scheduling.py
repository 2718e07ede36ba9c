#!/usr/bin/env python3
"""The poll scheduler at 1,000 to 100,000 sources: what beat's tick costs, on a real Redis.

    python bench/scheduling.py [--sources 1000,10000,100000] [--interval 900] [--tick 15] [--due-share 0.1]

Per N, in a process of its own (so its RSS is its own): N generated sources, one feed each on a loopback
name (feed-000001.localhost) that is never fetched (no worker runs: the polls the ticks send are counted
and dropped from the queue), and a real Redis (REDIS_URL, else a private one from worker.embedded_redis).
It prints `syndicate check`'s time (a subprocess, as an operator runs it), the config load in process, the
RSS holding the config, the first tick (config read, schedule synced), a tick with nothing due (a second
beat's tick at the same moment), the steady tick (one interval's worth of ticks on a fake clock, the
polls really sent through the broker), a tick with a share of the sources due (after an outage), the
Redis commands of each (INFO commandstats deltas, by command), how evenly the polls fall into 15 s
windows (max/mean), two beats ticking for ten fake minutes (every source claimed once per interval,
none twice), and, in a line of its own, the steady tick's share of one core at the interval given:
its mean wall time (Redis round trips included) over the tick period. Figures only, no asserts.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

T0 = 2_000_000_000.0  # the fake clock's start


def write_config(folder: Path, count: int, interval: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "sources.yaml").open("w", encoding="utf-8") as out:
        out.write("sources:\n")
        for number in range(1, count + 1):
            host = f"feed-{number:06d}.localhost"
            out.write(f"  - id: feed-{number:06d}\n    name: Feed {number:06d}\n    allowed_domains: [{host}]\n"
                      f"    interval: {interval}\n    discover:\n      - {{kind: feed, url: 'http://{host}/feed.xml'}}\n")
    (folder / "outlets.yaml").write_text(
        f"outlets:\n  - id: files\n    kind: files\n    directory: {folder.parent / 'outlet'}\n", encoding="utf-8")


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set of this process, in MB."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def commandstats(client: object) -> Counter[str]:
    stats = client.info("commandstats")  # type: ignore[attr-defined]
    return Counter({name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()})


class CommandCounter:
    """Redis commands between two points, by name, less what reading the counters costs (one INFO)."""

    def __init__(self, client: object) -> None:
        self.client = client
        first = commandstats(client)
        self.overhead = commandstats(client) - first

    def __enter__(self) -> CommandCounter:
        self.before = commandstats(self.client)
        return self

    def __exit__(self, *exc: object) -> None:
        self.delta = commandstats(self.client) - self.before - self.overhead

    @property
    def total(self) -> int:
        return sum(self.delta.values())

    def describe(self) -> str:
        parts = ", ".join(f"{name} {calls:,}" for name, calls in self.delta.most_common())
        return f"{self.total:,} Redis commands ({parts})"


def max_in_window(times: list[float], width: float) -> int:
    import bisect

    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + width) - i for i, t in enumerate(ordered))


def run_one(count: int, interval: int, tick: int, due_share: float, beats_interval: int) -> None:
    base = Path(tempfile.mkdtemp(prefix=f"bench-scheduling-{count}-"))
    config = base / "config"
    write_config(config, count, interval)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:"
    os.environ.update({"CONFIG_DIR": str(config), "SYNDICATION_REDIS_KEY_PREFIX": prefix,
                       "SYNDICATION_SCHEDULER_TICK": str(tick), "SYNDICATION_VAR_DIR": str(base / "var"),
                       "DATABASE_URL": f"sqlite:///{base / 'var' / 'syndication.db'}"})
    print(f"== {count:,} sources (one feed each, interval {interval} s, tick {tick} s) ==", flush=True)

    started = time.perf_counter()
    check = subprocess.run([sys.executable, "-m", "worker.cli", "check"], env={**os.environ, "PYTHONPATH": str(REPO)},
                           cwd=REPO, capture_output=True, text=True)
    check_seconds = time.perf_counter() - started
    print(f"syndicate check: {check_seconds:.2f} s ({(check.stdout or check.stderr).strip().splitlines()[-1]})")

    import redis

    from worker.config import load_config
    from worker.flow.schedule import PollSchedule, SchedulePlan, dispatch_due
    from worker.flow.services import Services
    from worker.settings import load_settings
    from worker.tasks import dispatch_due_polls

    baseline_rss = rss_mb()[0]
    started = time.perf_counter()
    load_config(config)
    print(f"config load: {time.perf_counter() - started:.2f} s (load_config in process)")

    settings = load_settings()
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    svc = Services(settings, redis_client=client)
    counter = CommandCounter(client)
    queue_key = f"{prefix}poll"

    with counter:
        started = time.perf_counter()
        first = dispatch_due_polls(svc, now=T0)
        first_seconds = time.perf_counter() - started
    rss, peak = rss_mb()
    print(f"RSS: {rss:.0f} MB holding the config (before loading it {baseline_rss:.0f} MB; peak {peak:.0f} MB)")
    schedule = PollSchedule(client, prefix, tick)
    memory = sum(client.memory_usage(key) or 0 for key in (schedule.due_key, schedule.intervals_key))
    print(f"first tick (config read, schedule synced, {len(first)} due): {first_seconds:.2f} s, "
          f"{counter.total:,} Redis commands; the schedule holds {memory / 1e6:.1f} MB in Redis")
    client.delete(queue_key)

    # one interval of ticks on the fake clock, every poll really sent through the broker
    walls, cpus, dues, commands = [], [], [], []
    steady_counts: Counter[str] = Counter()
    ticks = interval // tick
    for k in range(1, ticks + 1):
        with counter:
            wall, cpu = time.perf_counter(), time.process_time()
            sent = dispatch_due_polls(svc, now=T0 + k * tick)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        queued = client.llen(queue_key)
        client.delete(queue_key)
        assert queued == len(sent), (queued, len(sent))
        walls.append(wall)
        cpus.append(cpu)
        dues.append(len(sent))
        commands.append(counter.total)
        steady_counts.update(counter.delta)
    mean_due = statistics.mean(dues)
    per_command = ", ".join(f"{name} {calls / ticks:,.1f}" for name, calls in steady_counts.most_common())
    print(f"tick, steady ({mean_due:,.1f} due of {count:,} per tick, {ticks} ticks = one interval, polls sent): "
          f"{statistics.mean(walls) * 1000:.1f} ms mean, {max(walls) * 1000:.1f} ms max (CPU "
          f"{statistics.mean(cpus) * 1000:.1f} ms mean); {statistics.mean(commands):,.1f} Redis commands per tick "
          f"= {statistics.mean(commands) / max(mean_due, 1):.2f} per poll sent ({per_command})")

    # a second beat's tick at the same moment: nothing due
    empty_walls = []
    for _ in range(20):
        with counter:
            started = time.perf_counter()
            assert dispatch_due_polls(svc, now=T0 + ticks * tick) == []
            empty_walls.append(time.perf_counter() - started)
    print(f"tick, nothing due: {statistics.median(empty_walls) * 1000:.2f} ms (median of 20), {counter.describe()}")

    spread = max(dues) / mean_due
    densest = max_in_window(list(schedule.due_times().values()), tick) / (count * tick / interval)

    # a share of the sources due at once, as after an outage: each two intervals overdue, phase kept
    now = T0 + ticks * tick + 1
    due_now = schedule.due_times()
    share = random.Random(18).sample(sorted(due_now), max(1, int(count * due_share)))
    for start in range(0, len(share), 1000):
        client.zadd(schedule.due_key, {source_id: due_now[source_id] - 2 * interval
                                       for source_id in share[start:start + 1000]}, xx=True)
    with counter:
        started = time.perf_counter()
        sent = dispatch_due_polls(svc, now=now)
        wall = time.perf_counter() - started
    client.delete(queue_key)
    print(f"tick, {due_share:.0%} due ({len(sent):,} polls sent): {wall * 1000:.0f} ms, {counter.describe()}")

    after_outage = max_in_window(list(schedule.due_times().values()), tick) / (count * tick / interval)
    print(f"polls per {tick} s window over one interval: max/mean {spread:.2f} (max {max(dues):,}, min {min(dues):,}, "
          f"mean {mean_due:,.1f}); the next interval's due times, densest {tick} s (sliding): {densest:.2f}x the "
          f"mean, {after_outage:.2f}x after the outage tick")

    # two beats for ten fake minutes, on a schedule of their own (claims counted, not sent)
    beats_prefix = f"{prefix}beats:"
    plan = SchedulePlan.of(svc.config.sources.values())
    plan = SchedulePlan({source_id: beats_interval for source_id in plan.intervals}, plan.fingerprint + "-beats")
    beats = PollSchedule(client, beats_prefix, tick)
    rng = random.Random(18)
    moments = sorted([T0 + k * tick + rng.uniform(-2, 2) for k in range(600 // tick)]
                     + [T0 + 7.3 + k * tick + rng.uniform(-2, 2) for k in range(600 // tick)])
    claims: dict[str, list[float]] = defaultdict(list)
    for moment in moments:
        for source_id in dispatch_due(beats, plan, moment, lambda _: None):
            claims[source_id].append(moment)
    gaps = [b - a for times in claims.values() for a, b in zip(times, times[1:])]
    least = beats_interval - tick - min(beats_interval * 0.01, 10)
    per_source = Counter(len(times) for times in claims.values())
    print(f"two beats, 10 fake minutes at a {beats_interval} s interval: {sum(map(len, claims.values())):,} claims, "
          f"{len(claims):,} of {count:,} sources claimed, {min(per_source)}-{max(per_source)} times each; gaps "
          f"{min(gaps):.1f}-{max(gaps):.1f} s; claimed twice within an interval less a tick: "
          f"{sum(1 for gap in gaps if gap < least)}")
    client.delete(beats.due_key, beats.intervals_key, beats.fingerprint_key,
                  schedule.due_key, schedule.intervals_key, schedule.fingerprint_key)
    print(f"tick share of one core: {statistics.mean(walls) / tick * 100:.2f}%", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", default="1000,10000,100000", help="comma-separated source counts")
    parser.add_argument("--interval", type=int, default=900, help="every source's poll interval (default 900 s)")
    parser.add_argument("--tick", type=int, default=15, help="SYNDICATION_SCHEDULER_TICK (default 15 s)")
    parser.add_argument("--due-share", type=float, default=0.1, help="share of sources due in the outage tick")
    parser.add_argument("--beats-interval", type=int, default=120, help="interval of the two-beat run (default 120 s)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one N in this process
    args = parser.parse_args()
    if args.one:
        run_one(args.one, args.interval, args.tick, args.due_share, args.beats_interval)
        return 0

    from worker.embedded_redis import redis_url_or_private

    with tempfile.TemporaryDirectory(prefix="bench-scheduling-redis-") as folder, \
            redis_url_or_private(Path(folder)) as url:
        print(f"Redis: {url}" + ("" if "REDIS_URL" in os.environ else " (private, started for this run)"))
        for count in (int(n) for n in args.sources.split(",")):
            subprocess.run([sys.executable, __file__, "--one", str(count), "--interval", str(args.interval),
                            "--tick", str(args.tick), "--due-share", str(args.due_share),
                            "--beats-interval", str(args.beats_interval)],
                           env={**os.environ, "REDIS_URL": url}, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
