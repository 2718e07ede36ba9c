#!/usr/bin/env python3
"""Delivery throughput: articles per second through real Celery workers to a loopback webhook receiver.

    python bench/delivery.py [--articles N] [--workers 1,2] [--wordpress]

For each worker count: a fresh deployment (its own SQLite file and Redis key prefix on REDIS_URL, or a
private redis-server), N distinct articles stored in the store beforehand, K worker processes started
the way an operator starts them (`syndicate worker --concurrency 1`), then N `syndication.deliver`
tasks queued at once; the clock runs from the first task sent until the ledger shows all N delivered.
So the figure covers the broker round trip, the ledger writes and the signed POST, not extraction.

The machine's CPU count is printed with the figures: on two cores, two worker processes share them
with Redis, the receiver and this script, so the second process adds less than on a bigger machine.
It prints figures only; judging them is for the reader. `--wordpress` also runs
bench/delivery_wordpress.py (when present) and prints its figures after these.

Other outlet kinds reuse `run_deliveries(outlets_yaml, outlet_id, ...)` from here: it takes the
outlets.yaml text and the environment the outlet needs, and returns deliveries per second.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text

# the same harness the integration tests use, so the bench measures what they exercise
from tests.plugins.celery_worker import Deployment
from tests.support.webhook_receiver import WebhookReceiver
from worker.embedded_redis import redis_url_or_private
from worker.schema import Article, Author, Image, SourceRef, make_article
from worker.store import DeliveryState, Store

DELIVERED = text(f"SELECT count(*) FROM deliveries WHERE state = '{DeliveryState.DELIVERED.value}'")
SECRET_ENV = "BENCH_WEBHOOK_SECRET"
SECRET = "bench-secret"


def bench_articles(count: int) -> Iterator[Article]:
    """Distinct, realistic-sized articles: ~600 words of body, a byline, a lead image, tags."""
    base = datetime(2024, 1, 1, tzinfo=timezone.utc)
    paragraph = "<p>" + " ".join(["The coalition said the operation continued through the night."] * 12) + "</p>"
    for n in range(count):
        body = paragraph * 5 + f"<p>Item {n}.</p>"
        yield make_article(
            source=SourceRef(id="bench", name="Bench Partner"), attribution="From Bench Partner",
            url=f"https://partner.example/bench/{n}.html", headline=f"Bench story {n}",
            description="A story for the delivery benchmark.", authors=[Author(name="Ann Lee")],
            published=base + timedelta(minutes=n), section="World", tags=["Bench"], language="en",
            lead_image=Image(url=f"https://partner.example/img/{n}.jpg", caption="Caption"),
            body_html=body, body_text=body.replace("<p>", "").replace("</p>", " "),
        )


def run_deliveries(outlets_yaml: str, outlet_id: str, articles: int, workers: int, redis: str,
                   env: dict[str, str] | None = None, timeout: float = 600) -> float:
    """Deliver `articles` stored articles to `outlet_id` with `workers` worker processes; deliveries/s."""
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
        deployment = Deployment(base=Path(tmp), redis_url=redis, key_prefix=f"bench-{uuid.uuid4().hex[:8]}:",
                                extra_env=dict(env or {}))
        deployment.write_config(outlets_yaml)
        store = Store(deployment.database_url)
        store.migrate()
        ids = [store.upsert_article(a).article.id for a in bench_articles(articles)]
        try:
            for _ in range(workers):
                deployment.start_worker()
            app = deployment.app()
            started = time.perf_counter()
            for article_id in ids:
                app.send_task("syndication.deliver", (article_id, outlet_id), {"version": 1}, queue="deliver")
            deadline = time.monotonic() + timeout
            with create_engine(deployment.database_url).connect() as ledger:
                # a bare count, not Store.deliveries(): the watcher must not compete with the workers
                while ledger.execute(DELIVERED).scalar_one() < articles:
                    ledger.rollback()
                    if time.monotonic() > deadline:
                        raise SystemExit(f"not all delivered within {timeout:.0f}s:\n{deployment.worker_log(-1)[-2000:]}")
                    time.sleep(0.05)
            elapsed = time.perf_counter() - started
        finally:
            deployment.stop_all()
    return articles / elapsed


def webhook_figures(articles: int, worker_counts: list[int], redis: str) -> None:
    with WebhookReceiver(SECRET) as receiver:
        outlets_yaml = (
            "outlets:\n  - id: hook\n    kind: webhook\n"
            f"    url: {receiver.url}\n    secret_env: {SECRET_ENV}\n    timeout: 10\n"
        )
        for workers in worker_counts:
            before = len(receiver.requests)
            rate = run_deliveries(outlets_yaml, "hook", articles, workers, redis, {SECRET_ENV: SECRET})
            sent = len(receiver.requests) - before
            bad = sum(not r.signature_ok for r in receiver.requests[before:])
            print(f"webhook  {workers} worker process{'es' if workers > 1 else ''}: {rate:7.1f} deliveries/s "
                  f"({articles} articles, {sent} requests, {bad} bad signatures)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure (default 1,2)")
    parser.add_argument("--wordpress", action="store_true", help="also run bench/delivery_wordpress.py")
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",") if c.strip()]
    print(f"delivery benchmark: {args.articles} articles per run, SQLite store, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp, redis_url_or_private(Path(tmp) / "redis") as redis:
        webhook_figures(args.articles, counts, redis)
    if args.wordpress:
        wordpress = REPO / "bench" / "delivery_wordpress.py"
        if not wordpress.exists():
            print("wordpress: bench/delivery_wordpress.py is not there; no figure", flush=True)
            return
        subprocess.run([sys.executable, str(wordpress)], cwd=REPO, check=False)


if __name__ == "__main__":
    main()
