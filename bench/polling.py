#!/usr/bin/env python3
"""Polling a 1,000-article partner, end to end, on real parts.

    python bench/polling.py [--articles N] [--workers N] [--concurrency N] [--timeout S]

A generated loopback partner site (tests/support/partner_site.py: feed, sitemap, listing, article pages
with ETag/Last-Modified), a real Redis (REDIS_URL, else a private one from worker.embedded_redis), SQLite
and a files outlet in a temp folder, and real `syndicate worker` processes. It sends one poll and times
until every article is stored and delivered; then polls the unchanged site again and times that poll
and counts its requests. Figures only, no asserts: judging them is for the reader, so a slow machine
never fails a build.
"""
from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.partner_site import PartnerSite
from worker.app import create_app
from worker.embedded_redis import EmbeddedRedis
from worker.settings import load_settings


def write_config(base: Path, site: PartnerSite) -> None:
    config = base / "config"
    config.mkdir(parents=True)
    (config / "sources.yaml").write_text(f"""\
sources:
  - id: partner
    name: The Epoch Times
    allowed_domains: [127.0.0.1]
    allow_private_networks: [127.0.0.1/8]
    rate_limit_per_second: 10000
    rate_limit_burst: 1000
    discover:
      - {{kind: feed, url: '{site.feed_url}'}}
      - {{kind: sitemap, url: '{site.sitemap_url}'}}
      - {{kind: listing, url: '{site.listing_url}', link_selector: a.story-link, next_selector: a.next, max_pages: 50}}
""", encoding="utf-8")
    (config / "outlets.yaml").write_text(
        f"outlets:\n  - id: files\n    kind: files\n    directory: {base / 'outlet'}\n", encoding="utf-8")


def environment(base: Path, redis_url: str) -> dict[str, str]:
    return {
        **os.environ, "REDIS_URL": redis_url, "DATABASE_URL": f"sqlite:///{base / 'var' / 'syndication.db'}",
        "CONFIG_DIR": str(base / "config"), "SYNDICATION_VAR_DIR": str(base / "var"),
        "SYNDICATION_REDIS_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}:", "PYTHONPATH": str(REPO),
    }


def start_workers(base: Path, env: dict[str, str], count: int, concurrency: int) -> list[subprocess.Popen[bytes]]:
    processes = []
    for index in range(count):
        log = open(base / f"worker-{index}.log", "wb")  # noqa: SIM115 - lives as long as the worker
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "worker", "--concurrency", str(concurrency), "--loglevel", "WARNING",
             "--hostname", f"bench{index}-{uuid.uuid4().hex[:6]}@%h"],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    return processes


def wait_for_workers(app: object, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=0.5)) >= count:  # type: ignore[attr-defined]
            return
    raise SystemExit(f"{count} workers did not answer a ping within {timeout}s")


def counts(database: Path) -> tuple[int, int]:
    """(articles stored, deliveries delivered), read straight from SQLite so the bench adds no load of note."""
    if not database.exists():
        return 0, 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as connection:
        try:
            articles = connection.execute("SELECT count(*) FROM articles").fetchone()[0]
            delivered = connection.execute("SELECT count(*) FROM deliveries WHERE state = 'delivered'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0, 0  # tables not created yet, or a writer holds the lock this instant
    return articles, delivered


def timed_poll(app: object, timeout: float) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    result = app.send_task("syndication.poll_source", ("partner",))  # type: ignore[attr-defined]
    report = result.get(timeout=timeout)
    return time.perf_counter() - started, report


def run(articles: int, workers: int, concurrency: int, timeout: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-polling-") as tmp, PartnerSite(articles, listing_page_size=50) as site:
        base = Path(tmp)
        embedded = None
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            embedded = EmbeddedRedis(base / "redis")
            redis_url = embedded.start()
        write_config(base, site)
        env = environment(base, redis_url)
        app = create_app(load_settings(env))
        processes = start_workers(base, env, workers, concurrency)
        database = base / "var" / "syndication.db"
        try:
            wait_for_workers(app, workers)
            print(f"site: {articles} articles at {site.origin}; {workers} worker processes x {concurrency}; "
                  f"Redis {'embedded' if embedded else redis_url}; SQLite")

            started = time.perf_counter()
            poll_seconds, report = timed_poll(app, timeout)
            while counts(database) != (articles, articles):
                if time.perf_counter() - started > timeout:
                    print(f"timed out: {counts(database)} (stored, delivered) after {timeout:.0f}s")
                    break
                time.sleep(0.1)
            first = time.perf_counter() - started
            first_requests = site.requests
            statuses = Counter(r.status for r in first_requests)
            stored, delivered = counts(database)
            print(f"first poll: discovery {poll_seconds:.2f}s, {len(report['queued'])} queued; all stored and "
                  f"delivered after {first:.2f}s ({stored} stored, {delivered} delivered, "
                  f"{stored / first:.0f} articles/s)")
            print(f"first poll requests: {len(first_requests)} ({dict(statuses)}), "
                  f"{len(site.article_fetches())} article pages, "
                  f"{len(first_requests) / articles:.3f} requests per article")

            site.clear_requests()
            second_seconds, report = timed_poll(app, timeout)
            time.sleep(1.0)  # let any ingest a poll queued show up in the counts
            second_requests = site.requests
            print(f"second (unchanged) poll: {second_seconds:.2f}s, {len(report['queued'])} queued, "
                  f"{len(second_requests)} requests ({dict(Counter(r.status for r in second_requests))}, "
                  f"{sum(r.conditional for r in second_requests)} conditional), "
                  f"{len(site.article_fetches())} article pages, "
                  f"{len(second_requests) / articles:.4f} requests per article")
        finally:
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            for process in processes:
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            if embedded:
                embedded.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--concurrency", type=int, default=2, help="pool processes per worker (default 2)")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    run(args.articles, args.workers, args.concurrency, args.timeout)


if __name__ == "__main__":
    main()
