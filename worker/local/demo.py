"""`syndicate demo`: the whole product on one laptop, through the real queue, in one command.

It serves the bundled sample partner site on 127.0.0.1, starts a private Redis (unless REDIS_URL is
set) and a real Celery worker process, polls the sample partner's feed through the queue (the poll
queues an ingest per new article), follows each article until it is stored and delivered to a files
outlet under ./var/outlets, and prints what happened. It polls through worker/ops, as `syndicate poll`
and the console's Run Now button do: the demo shows the product's own path, not a shortcut of its own.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from worker.embedded_redis import EmbeddedRedis
from worker.local.sample_site import SampleSite
from worker.settings import load_settings

if TYPE_CHECKING:
    from worker.ops.base import OpsContext

SITE_ROOT = Path(__file__).parent / "demo_site"
FEED_PATH = "/theepochtimes/feed.xml"

#: the sample site's port when free: the same links on every run, so a second run finds nothing new
DEMO_PORT = 8765
SOURCE_ID = "theepochtimes"
OUTLET_ID = "demo-files"

SOURCES_YAML = """\
# written by `syndicate demo`: the bundled sample partner, served on 127.0.0.1
sources:
  - id: theepochtimes
    name: The Epoch Times
    attribution: "From {{source_name}}"
    allowed_domains: [127.0.0.1, partner.test]
    # the sample site runs on this machine, on this port only; a real partner never needs this
    allow_private_networks: ["127.0.0.1:{port}"]
    discover:
      - {{kind: feed, url: "{feed_url}"}}
    selectors:
      drop: [".newsletter-inline", ".related-inline", ".ad-slot"]
"""

OUTLETS_YAML = """\
# written by `syndicate demo`: one files outlet (ninjs JSON + an HTML page per article version)
outlets:
  - id: demo-files
    kind: files
    directory: {directory}
"""


def _write_demo_config(var_dir: Path, feed_url: str) -> tuple[Path, Path]:
    """The demo's config: loopback is allowed on the sample site's own port only, so nothing the
    partner links to (a redirect, a feed link) can reach another service on this machine."""
    port = urlsplit(feed_url).port
    assert port is not None, feed_url  # SampleSite's origin always names its port
    config_dir = var_dir / "demo" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    outlet_dir = var_dir / "outlets" / "demo-files"
    (config_dir / "sources.yaml").write_text(SOURCES_YAML.format(feed_url=feed_url, port=port), encoding="utf-8")
    (config_dir / "outlets.yaml").write_text(OUTLETS_YAML.format(directory=outlet_dir), encoding="utf-8")
    return config_dir, outlet_dir


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the worker process
    return subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "worker", "--concurrency", "2", "--loglevel", "INFO",
         "--hostname", f"demo-{os.getpid()}@%h"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def _wait_for_worker(app: Any, worker: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with status {worker.returncode}; see var/demo/worker.log")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("the worker did not come up within 60 s; see var/demo/worker.log")


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_demo(keep_running: bool = False) -> int:
    settings = load_settings()
    var_dir = settings.var_dir
    site = SampleSite(SITE_ROOT, preferred_port=DEMO_PORT)
    embedded = None if settings.redis_url else EmbeddedRedis(var_dir / "redis")
    worker: subprocess.Popen[bytes] | None = None
    try:
        origin = site.start()
        _say(f"sample partner site on {origin}{FEED_PATH}")
        config_dir, outlet_dir = _write_demo_config(var_dir, f"{origin}{FEED_PATH}")
        redis_url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
        _say(f"Redis at {redis_url}" + (" (private, stops with the demo)" if embedded else ""))
        env = {**os.environ, "REDIS_URL": redis_url, "CONFIG_DIR": str(config_dir),
               "SYNDICATION_VAR_DIR": str(var_dir), "DATABASE_URL": settings.database_url}
        os.environ.update({k: env[k] for k in ("REDIS_URL", "CONFIG_DIR", "SYNDICATION_VAR_DIR")})
        worker = _start_worker(env, var_dir / "demo" / "worker.log")
        from worker.ops.base import OpsContext

        ctx = OpsContext(load_settings())  # the settings just written to the environment
        _wait_for_worker(ctx.celery(), worker)
        _say(f"Celery worker up (pid {worker.pid}, log var/demo/worker.log)")
        rows = _poll_and_follow(ctx)
        _print_table(rows, outlet_dir)
        if keep_running:
            _say("running; press Ctrl-C to stop")
            while worker.poll() is None:
                time.sleep(1)
        return 0 if all(r["state"] == "delivered" or r["outcome"] == "unchanged" for r in rows) else 1
    finally:
        if worker and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)  # warm shutdown: finish the task at hand, then exit
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if embedded:
            embedded.stop()
        site.stop()


def _poll_and_follow(ctx: OpsContext) -> list[dict[str, Any]]:
    """Poll the sample partner through the real queue, then follow each queued link to delivery."""
    from worker.ops.imports import describe_ingest
    from worker.ops.sources import poll_now

    report = poll_now(ctx, SOURCE_ID).get(timeout=120)
    _say(f"poll: {report['discovered']} article link(s) in the feed, {len(report['queued'])} queued for ingest"
         + (f", errors: {report['errors']}" if report["errors"] else ""))
    store = ctx.store
    rows = []
    for url in report["queued"]:
        already = {(a.id, a.version) for a in store.list_articles(source_id=SOURCE_ID)}
        article = _wait(lambda: _stored_from(store, url), f"the ingest of {url}")
        outcome = "unchanged" if (article.id, article.version) in already else (
            "new" if article.version == 1 else "new_version")
        _say(describe_ingest({"article_id": article.id, "version": article.version, "outcome": outcome,
                              "headline": article.headline}))
        delivery = _wait(lambda: _finished_delivery(store, article), f"the delivery of {article.id}")
        _say(f"{OUTLET_ID}: {delivery.state.value} {delivery.remote_url or delivery.last_error or ''}")
        rows.append({"article_id": article.id, "version": article.version, "outcome": outcome,
                     "state": delivery.state.value, "headline": article.headline})
    if not report["queued"]:
        for article in store.list_articles(source_id=SOURCE_ID):
            previous = store.previous_remote(article.id, OUTLET_ID)
            rows.append({"article_id": article.id, "version": article.version, "outcome": "unchanged",
                         "state": "already delivered" if previous else "-", "headline": article.headline})
    return rows


def _stored_from(store: Any, url: str) -> Any:
    state = store.url_state(SOURCE_ID, url)
    if state is None or state.article_id is None:
        failures = [f for f in store.ingest_failures(SOURCE_ID) if f.url == url]
        if failures:
            raise RuntimeError(f"the ingest of {url} failed: {failures[0].last_error}")
        return None
    return store.get_article(state.article_id)


def _finished_delivery(store: Any, article: Any) -> Any:
    delivery = store.get_delivery(article.id, article.version, OUTLET_ID)
    return delivery if delivery is not None and delivery.state.is_final else None


def _wait(probe: Any, what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}; see var/demo/worker.log")


def _print_table(rows: list[dict[str, Any]], outlet_dir: Path) -> None:
    print()
    print(f"{'article':<24}  {'v':>2}  {'outcome':<11}  {'delivery':<17}  headline")
    for row in rows:
        print(f"{row['article_id']:<24}  {row['version']:>2}  {row['outcome']:<11}  {row['state']:<17}  {row['headline']}")
    print()
    print(f"Output: {outlet_dir}/<article id>/index.html (the page as an outlet shows it) and article.ninjs.json")
    print("Run `syndicate demo` again: the same page makes no new version and no second delivery.")
