#!/usr/bin/env python3
"""Reading a large config: `syndicate check` and `load_config` on generated sources.

    python bench/config_load.py [--sources 1000,10000,100000] [--repeat N] [--split K] [--profile N]

Each source is one feed on a loopback name that is never fetched (src-00001.invalid), with the fields an
operator commonly sets (a selector, include/exclude patterns shared by many sources, a rate limit), so
the figures include pydantic's and RE2's share, not only YAML's. `--split K` writes the sources as K
files in config/sources.d/ instead of one sources.yaml. `--profile N` prints cProfile's top functions
of one load_config at N sources. Figures only, no asserts: judging them is for the reader.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from worker.config import load_config  # noqa: E402

#: a handful of pattern sets, as operators copy them from one partner to the next
PATTERNS = [("'/20\\d\\d/\\d\\d/'",), ("'/news/'", "'/world/'"), ("'/article/[0-9]+'",)]


def source_entry(number: int) -> str:
    """One generated source: a feed on a name under .invalid (RFC 2606: never resolves)."""
    host = f"src-{number:05d}.invalid"
    include = ", ".join(PATTERNS[number % len(PATTERNS)])
    return (f"  - id: src-{number:05d}\n"
            f"    name: Source {number:05d}\n"
            f"    allowed_domains: [{host}]\n"
            f"    interval: {600 + number % 7 * 60}\n"
            f"    rate_limit_per_second: 0.5\n"
            f"    include: [{include}]\n"
            f"    exclude: ['/video/', '/sponsored-']\n"
            f"    selectors:\n"
            f"      body: article .content\n"
            f"      drop: [.ad-slot, .newsletter]\n"
            f"    discover:\n"
            f"      - {{kind: feed, url: 'https://{host}/feed.xml'}}\n")


def write_config(folder: Path, count: int, split: int = 0) -> Path:
    """A config folder with `count` sources: all in sources.yaml, or (split > 0) an empty sources.yaml
    and `split` files in sources.d/. Returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "outlets.yaml").write_text(f"outlets:\n  - id: files\n    kind: files\n    directory: {folder / 'out'}\n",
                                         encoding="utf-8")
    if split <= 0:
        (folder / "sources.yaml").write_text("sources:\n" + "".join(source_entry(n) for n in range(1, count + 1)),
                                             encoding="utf-8")
        return folder
    (folder / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    directory = folder / "sources.d"
    directory.mkdir(exist_ok=True)
    per_file = -(-count // split)
    for part in range(split):
        numbers = range(part * per_file + 1, min(count, (part + 1) * per_file) + 1)
        (directory / f"part-{part:03d}.yaml").write_text("sources:\n" + "".join(source_entry(n) for n in numbers),
                                                          encoding="utf-8")
    return folder


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_check(folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one `syndicate check` (a fresh interpreter, as an operator runs it; the
    CPU time is what a busy machine does not inflate)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CONFIG_DIR": str(folder)}
    cpu, started = _children_cpu(), time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "worker.cli", "check"], env=env, cwd=REPO,
                            capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"syndicate check failed: {result.stderr.strip()}")
    return elapsed, _children_cpu() - cpu


def time_load(folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one load_config in this process."""
    cpu, started = time.process_time(), time.perf_counter()
    load_config(folder)
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", default="1000,10000,100000", help="comma-separated source counts")
    parser.add_argument("--repeat", type=int, default=3, help="best of N for each figure (1 at 100,000+)")
    parser.add_argument("--split", type=int, default=0, help="write the sources as K files in sources.d/")
    parser.add_argument("--profile", type=int, default=0, help="profile one load_config at N sources")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="config-bench-") as tmp:
        if args.profile:
            folder = write_config(Path(tmp) / f"profile-{args.profile}", args.profile, args.split)
            profiler = cProfile.Profile()
            profiler.runcall(load_config, folder)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            return 0
        for count in (int(n) for n in args.sources.split(",")):
            folder = write_config(Path(tmp) / f"n{count}", count, args.split)
            size = sum(f.stat().st_size for f in folder.rglob("*.yaml"))
            repeat = 1 if count >= 100_000 else args.repeat
            check = min(time_check(folder) for _ in range(repeat))
            load_config(folder)  # the first load imports the kinds' modules: not a config's cost
            load = min(time_load(folder) for _ in range(repeat))
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(f"{count:>7} sources ({size / 1e6:.1f} MB YAML): syndicate check {check[0]:.2f} s "
                  f"(cpu {check[1]:.2f} s), load_config {load[0]:.2f} s (cpu {load[1]:.2f} s), "
                  f"peak RSS of this process {rss:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
