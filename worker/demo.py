"""`syndicate demo`: the whole product on one laptop, through the real queue, in one command.

It serves the bundled sample partner site on 127.0.0.1, starts a private Redis (unless REDIS_URL is
set) and a real Celery worker process, queues every article of the sample feed for ingest, waits for
each to be stored and delivered to a files outlet under ./var/outlets, and prints what happened.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import feedparser

from worker.embedded_redis import EmbeddedRedis
from worker.sample_site import SampleSite
from worker.settings import load_settings

SITE_ROOT = Path(__file__).parent / "demo_site"
FEED_PATH = "/theepochtimes/feed.xml"

SOURCES_YAML = """\
# written by `syndicate demo`: the bundled sample partner, served on 127.0.0.1
sources:
  - id: theepochtimes
    name: The Epoch Times
    attribution: "From {{source_name}}"
    allowed_domains: [127.0.0.1, partner.test]
    # the sample site runs on this machine; a real partner never needs this
    allow_private_networks: [127.0.0.1]
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


def _write_demo_config(var_dir: Path) -> tuple[Path, Path]:
    config_dir = var_dir / "demo" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    outlet_dir = var_dir / "outlets" / "demo-files"
    (config_dir / "sources.yaml").write_text(SOURCES_YAML.format(), encoding="utf-8")
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
    config_dir, outlet_dir = _write_demo_config(var_dir)
    site = SampleSite(SITE_ROOT)
    embedded = None if settings.redis_url else EmbeddedRedis(var_dir / "redis")
    worker: subprocess.Popen[bytes] | None = None
    try:
        origin = site.start()
        _say(f"sample partner site on {origin}{FEED_PATH}")
        redis_url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
        _say(f"Redis at {redis_url}" + (" (private, stops with the demo)" if embedded else ""))
        env = {**os.environ, "REDIS_URL": redis_url, "CONFIG_DIR": str(config_dir),
               "SYNDICATION_VAR_DIR": str(var_dir), "DATABASE_URL": settings.database_url}
        os.environ.update({k: env[k] for k in ("REDIS_URL", "CONFIG_DIR", "SYNDICATION_VAR_DIR")})
        worker = _start_worker(env, var_dir / "demo" / "worker.log")
        from worker.app import create_app

        app = create_app(load_settings())
        _wait_for_worker(app, worker)
        _say(f"Celery worker up (pid {worker.pid}, log var/demo/worker.log)")
        rows = _import_feed(app, origin, settings.database_url)
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


def _import_feed(app: Any, origin: str, database_url: str) -> list[dict[str, Any]]:
    from worker.store import Store

    feed = feedparser.parse(f"{origin}{FEED_PATH}")
    links = [entry.link for entry in feed.entries]
    _say(f"feed lists {len(links)} article(s); queueing ingest for each")
    results = [(link, app.send_task("syndication.ingest", ("theepochtimes", link), queue="ingest")) for link in links]
    store = Store(database_url)
    rows = []
    for link, result in results:
        report = result.get(timeout=120)
        _say(f"stored {report['article_id']} v{report['version']} ({report['outcome']}): {report['headline']}")
        row: dict[str, Any] = {**report, "state": "-", "where": "", "link": link}
        deadline = time.monotonic() + 120
        for outlet_id in report["deliveries"]:
            while time.monotonic() < deadline:
                delivery = store.get_delivery(report["article_id"], report["version"], outlet_id)
                if delivery and delivery.state.is_final:
                    row["state"], row["where"] = delivery.state.value, delivery.remote_url or delivery.last_error
                    _say(f"{outlet_id}: {row['state']} {row['where']}")
                    break
                time.sleep(0.2)
        if not report["deliveries"]:
            previous = store.previous_remote(report["article_id"], "demo-files")
            row["state"] = "already delivered" if previous else "-"
            row["where"] = previous.remote_url if previous else ""
        rows.append(row)
    return rows


def _print_table(rows: list[dict[str, Any]], outlet_dir: Path) -> None:
    print()
    print(f"{'article':<24}  {'v':>2}  {'outcome':<11}  {'delivery':<17}  headline")
    for row in rows:
        print(f"{row['article_id']:<24}  {row['version']:>2}  {row['outcome']:<11}  {row['state']:<17}  {row['headline']}")
    print()
    print(f"Output: {outlet_dir}/<article id>/index.html (the page as an outlet shows it) and article.ninjs.json")
    print("Run `syndicate demo` again: the same page makes no new version and no second delivery.")
