"""The chaos harness: the whole pipeline on real parts, and the faults the chaos tests inject into it.

Parts: a generated partner site on loopback (feed + article pages, 304s), `syndicate worker` processes
and a separate beat on a private Redis that can be restarted on the same port with its data lost
(worker.embedded_redis keeps nothing), PostgreSQL reached through a TcpProxy that can take it away, and
two webhook receivers (outlets `hook-a`, `hook-b`), each behind a TcpProxy of its own, that dedupe on
Idempotency-Key and record every request.

Faults: SIGKILL of the worker's whole process group at a chosen point (`fetch`: while an article page is
being served; `store`: while a worker's statement is held in the database proxy; `queueing`: after an
ingest stored its article and marked the link checked, before it queued the deliveries; `accepted`: after an
outlet accepted a delivery, before its answer reached the worker, so before the ledger write; `anytime`),
a Redis restart, a database outage, an outlet outage.

Audit: counts in the store (articles per partner URL, versions, ledger rows) and at the outlets (accepted
Idempotency-Keys and the receivers' item ids) against what the partner site holds. Used by
tests/chaos/test_chaos.py (CI-sized) and bench/chaos_long.py (longer, figures only).
"""
from __future__ import annotations

import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import redis
from sqlalchemy import make_url

from tests.chaos.tcp_proxy import TcpProxy
from tests.plugins.celery_worker import Deployment
from tests.support.hold import Hold
from tests.support.partner_site import PartnerSite, Response
from tests.support.webhook_receiver import Reply, WebhookReceiver
from worker.embedded_redis import EmbeddedRedis, free_port
from worker.store import DeliveryState, Store

SOURCE = "partner"
OUTLETS = ("hook-a", "hook-b")
SECRET = "chaos-webhook-secret"
SECRET_ENV = "CHAOS_WEBHOOK_SECRET"
KILL_POINTS = ("fetch", "store", "queueing", "accepted", "anytime")
#: the statement an ingest runs after it stored the article and marked the link checked, before it queues
#: the deliveries (worker/flow/ingest.py ingest_url: clear_ingest_failure)
AFTER_STORE_BEFORE_QUEUEING = b"DELETE FROM ingest_failures"


