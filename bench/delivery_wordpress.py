"""Deliveries per second to a real WordPress through the WordPress outlet.

    python bench/delivery_wordpress.py [-n 60] [--concurrency 1 4] [--url URL --user USER --password-env NAME]

Without --url it brings up a throw-away WordPress (Debian's package, php -S with 8 workers, MariaDB;
the same code as the test fixture, tests/plugins/wordpress.py) and removes it afterwards. The articles
are variants of the seed article (tests/fixtures/partners/theepochtimes), each with its own URL, headline
and lead image (served from loopback), so every delivery is a full create: image download and upload,
look-ups, post, race check. A second pass delivers version 2 of each to measure updates.

`run(site, n, concurrency)` is importable for bench/delivery.py.
"""
from __future__ import annotations

import argparse
import http.server
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.loopback_http import LoopbackHTTPServer
from tests.test_outlet_wordpress import EXPECTED, FIXTURE, png
from worker.extract import extract_article
from worker.outlets.base import RemoteRef
from worker.outlets.wordpress import WordPressOptions, WordPressOutlet
from worker.schema import Article
from worker.settings import load_settings


@dataclass(frozen=True)
class Target:
    url: str
    user: str
    password_env: str


class ImageHandler(http.server.BaseHTTPRequestHandler):
    """Serves a small distinct PNG at any /img/<n>.png, as a partner's image host would."""

    def do_GET(self) -> None:
        seed = sum(self.path.encode()) % 200
        body = png(32, 24, (seed, 255 - seed, 90))
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def articles(n: int, image_base: str) -> list[Article]:
    seed = extract_article(FIXTURE.read_bytes(), EXPECTED["url"])
    assert seed.lead_image is not None
    run_id = uuid.uuid4().hex[:8]
    return [
        seed.recomputed(
            url=f"{seed.url}?bench={run_id}-{i}", headline=f"{seed.headline} ({run_id} #{i})",
            lead_image=seed.lead_image.model_copy(update={"url": f"{image_base}/img/{run_id}-{i}.png"}),
        )
        for i in range(n)
    ]


def make_outlet(target: Target) -> WordPressOutlet:
    options = WordPressOptions(url=target.url, username=target.user, app_password_env=target.password_env,
                               status="publish", default_categories=["Syndicated"],
                               image_allow_private_networks=["127.0.0.1/32"])
    return WordPressOutlet("wordpress-bench", options, load_settings({}))


def timed(items: list[Any], concurrency: int, work: Callable[[WordPressOutlet, Any], RemoteRef],
          target: Target) -> tuple[float, list[RemoteRef]]:
    """Each thread has its own outlet, as each Celery worker process has."""
    local = threading.local()

    def one(item: Any) -> RemoteRef:
        if not hasattr(local, "outlet"):
            local.outlet = make_outlet(target)
        return work(local.outlet, item)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        refs = list(pool.map(one, items))
    return time.perf_counter() - started, refs


def run(target: Target, n: int, concurrency: int) -> dict[str, float]:
    with LoopbackHTTPServer(ImageHandler, name="bench-images") as images:
        batch = articles(n, images.origin)
        create_s, refs = timed(batch, concurrency, lambda outlet, a: outlet.publish(a, None), target)
        assert len({r.id for r in refs}) == n, "a delivery did not make its own post"
        updates = [(a.recomputed(version=2, body_html=a.body_html + "<p>Updated.</p>"), r) for a, r in zip(batch, refs)]
        update_s, again = timed(updates, concurrency, lambda outlet, item: outlet.publish(*item), target)
        assert [r.id for r in again] == [r.id for r in refs], "an update made a new post"
    return {"articles": n, "concurrency": concurrency, "create_per_s": n / create_s, "update_per_s": n / update_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=60, help="articles per pass")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--url", help="an existing WordPress (else a throw-away one is started)")
    parser.add_argument("--user")
    parser.add_argument("--password-env", help="NAME of the variable holding the user's Application Password")
    args = parser.parse_args()

    def report(target: Target) -> None:
        for concurrency in args.concurrency:
            result = run(target, args.n, concurrency)
            print(f"wordpress delivery: {args.n} articles, {concurrency} publisher(s): "
                  f"{result['create_per_s']:.1f} new posts/s, {result['update_per_s']:.1f} updates/s", flush=True)

    if args.url:
        report(Target(args.url, args.user, args.password_env))
        return
    from tests.plugins.wordpress import running_wordpress

    with tempfile.TemporaryDirectory(prefix="wp-bench-") as datadir, running_wordpress(Path(datadir)) as site:
        os.environ["SYNDICATION_BENCH_WP_PASSWORD"] = site.app_password
        report(Target(site.url, site.user, "SYNDICATION_BENCH_WP_PASSWORD"))


if __name__ == "__main__":
    main()
