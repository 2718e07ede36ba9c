"""`syndicate demo`: the whole product on one laptop, through the real queue, in one command.

It serves the bundled sample partner site on 127.0.0.1, starts a private Redis (unless REDIS_URL is
set) and a real Celery worker process, polls the sample partner's feed through the queue (the poll
queues an ingest per new article), follows each article until it is stored and delivered to a files
outlet, and prints what happened. It polls through worker/ops, as `syndicate poll` and the console's
Run Now button do: the demo shows the product's own path, not a shortcut of its own.

Everything the demo makes lives under ./var/demo (DemoPaths): its config, its own SQLite store, its
private Redis, its worker's log and its outlet's output. Why: the demo is a deployment of its own, not
rows in the operator's. Sharing the default store would put the sample partner's health, articles and
deliveries into what `syndicate sources` and `syndicate deliveries` report about config/; sharing
./var/redis would let the demo's worker take tasks meant for `syndicate worker`, or the other way round.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from worker.embedded_redis import EmbeddedRedis
from worker.local.sample_site import SampleSite
from worker.settings import Settings, load_settings

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


#: the key prefix the demo adds on a shared Redis (REDIS_URL set), so its queues are not another deployment's
DEMO_KEY_PREFIX = "demo:"


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps what it makes: one folder, `var/demo` under SYNDICATION_VAR_DIR."""

    root: Path

    @classmethod
    def under(cls, var_dir: Path) -> DemoPaths:
        return cls(var_dir / "demo")

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def outlet_dir(self) -> Path:
        return self.root / "outlets" / OUTLET_ID

    @property
    def store_file(self) -> Path:
        return self.root / "syndication.db"

    @property
    def database_url(self) -> str:
        """Always its own SQLite file: a DATABASE_URL naming the operator's store is not the demo's."""
        return f"sqlite:///{self.store_file}"

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def worker_log(self) -> Path:
        return self.root / "worker.log"


def _write_demo_config(paths: DemoPaths, feed_url: str) -> None:
    """The demo's config: loopback is allowed on the sample site's own port only, so nothing the
    partner links to (a redirect, a feed link) can reach another service on this machine."""
    port = urlsplit(feed_url).port
    assert port is not None, feed_url  # SampleSite's origin always names its port
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    (paths.config_dir / "sources.yaml").write_text(SOURCES_YAML.format(feed_url=feed_url, port=port),
                                                   encoding="utf-8")
    (paths.config_dir / "outlets.yaml").write_text(OUTLETS_YAML.format(directory=paths.outlet_dir),
                                                   encoding="utf-8")


def demo_environment(settings: Settings, paths: DemoPaths, redis_url: str) -> dict[str, str]:
    """The variables that make a `syndicate` process (the worker, this one) the demo's deployment."""
    return {
        "REDIS_URL": redis_url,
        "CONFIG_DIR": str(paths.config_dir),
        "SYNDICATION_VAR_DIR": str(paths.root),
        "DATABASE_URL": paths.database_url,
        # a private Redis is the demo's alone; on a shared one the prefix keeps the demo's queues apart
        "SYNDICATION_REDIS_KEY_PREFIX": settings.redis_key_prefix + (DEMO_KEY_PREFIX if settings.redis_url else ""),
    }


def _start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log = open(log_path, "ab")  # noqa: SIM115 - lives as long as the worker process
    return subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "worker", "--concurrency", "2", "--loglevel", "INFO",
         "--hostname", f"demo-{os.getpid()}@%h"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def _wait_for_worker(app: Any, worker: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with status {worker.returncode}; see {log}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError(f"the worker did not come up within {timeout:.0f} s; see {log}")


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run_demo(keep_running: bool = False) -> int:
    settings = load_settings()
    paths = DemoPaths.under(settings.var_dir)
    site = SampleSite(SITE_ROOT, preferred_port=DEMO_PORT)
    embedded = None if settings.redis_url else EmbeddedRedis(paths.redis_dir)
    worker: subprocess.Popen[bytes] | None = None
    try:
        origin = site.start()
        _say(f"sample partner site on {origin}{FEED_PATH}")
        _write_demo_config(paths, f"{origin}{FEED_PATH}")
        redis_url = settings.redis_url or embedded.start()  # type: ignore[union-attr]
        _say(f"Redis at {redis_url}" + (" (private, stops with the demo)" if embedded else ""))
        demo_env = demo_environment(settings, paths, redis_url)
        # this process too: anything here that reads the environment sees the demo, not the operator's setup
        os.environ.update(demo_env)
        worker = _start_worker({**os.environ, **demo_env}, paths.worker_log)
        from worker.ops.base import OpsContext

        ctx = OpsContext(load_settings())  # the settings just written to the environment
        _wait_for_worker(ctx.celery(), worker, paths.worker_log)
        _say(f"Celery worker up (pid {worker.pid}, log {_shown(paths.worker_log)})")
        _say(f"the demo's own store and config: {_shown(paths.store_file)}, {_shown(paths.config_dir)}")
        rows = _poll_and_follow(ctx, paths.worker_log)
        _print_table(rows, paths)
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


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to where they ran the demo when it is below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _poll_and_follow(ctx: OpsContext, log: Path) -> list[dict[str, Any]]:
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
        article = _wait(lambda: _stored_from(store, url), f"the ingest of {url}", log)
        outcome = "unchanged" if (article.id, article.version) in already else (
            "new" if article.version == 1 else "new_version")
        _say(describe_ingest({"article_id": article.id, "version": article.version, "outcome": outcome,
                              "headline": article.headline}))
        delivery = _wait(lambda: _finished_delivery(store, article), f"the delivery of {article.id}", log)
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


def _wait(probe: Any, what: str, log: Path, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}; see {log}")


def _print_table(rows: list[dict[str, Any]], paths: DemoPaths) -> None:
    print()
    print(f"{'article':<24}  {'v':>2}  {'outcome':<11}  {'delivery':<17}  headline")
    for row in rows:
        print(f"{row['article_id']:<24}  {row['version']:>2}  {row['outcome']:<11}  {row['state']:<17}  {row['headline']}")
    print()
    print(f"Output: {_shown(paths.outlet_dir)}/<article id>/index.html (the page as an outlet shows it) and "
          "article.ninjs.json")
    print("Run `syndicate demo` again: the same page makes no new version and no second delivery.")
    print(f"The demo keeps its store and config in {_shown(paths.root)}: `syndicate sources` and "
          "`syndicate deliveries` still describe your own; to see the demo's, run them as "
          f"`SYNDICATION_VAR_DIR={_shown(paths.root)} CONFIG_DIR={_shown(paths.config_dir)} "
          f"DATABASE_URL={paths.database_url} syndicate sources`.")
