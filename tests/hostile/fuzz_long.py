#!/usr/bin/env python3
"""The long fuzz run: the property-test targets of tests/hostile/corpus.py, for as long as it is told.

    python tests/hostile/fuzz_long.py [--seconds 600] [--targets extract,feed,sitemap,listing] [--seed N]
                                      [--engine random|hypothesis] [--save DIR]

Each input is a real seed document (article pages, feeds, sitemaps, listing pages) with 1-8 mutations
(hostile tokens inserted, bytes flipped, slices cut, duplicated or truncated). A target either returns a
result that passes the safety checks or raises a named worker.errors.SyndicationError; anything else is
a crash, as is one input running past --input-timeout seconds (a hang) or the process's peak RSS
growing past the bound of tests/hostile/memory.py. The run goes on after a crash (each crashing input is
saved under --save, default tests/hostile/regressions/found/, as <target>-<sha1>.bin, for a regression
test), and prints the inputs tried, wall time, crashes and the slowest input per target.

Engines: `random` (default: a seeded plain mutation loop, the fastest per input) or `hypothesis` (the
same strategies as the CI property tests, in rounds of many examples until the time is up).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.hostile import corpus  # noqa: E402
from tests.hostile.memory import RSS_BOUND_BYTES, peak_rss_growth  # noqa: E402


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang("input ran past the time limit")


class Run:
    def __init__(self, save: Path, input_timeout: float) -> None:
        self.save = save
        self.input_timeout = input_timeout
        self.tried: Counter[str] = Counter()
        self.crashes: list[tuple[str, str, Path]] = []
        self.slowest: dict[str, float] = {}

    def one(self, target: str, data: bytes) -> None:
        self.tried[target] += 1
        signal.setitimer(signal.ITIMER_REAL, self.input_timeout)
        started = time.perf_counter()
        try:
            corpus.TARGETS[target](data)
        except BaseException as exc:  # noqa: BLE001 - everything that is not a named refusal is a crash
            if isinstance(exc, KeyboardInterrupt):
                raise
            self.crash(target, data, exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            elapsed = time.perf_counter() - started
            self.slowest[target] = max(self.slowest.get(target, 0.0), elapsed)

    def crash(self, target: str, data: bytes, exc: BaseException) -> None:
        digest = hashlib.sha1(data).hexdigest()[:16]
        self.save.mkdir(parents=True, exist_ok=True)
        path = self.save / f"{target}-{digest}.bin"
        path.write_bytes(data)
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1][:200]
        where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        self.crashes.append((target, f"{summary} at {where.filename}:{where.lineno}" if where else summary, path))
        print(f"CRASH {target}: {summary} (input saved: {path})", flush=True)


def random_engine(run: Run, targets: list[str], seconds: float, seed: int) -> None:
    rng = random.Random(seed)
    seeds = {t: corpus.SEEDS[t]() for t in targets}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        target = rng.choice(targets)
        data = corpus.apply_edits(rng.choice(seeds[target]), corpus.random_edits(rng))
        run.one(target, data)


def hypothesis_engine(run: Run, targets: list[str], seconds: float, seed: int) -> None:
    from hypothesis import HealthCheck, given, seed as hypothesis_seed, settings
    from hypothesis import strategies as st

    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        for target in targets:
            if time.monotonic() >= deadline:
                break

            def make(target: str, round_seed: int):  # noqa: ANN202 - binds both for the test below
                @hypothesis_seed(round_seed)
                @settings(max_examples=500, deadline=None, database=None, derandomize=False,
                          suppress_health_check=list(HealthCheck))
                @given(document=st.sampled_from(corpus.SEEDS[target]()), edits=corpus.edits_strategy)
                def fuzz(document: bytes, edits: list[corpus.Edit]) -> None:
                    if time.monotonic() < deadline:
                        run.one(target, corpus.apply_edits(document, edits))
                return fuzz

            make(target, seed + rounds)()
        rounds += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="wall time of the run (default 600)")
    parser.add_argument("--targets", default="extract,feed,sitemap,listing")
    parser.add_argument("--engine", choices=["random", "hypothesis"], default="random")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--input-timeout", type=float, default=30.0, help="seconds one input may take (a hang past it)")
    parser.add_argument("--save", type=Path, default=corpus.REGRESSIONS / "found")
    args = parser.parse_args()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(targets) - set(corpus.TARGETS)
    if unknown:
        parser.error(f"unknown targets {sorted(unknown)}; known: {sorted(corpus.TARGETS)}")
    signal.signal(signal.SIGALRM, _alarm)

    run = Run(args.save, args.input_timeout)
    print(f"fuzzing {', '.join(targets)} for {args.seconds:.0f}s with the {args.engine} engine, seed {args.seed}",
          flush=True)
    started = time.monotonic()
    with peak_rss_growth() as growth:
        (random_engine if args.engine == "random" else hypothesis_engine)(run, targets, args.seconds, args.seed)
    wall = time.monotonic() - started
    total = sum(run.tried.values())
    print(f"inputs tried: {total} ({', '.join(f'{t} {n}' for t, n in sorted(run.tried.items()))}) "
          f"in {wall:.0f}s wall ({total / wall:.0f}/s)")
    print("slowest input: " + ", ".join(f"{t} {s:.2f}s" for t, s in sorted(run.slowest.items())))
    peak = growth()
    print(f"peak RSS growth: {peak / 2**20:.0f} MB (bound {RSS_BOUND_BYTES / 2**20:.0f} MB)"
          + ("  EXCEEDED" if peak > RSS_BOUND_BYTES else ""))
    print(f"crashes: {len(run.crashes)}")
    for target, summary, path in run.crashes:
        print(f"  {target}: {summary}  [{path}]")
    return 1 if run.crashes or peak > RSS_BOUND_BYTES else 0


if __name__ == "__main__":
    sys.exit(main())