class ChaosSite(PartnerSite):
    """The partner site, with a trap: the next article page asked for is held until the test lets go."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.trap: Hold[str] = Hold()

    def start(self) -> ChaosSite:
        super().start()
        assert self.http is not None
        # a page held by the trap is written to a worker killed meanwhile: a broken pipe, expected
        self.http.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
        return self

    def arm_fetch_trap(self) -> threading.Event:
        return self.trap.arm(lambda path: path.startswith("/articles/"))

    def release_fetch_trap(self) -> None:
        self.trap.release()

    def respond(self, path: str) -> Response:
        self.trap.catch(path)
        return super().respond(path)


@dataclass
class ChaosDeployment(Deployment):
    """A Deployment whose store is PostgreSQL (through the proxy) rather than the default SQLite file."""

    store_url: str = ""

    @property
    def database_url(self) -> str:  # type: ignore[override]
        return self.store_url


@dataclass
class ChaosOptions:
    articles: int = 30
    seed: int = 20240607
    #: the workers' settings: short, so a killed worker's task comes back in seconds
    visibility_timeout: int = 10
    stuck_after: int = 20
    sweep_interval: int = 3
    retry_backoff_max: int = 5
    #: enough that a 2-minute outlet outage at a backoff of at most visibility_timeout/2 never gives up
    max_retries: int = 1000
    concurrency: int = 2
    #: the webhook outlets' timeout; the `accepted` kill point holds an accepted answer for less than this
    outlet_timeout: int = 5
    #: set 0 to run without the sweeper (to see the Redis-restart test fail)
    sweeper: bool = True
    #: replies each outlet's receiver gives first (tests/support/webhook_receiver.py), set before any
    #: worker starts: beat polls at once, and a fast pipeline can deliver everything before a test body runs
    scripts: dict[str, list[Reply]] = field(default_factory=dict)


@dataclass
class Audit:
    articles: int
    partner_urls: int
    versions: int
    expected_deliveries: int
    delivered: int
    #: (article, version, outlet) stored but not delivered (ledger) or not accepted (outlet)
    lost: list[str]
    #: a partner URL stored as two articles, a version repeating its predecessor's content, an outlet
    #: item for a version the store does not have, or an outlet item other than the one the ledger names
    duplicated: list[str]
    #: stories whose current text at the partner is not the latest stored version
    stale: list[str]
    unfinished_rows: int
    #: requests the outlets ignored because their Idempotency-Key had been accepted already
    resends_absorbed: int
    outlet_requests: int

    @property
    def complete(self) -> bool:
        return not self.lost and not self.stale and self.unfinished_rows == 0

    def figures(self) -> dict[str, object]:
        return {"articles": self.articles, "versions": self.versions, "deliveries": self.delivered,
                "lost": len(self.lost), "duplicated": len(self.duplicated),
                "outlet requests": self.outlet_requests, "re-sends absorbed by Idempotency-Key": self.resends_absorbed}


@dataclass
class ChaosRun:
    base: Path
    #: SQLAlchemy URL of an empty PostgreSQL database (or schema, via options=-csearch_path)
    database_url: str
    options: ChaosOptions = field(default_factory=ChaosOptions)
    kills: Counter[str] = field(default_factory=Counter)
    redis_restarts: int = 0
    database_outages: int = 0
    outlet_outages: int = 0
    events: list[str] = field(default_factory=list)

    # --- set-up ------------------------------------------------------------------------------------

    def start(self) -> ChaosRun:
        opts = self.options
        self.started = time.monotonic()
        self.rng = random.Random(opts.seed)
        self.redis_server = EmbeddedRedis(self.base / "redis", port=free_port())
        self.redis_url = self.redis_server.start()
        url = make_url(self.database_url)
        self.db_proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432, "postgres").start()
        worker_db_url = url.set(host="127.0.0.1", port=self.db_proxy.port).render_as_string(hide_password=False)
        self.receivers: dict[str, WebhookReceiver] = {}
        self.outlet_proxies: dict[str, TcpProxy] = {}
        for outlet_id in OUTLETS:
            receiver = WebhookReceiver(SECRET).__enter__()
            self.receivers[outlet_id] = receiver
            receiver.script(*opts.scripts.get(outlet_id, []))
            self.outlet_proxies[outlet_id] = TcpProxy("127.0.0.1", receiver.http.port, outlet_id).start()
        self.site = ChaosSite(opts.articles, seed=opts.seed).start()
        self.store = Store(self.database_url)
        self.store.migrate()
        self.deployment = ChaosDeployment(
            base=self.base, redis_url=self.redis_url, key_prefix="chaos:", store_url=worker_db_url,
            visibility_timeout=opts.visibility_timeout, max_retries=opts.max_retries,
            retry_backoff_max=opts.retry_backoff_max,
            extra_env={
                SECRET_ENV: SECRET,
                "SYNDICATION_SWEEP_INTERVAL": str(opts.sweep_interval if opts.sweeper else 0),
                "SYNDICATION_SWEEP_STUCK_AFTER": str(opts.stuck_after),
                "SYNDICATION_SCHEDULER_TICK": "1",
            },
        )
        self._write_config()
        self.app = self.deployment.app()
        self.beat = self.deployment.start_beat()
        self.worker = self._start_worker()
        self.log(f"started: {opts.articles} articles, redis {self.redis_url}, db proxy :{self.db_proxy.port}")
        return self

    def _write_config(self) -> None:
        outlets = "".join(
            f"  - id: {outlet_id}\n    kind: webhook\n    url: http://127.0.0.1:{self.outlet_proxies[outlet_id].port}/hook\n"
            f"    secret_env: {SECRET_ENV}\n    timeout: {self.options.outlet_timeout}\n"
            for outlet_id in OUTLETS
        )
        sources = (
            "sources:\n"
            f"  - id: {SOURCE}\n    name: The Epoch Times\n    allowed_domains: [127.0.0.1]\n"
            "    allow_private_networks: [127.0.0.1/8]\n    ignore_robots: true\n"
            "    ignore_robots_reason: a test partner on loopback\n"
            "    interval: 10\n    rate_limit_per_second: 1000\n    rate_limit_burst: 100\n"
            "    recheck_every_hours: 1000\n"
            f"    discover:\n      - {{kind: feed, url: '{self.site.feed_url}'}}\n"
        )
        self.deployment.write_config(outlets_yaml="outlets:\n" + outlets, sources_yaml=sources)

    def stop(self) -> None:
        for step in (self.deployment.stop_all, self.site.release_fetch_trap, self.db_proxy.release_stall,
                     self.site.stop, self.db_proxy.stop, *[p.stop for p in self.outlet_proxies.values()],
                     *[r.__exit__ for r in self.receivers.values()], self.store.close, self.redis_server.stop):
            try:
                step()
            except Exception as error:  # noqa: BLE001 - tear down everything we can
                self.log(f"teardown {step}: {error!r}")

    def log(self, message: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:7.1f}s {message}")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # --- work ----------------------------------------------------------------------------------------

    def poll_now(self) -> None:
        self.app.send_task("syndication.poll_source", (SOURCE,))

    def settled_stories(self) -> list[int]:
        """Stories whose current text is the latest stored version and whose ledger rows for it exist.

        Only these are edited: a story edited before its version reached the ledger could replace that
        version at the partner before it was delivered, and then it is right not to deliver it; keeping
        edits to settled stories makes "every stored version goes to every outlet" the exact expectation.
        """
        rows = {(d.article_id, d.version, d.outlet_id) for d in self.store.deliveries(limit=1_000_000)}
        settled = []
        for story in self.site.stories:
            article_id = self.store.find_by_url(self.site.url(f"/articles/{story.slug}.html"))
            latest = self.store.get_article(article_id) if article_id else None
            if latest is None or story.paragraphs[1] not in latest.body_text:
                continue
            if all((latest.id, latest.version, outlet_id) in rows for outlet_id in OUTLETS):
                settled.append(story.index)
        return settled

    def make_work(self, edits: int = 2) -> list[int]:
        """Edit a few settled stories, import them (as `syndicate import` does) and ask for a poll, so
        there is something in flight to kill.

        Why import as well as poll: a poll killed in flight holds its source's poll lock until the lock
        expires (tasks.POLL_LOCK_SECONDS, 2 minutes), and a run with 20 kills would mostly wait for it.
        """
        candidates = self.settled_stories()
        chosen = self.rng.sample(candidates, min(edits, len(candidates)))
        for index in chosen:
            self.site.edit(index)
            self.app.send_task("syndication.ingest", (SOURCE, self.site.article_url(index)))
        self.poll_now()
        return chosen

    # --- faults --------------------------------------------------------------------------------------

    def kill_worker(self, point: str, wait: float = 20.0) -> str:
        """SIGKILL the worker when `point` is reached (or after `wait` seconds anyway); start a new one."""
        fired: Callable[[], bool]
        if point == "fetch":
            fired = self.site.arm_fetch_trap().is_set
        elif point == "store":
            fired = self.db_proxy.stall_next().is_set
        elif point == "queueing":
            fired = self.db_proxy.stall_next(AFTER_STORE_BEFORE_QUEUEING).is_set
        elif point == "accepted":
            receiver = self.receivers["hook-a"]
            before = len(receiver.accepted)
            receiver.script(Reply(200, delay=self.options.outlet_timeout - 2, accept=True))
            fired = lambda: len(receiver.accepted) > before
        else:
            moment = time.monotonic() + self.rng.uniform(0.05, 2.5)
            fired = lambda: time.monotonic() >= moment
        give_up_at = time.monotonic() + wait
        while not fired() and time.monotonic() < give_up_at:
            time.sleep(0.01)
        hit = point if fired() else f"{point} (not reached in {wait:.0f}s)"
        self.deployment.kill(self.worker)
        self.site.release_fetch_trap()
        self.db_proxy.release_stall()
        self.kills[hit] += 1
        self.log(f"SIGKILL #{sum(self.kills.values())} at {hit}")
        self.worker = self._start_worker()
        return hit

    def _start_worker(self, timeout: float = 60) -> subprocess.Popen[bytes]:
        """deployment.start_worker, but a ping that fails on a connection the restarted Redis closed is
        asked again (the worker process is up; only our question was lost)."""
        try:
            return self.deployment.start_worker(concurrency=self.options.concurrency)
        except (redis.ConnectionError, OSError):
            process = self.deployment.workers[-1]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, "worker exited early"
            try:
                if self.deployment.app().control.ping(timeout=0.5):
                    return process
            except (redis.ConnectionError, OSError):
                time.sleep(0.2)
        raise AssertionError(f"the worker did not answer within {timeout}s")

    def restart_redis(self) -> None:
        """Stop Redis (its queues, unacknowledged tasks, countdowns and locks go with it) and start an empty one."""
        port = self.redis_server.port
        client = redis.Redis.from_url(self.redis_url)
        client.set("chaos:before-restart", "1")
        held = client.dbsize()
        self.redis_server.stop()
        self.redis_server = EmbeddedRedis(self.base / "redis", port=port)
        self.redis_server.start()
        assert not client.exists("chaos:before-restart"), "the restarted Redis kept its data"
        self.log(f"Redis had {held} keys before the restart")
        self.redis_restarts += 1
        self.log("Redis restarted empty")

    def database_down(self) -> None:
        self.db_proxy.down(refuse=True)
        self.database_outages += 1
        self.log("database down")

    def database_up(self) -> None:
        self.db_proxy.up()
        self.log("database up")

    def outlet_down(self, outlet_id: str) -> None:
        self.outlet_proxies[outlet_id].down(refuse=False)
        self.outlet_outages += 1
        self.log(f"outlet {outlet_id} down")

    def outlet_up(self, outlet_id: str) -> None:
        self.outlet_proxies[outlet_id].up()
        self.log(f"outlet {outlet_id} up ({self.outlet_proxies[outlet_id].knocks} connection attempts refused)")

    # --- counting ------------------------------------------------------------------------------------

    def audit(self) -> Audit:
        store, site = self.store, self.site
        articles = store.list_articles(limit=1_000_000)
        by_url = Counter(article.url for article in articles)
        duplicated = [f"{url} stored as {n} articles" for url, n in by_url.items() if n > 1]
        stale = []
        expected: set[tuple[str, int, str]] = set()
        versions = 0
        for story in site.stories:
            url = site.url(f"/articles/{story.slug}.html")
            article_id = store.find_by_url(url)
            history = store.versions(article_id) if article_id else []
            versions += len(history)
            if not history or story.paragraphs[1] not in history[-1].body_text:
                stale.append(f"story {story.index} (revision {story.revision}): {len(history)} versions stored")
            if [v.version for v in history] != list(range(1, len(history) + 1)):
                duplicated.append(f"{url}: versions {[v.version for v in history]}")
            for older, newer in pairwise(history):
                if older.content_hash == newer.content_hash:
                    duplicated.append(f"{url}: v{newer.version} repeats v{older.version}")
            expected |= {(v.id, v.version, outlet_id) for v in history for outlet_id in OUTLETS}
        rows = {(d.article_id, d.version, d.outlet_id): d for d in store.deliveries(limit=1_000_000)}
        lost = []
        for key in sorted(expected):
            article_id, version, outlet_id = key
            row = rows.get(key)
            accepted = self.receivers[outlet_id].accepted.get(f"{article_id}:{version}")
            if row is None or row.state != DeliveryState.DELIVERED:
                lost.append(f"{article_id} v{version} -> {outlet_id}: ledger {row.state.value if row else 'no row'}")
            elif accepted is None:
                lost.append(f"{article_id} v{version} -> {outlet_id}: delivered on the ledger, not at the outlet")
            elif row.remote_id != accepted:
                duplicated.append(f"{article_id} v{version} -> {outlet_id}: ledger names {row.remote_id}, outlet holds {accepted}")
        for outlet_id, receiver in self.receivers.items():
            for key in list(receiver.accepted):
                article_id, _, version = key.rpartition(":")
                if (article_id, int(version), outlet_id) not in expected:
                    duplicated.append(f"{outlet_id} holds {key}, a version the store does not have")
        requests = [r for receiver in self.receivers.values() for r in list(receiver.requests)]
        return Audit(
            articles=len(articles), partner_urls=len(site.stories), versions=versions,
            expected_deliveries=len(expected),
            delivered=sum(1 for d in rows.values() if d.state == DeliveryState.DELIVERED),
            lost=lost, duplicated=duplicated, stale=stale,
            unfinished_rows=sum(1 for d in rows.values() if not d.state.is_final),
            resends_absorbed=sum(1 for r in requests if r.duplicate), outlet_requests=len(requests),
        )

    def settle(self, timeout: float, poll_every: float = 10.0) -> Audit:
        """Wait until everything the partner holds is stored and delivered, then a moment more (so a late
        duplicate would show); returns the audit. Asks for a poll now and then, as the beat does."""
        deadline = time.monotonic() + timeout
        next_poll = 0.0
        audit = self.audit()
        while not audit.complete and time.monotonic() < deadline:
            if time.monotonic() >= next_poll:
                self.poll_now()
                next_poll = time.monotonic() + poll_every
            time.sleep(1.0)
            audit = self.audit()
        if audit.complete:
            self.log("settled")
            time.sleep(self.options.visibility_timeout + 2)  # a stray re-delivery would arrive by now
            audit = self.audit()
        return audit

    def sweeps(self) -> int:
        """How many ingests and deliveries the sweeper re-queued, from the workers' logs."""
        total = 0
        for path in self.base.glob("worker-*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if "sweeper re-queued" in line:
                    words = line.split("sweeper re-queued ", 1)[1].split()
                    total += int(words[0]) + int(words[4])
        return total

    def failed_tasks(self, containing: str = "") -> list[str]:
        """Tasks that ended in an error (not a retry), from the workers' logs."""
        return [line for path in sorted(self.base.glob("worker-*.log"))
                for line in path.read_text(errors="replace").splitlines()
                if "raised unexpected" in line and containing in line]

    def report(self, audit: Audit) -> str:
        figures = {
            "duration": f"{self.elapsed:.0f}s", "SIGKILLs": sum(self.kills.values()),
            "kill points": dict(self.kills), "Redis restarts": self.redis_restarts,
            "database outages": self.database_outages, "outlet outages": self.outlet_outages,
            "re-queued by the sweeper": self.sweeps(), "tasks failed": len(self.failed_tasks()),
            **audit.figures(),
        }
        lines = [f"{name}: {value}" for name, value in figures.items()]
        if audit.lost or audit.duplicated or audit.stale or audit.unfinished_rows:
            lines += ["lost:", *audit.lost[:20], "duplicated:", *audit.duplicated[:20], "stale:", *audit.stale[:20],
                      f"unfinished ledger rows: {audit.unfinished_rows}"]
        return "\n".join(lines)

    def diagnostics(self) -> str:
        tail = "\n".join(self.events[-60:])
        logs = sorted(self.base.glob("worker-*.log"), key=os.path.getmtime)
        last = logs[-1].read_text(errors="replace")[-6000:] if logs else ""
        return f"--- events ---\n{tail}\n--- last worker log ---\n{last}"
