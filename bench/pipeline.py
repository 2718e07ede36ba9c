#!/usr/bin/env python3
"""The whole pipeline, end to end (poll → ingest → deliver), against the cost of extraction alone.

    python bench/pipeline.py [--articles 100,1000] [--workers 1,2] [--large] [--bench-dir DIR] [--timeout S] [--profile]

For each (N articles, K worker processes): a loopback partner site whose sitemap lists N article pages,
a loopback webhook outlet (tests/support/webhook_receiver.py, signatures checked), real Redis (REDIS_URL,
else a private server from worker.embedded_redis), SQLite, and K real `syndicate worker --concurrency 1`
processes (tests/plugins/celery_worker.py's Deployment, as the integration tests run them). One poll of
the sitemap is sent; the clock runs until every page is settled (stored and delivered, or recorded as
failed) and the receiver holds every stored article.

The pages are real: the extraction benchmark's HTML (../shared/bench/article-extraction/html/*.html.gz,
121 pages of 21 KB to 1.5 MB from 126 sites) when it is there, else generated pages
(tests/support/partner_pages.py), and the script says which. Page i is base page i mod B, its canonical
link pointed at its own URL on the site; copies after the first round get every word suffixed with a
round marker, so no two pages are the same article to the URL, content-hash or near-duplicate checks
(each is stored and delivered, as N distinct partner articles would be) while costing the extractor
what the original costs.

Printed per run: articles/s end to end; latency p50/p95 from discovery (the partner answered the
sitemap) to delivery (the receiver accepted the article), and from the article page's fetch to
delivery; peak RSS of each worker (its main process plus pool child, summed, sampled every 0.5 s, and
the largest single process's VmHWM); and, measured in this same run, single-process extraction alone
(worker.extract.extract_article on the very same page bytes, the first min(N, --extract-pages) of them,
in this process with nothing else running), so the pipeline's cost is a ratio: pipeline articles/s
divided by extraction-only pages/s. A ratio of 1.0 with K=1 would mean the queue, fetch, store and
delivery cost nothing; with K processes the ceiling is about K (less what Redis, the site, the
receiver and this script take from the same CPUs: the CPU count is printed).

`--profile` samples every worker process with py-spy (`pip install py-spy`; bench/profiling/stages.py) and
prints, per run, the workers' CPU milliseconds per article by stage (extraction, broker, store, fetch, outlet, serialization, images,
config, flow, other): where the time outside extraction goes.

`--large` adds N = 10,000 (about 2 x 190 MB of page bytes served, minutes per run). Figures only, no
asserts: judging them is for the reader, so a slow machine never fails a build.
"""
from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.plugins.celery_worker import Deployment
from tests.support import partner_pages
from tests.support.partner_site import PartnerSite, Response, _etag
from tests.support.webhook_receiver import Received, WebhookReceiver
from worker.config import Source
from worker.embedded_redis import redis_url_or_private

sys.path.insert(0, str(REPO / "bench"))
from profiling import stages  # noqa: E402

SECRET_ENV = "BENCH_PIPELINE_WEBHOOK_SECRET"
SECRET = "bench-pipeline-secret"
SOURCE_ID = "partner"

# --- the pages -------------------------------------------------------------------------------------------

_CANONICAL = re.compile(rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>", re.IGNORECASE)
_OG_URL = re.compile(rb"<meta\b[^>]*\bproperty\s*=\s*[\"']?og:url\b[^>]*>", re.IGNORECASE)
_HEAD = re.compile(rb"<head\b[^>]*>", re.IGNORECASE)
# markup, scripts, styles and comments are left alone; only text between them is touched
_NOT_TEXT = re.compile(rb"(<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->|<[^>]*>)",
                       re.IGNORECASE | re.DOTALL)
# a word of 3+ letters not inside an entity (&amp; &nbsp; &#x2019;)
_WORD = re.compile(r"(?<![&#\w])[^\W\d_]{3,}")


def _marker(round_: int) -> str:
    letters = ""
    while True:
        round_, digit = divmod(round_, 26)
        letters = "abcdefghijklmnopqrstuvwxyz"[digit] + letters
        if round_ == 0:
            return "q" + letters


class PageSet:
    """N distinct article pages made from B base pages; page(i) is the same bytes every time it is asked."""

    def __init__(self, bases: list[bytes], origin_hint: str) -> None:
        self.bases = bases
        self.kind = origin_hint

    @classmethod
    def load(cls, bench_dir: Path) -> PageSet:
        html_dir = bench_dir / "article-extraction" / "html"
        files = sorted(html_dir.glob("*.html.gz"))
        if files:
            return cls([gzip.decompress(f.read_bytes()) for f in files],
                       f"{len(files)} real pages from {html_dir}")
        print(f"extraction benchmark not found ({html_dir} has no *.html.gz): using generated pages "
              "(tests/support/partner_pages.py), which are smaller and more regular than real ones", flush=True)
        return cls(_generated_bases(60), "60 generated pages (benchmark pages missing)")

    @lru_cache(maxsize=512)  # noqa: B019 - one PageSet per run; the cache is what keeps page(i) cheap
    def _split(self, base: int) -> tuple[bytes, ...]:
        html = _OG_URL.sub(b"", _CANONICAL.sub(b"", self.bases[base]))
        return tuple(_NOT_TEXT.split(html))

    def page(self, index: int, origin: str) -> bytes:
        base, round_ = index % len(self.bases), index // len(self.bases)
        parts = list(self._split(base))
        if round_:
            suffix = _marker(round_)
            for n in range(0, len(parts), 2):  # even items are text, odd ones the markup between
                if parts[n].strip():
                    text = parts[n].decode("utf-8", errors="surrogateescape")
                    parts[n] = _WORD.sub(lambda m: m.group(0) + suffix, text).encode("utf-8", errors="surrogateescape")
        html = b"".join(parts)
        link = f'<link rel="canonical" href="{origin}/articles/{index}.html">'.encode()
        head = _HEAD.search(html)
        return html[:head.end()] + link + html[head.end():] if head else link + html


def _generated_bases(count: int) -> list[bytes]:
    class _Site:
        name = "The Epoch Times"
        origin = "http://127.0.0.1"

        def url(self, path: str) -> str:
            return self.origin + path

        def article_url(self, index: int) -> str:
            return self.url(f"/articles/{index}.html")  # replaced per copy by PageSet.page

    from tests.support.partner_site import _make_story

    newest = datetime(2026, 1, 1, tzinfo=UTC)
    return [partner_pages.article_page(_Site(), _make_story(i, 7, newest, timedelta(minutes=3)), linked=False)
            .encode("utf-8") for i in range(count)]


# --- the partner site and the outlet ------------------------------------------------------------------------

class BenchPartner(PartnerSite):
    """robots.txt, one sitemap of N URLs, and the N pages, served by PartnerSite's recording handler.

    The pages are made before the clock starts (prepare()): a real partner's server runs elsewhere, so the
    CPU it takes to make a page must not be taken from the workers on this machine.
    """

    def __init__(self, pages: PageSet, articles: int) -> None:
        super().__init__(0)
        self.pages = pages
        self.articles = articles
        self.published = datetime.now(UTC).replace(microsecond=0)
        self.bodies: list[bytes] = []
        self.etags: list[str] = []

    def prepare(self) -> None:
        started = time.monotonic()
        self.bodies = [self.pages.page(i, self.origin) for i in range(self.articles)]
        self.etags = [_etag(body) for body in self.bodies]
        megabytes = sum(map(len, self.bodies)) / 2**20
        print(f"  site: {self.articles} pages, {megabytes:.0f} MB, made in {time.monotonic() - started:.1f}s "
              "(before the clock starts)", flush=True)

    def respond(self, path: str) -> Response:
        if path == "/sitemap.xml":
            urls = "".join(f"<url><loc>{self.origin}/articles/{i}.html</loc>"
                           f"<lastmod>{(self.published - timedelta(seconds=i)).isoformat()}</lastmod></url>"
                           for i in range(self.articles))
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                    f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()
            return Response(200, body, "application/xml; charset=utf-8", _etag(body))
        match = re.fullmatch(r"/articles/(\d+)\.html", path)
        if match and int(match.group(1)) < self.articles:
            index = int(match.group(1))
            if self.bodies:
                return Response(200, self.bodies[index], "text/html; charset=utf-8", self.etags[index], self.published)
            body = self.pages.page(index, self.origin)
            return Response(200, body, "text/html; charset=utf-8", _etag(body), self.published)
        return super().respond(path)


class TimedReceiver(WebhookReceiver):
    """The loopback webhook receiver, noting when each Idempotency-Key was first accepted."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.accepted_at: dict[str, float] = {}

    def _accept(self, record: Received) -> tuple[int, bytes]:
        now = time.monotonic()
        answer = super()._accept(record)
        with self._lock:
            self.accepted_at.setdefault(record.key or "", now)
        return answer


# --- measuring -------------------------------------------------------------------------------------------

def _status(pid: int) -> dict[str, int]:
    fields = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    fields[name] = int(value.split()[0]) * 1024
        # PSS: each shared page counted once across the processes sharing it (the main process preloads
        # what its pool child uses, so their RSS double-counts those pages; PSS does not)
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    fields["Pss"] = int(line.split()[1]) * 1024
    except OSError:
        pass
    return fields


TICK = os.sysconf("SC_CLK_TCK")


def _group_members(pgid: int) -> dict[int, tuple[float, float]]:
    """{pid: (user, system) CPU seconds used so far} of every process in the process group."""
    members = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "(comm)": state ppid pgrp ... utime(11) stime(12)
            members[int(entry.name)] = (int(fields[11]) / TICK, int(fields[12]) / TICK)
    return members


def _cpu(sampler: RssSampler) -> tuple[float, float]:
    """(user, system) CPU seconds of every worker process seen so far."""
    user = sum(u for group in sampler.cpu.values() for u, _ in group.values())
    system = sum(k for group in sampler.cpu.values() for _, k in group.values())
    return user, system


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting on I/O) since boot."""
    with open("/proc/stat", encoding="ascii") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


@dataclass
class RssSampler:
    """Peak RSS of each worker's process group (main + pool child), sampled every `interval` seconds."""

    pgids: list[int]
    interval: float = 0.5
    peak_tree: dict[int, int] = field(default_factory=dict)
    #: the same tree's peak proportional set size (shared pages counted once)
    peak_pss: dict[int, int] = field(default_factory=dict)
    peak_process: dict[int, int] = field(default_factory=dict)
    #: (user, system) CPU seconds of every process seen in each group, by pid (a pool child that died keeps
    #: its last figure)
    cpu: dict[int, dict[int, tuple[float, float]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        for pgid in self.pgids:
            group = _group_members(pgid)
            self.cpu.setdefault(pgid, {}).update(group)
            members = [_status(pid) for pid in group]
            tree = sum(m.get("VmRSS", 0) for m in members)
            self.peak_tree[pgid] = max(self.peak_tree.get(pgid, 0), tree)
            self.peak_pss[pgid] = max(self.peak_pss.get(pgid, 0), sum(m.get("Pss", 0) for m in members))
            hwm = max((m.get("VmHWM", 0) for m in members), default=0)
            self.peak_process[pgid] = max(self.peak_process.get(pgid, 0), hwm)

    def run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    @contextmanager
    def running(self) -> Iterator[RssSampler]:
        thread = threading.Thread(target=self.run, daemon=True, name="rss-sampler")
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self.sample()


def settled(database: Path) -> tuple[int, int, int, int]:
    """(pages settled, failed, articles stored, deliveries delivered), read straight from SQLite."""
    if not database.exists():
        return 0, 0, 0, 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            ok = db.execute("SELECT count(*) FROM url_states WHERE url LIKE '%/articles/%' "
                            "AND article_id IS NOT NULL").fetchone()[0]
            failed = db.execute("SELECT count(*) FROM ingest_failures").fetchone()[0]
            stored = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            delivered = db.execute("SELECT count(*) FROM deliveries WHERE state = 'delivered'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0, 0, 0, 0  # tables not there yet, or a writer holds the lock this instant
    return ok + failed, failed, stored, delivered


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def extraction_only(pages: PageSet, count: int) -> tuple[float, int, int]:
    """(pages/s, pages, errors): extract_article on page bytes as the pipeline gets them, one process."""
    from worker.errors import SyndicationError
    from worker.extract import extract_article

    origin = "http://127.0.0.1:8"
    source = Source(id=SOURCE_ID, name="The Epoch Times", allowed_domains=["127.0.0.1"])
    bodies = [pages.page(i, origin) for i in range(count)]
    for body in bodies[:3]:  # warm-up: lazy imports and caches, as a running worker has them
        try:
            extract_article(body, f"{origin}/articles/0.html", source)
        except SyndicationError:
            pass
    errors = 0
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        try:
            extract_article(body, f"{origin}/articles/{i}.html", source)
        except SyndicationError:
            errors += 1
    return count / (time.perf_counter() - started), count, errors


@dataclass
class RunResult:
    articles: int
    workers: int
    seconds: float
    stored: int
    failed: int
    delivered: int
    rate: float
    discovery_p50: float
    discovery_p95: float
    fetch_p50: float
    fetch_p95: float
    rss_tree: list[int]
    rss_process: list[int]
    pss_tree: list[int]
    bad_signatures: int
    #: CPU seconds during the run: the workers' (main + pool), this script's (site, receiver, watcher), the machine's
    cpu_workers: float = 0.0
    cpu_harness: float = 0.0
    cpu_machine: float = 0.0
    #: of cpu_workers, the part spent in the kernel (sockets, SQLite's file writes)
    cpu_workers_system: float = 0.0
    #: of cpu_workers, the workers' main processes (taking messages from Redis, feeding the pool)
    cpu_main: float = 0.0
    #: with --profile: the worker CPU by stage (bench/profiling/stages.py)
    profile: str = ""


#: py-spy's samples per second (of wall time; only busy samples are kept)
SPY_RATE = 250


def _spy(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling a worker and its pool children from outside (no slowdown, C time included)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                             "--rate", str(SPY_RATE), "--format", "raw", "--output", str(output)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_pipeline(pages: PageSet, articles: int, workers: int, redis: str, timeout: float,
                 profile: bool = False) -> RunResult:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp, \
            BenchPartner(pages, articles) as site, TimedReceiver(SECRET) as receiver:
        base = Path(tmp)
        deployment = Deployment(base=base, redis_url=redis, key_prefix=f"bench-{uuid.uuid4().hex[:8]}:",
                                extra_env={SECRET_ENV: SECRET})
        samples = base / "py-spy.txt"
        spies: list[subprocess.Popen[bytes]] = []
        deployment.write_config(
            outlets_yaml=("outlets:\n  - id: hook\n    kind: webhook\n"
                          f"    url: {receiver.url}\n    secret_env: {SECRET_ENV}\n    timeout: 30\n"),
            sources_yaml=f"""\
sources:
  - id: {SOURCE_ID}
    name: The Epoch Times
    allowed_domains: [127.0.0.1]
    allow_private_networks: [127.0.0.1/8]
    ignore_robots: true
    ignore_robots_reason: a benchmark partner on loopback
    rate_limit_per_second: 1000
    rate_limit_burst: 1000
    discover:
      - {{kind: sitemap, url: '{site.sitemap_url}'}}
""")
        database = base / "var" / "syndication.db"
        site.prepare()
        try:
            processes = [deployment.start_worker(concurrency=1) for _ in range(workers)]
            if profile:
                spies = [_spy(process.pid, samples.with_suffix(f".{n}.txt")) for n, process in enumerate(processes)]
            app = deployment.app()
            sampler = RssSampler([p.pid for p in processes])
            sampler.sample()
            cpu_before = _cpu(sampler)
            main_before = sum(sum(sampler.cpu.get(p.pid, {}).get(p.pid, (0.0, 0.0))) for p in processes)
            harness_before, machine_before = time.process_time(), machine_cpu_seconds()
            with sampler.running():
                started = time.monotonic()
                report = app.send_task("syndication.poll_source", (SOURCE_ID,)).get(timeout=timeout)
                queued = len(report.get("queued", []))
                if queued != articles:
                    print(f"  note: the poll queued {queued} of {articles} pages", flush=True)
                while True:
                    done, failed, stored, delivered = settled(database)
                    if done >= articles and delivered >= stored and len(receiver.accepted_at) >= stored:
                        break
                    if time.monotonic() - started > timeout:
                        print(f"  timed out after {timeout:.0f}s: {done} settled, {stored} stored, "
                              f"{delivered} delivered", flush=True)
                        break
                    time.sleep(0.1)
                finished = max(receiver.accepted_at.values(), default=time.monotonic())
            cpu_after = _cpu(sampler)
            cpu_workers = cpu_after[0] + cpu_after[1] - cpu_before[0] - cpu_before[1]
            cpu_workers_system = cpu_after[1] - cpu_before[1]
            # the main processes (the pids started) apart from their pool children
            cpu_main = sum(sum(sampler.cpu.get(p.pid, {}).get(p.pid, (0.0, 0.0))) for p in processes) - main_before
            cpu_harness = time.process_time() - harness_before
            cpu_machine = machine_cpu_seconds() - machine_before
        finally:
            for spy in spies:
                spy.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
                spy.wait(timeout=60)
            deployment.stop_all()
        if profile:
            merged = samples.with_suffix(".all.txt")
            merged.write_text("".join(p.read_text() for p in sorted(base.glob("py-spy.*.txt"))))
            profile_report = stages.report(merged, articles, SPY_RATE)
        else:
            profile_report = ""

        sitemap_at = min(r.at for r in site.requests if r.path == "/sitemap.xml")
        fetched_at = {}
        for request in site.requests_to("/articles/"):
            fetched_at.setdefault(request.path, request.at)
        to_delivery_from_discovery, to_delivery_from_fetch = [], []
        for record in list(receiver.requests):
            if not record.signature_ok or record.duplicate:
                continue
            match = re.search(rb"/articles/(\d+)\.html", record.body)
            at = receiver.accepted_at.get(record.key or "")
            if match is None or at is None:
                continue
            to_delivery_from_discovery.append(at - sitemap_at)
            fetch = fetched_at.get(f"/articles/{match.group(1).decode()}.html")
            if fetch is not None:
                to_delivery_from_fetch.append(at - fetch)
        done, failed, stored, delivered = settled(database)
        seconds = finished - started
        return RunResult(
            articles=articles, workers=workers, seconds=seconds, stored=stored, failed=failed, delivered=delivered,
            rate=done / seconds if seconds > 0 else float("nan"),
            discovery_p50=percentile(to_delivery_from_discovery, 0.5),
            discovery_p95=percentile(to_delivery_from_discovery, 0.95),
            fetch_p50=percentile(to_delivery_from_fetch, 0.5), fetch_p95=percentile(to_delivery_from_fetch, 0.95),
            rss_tree=[sampler.peak_tree.get(p.pid, 0) for p in processes],
            pss_tree=[sampler.peak_pss.get(p.pid, 0) for p in processes],
            rss_process=[sampler.peak_process.get(p.pid, 0) for p in processes],
            bad_signatures=sum(not r.signature_ok for r in receiver.requests),
            cpu_workers=cpu_workers, cpu_harness=cpu_harness, cpu_machine=cpu_machine,
            cpu_workers_system=cpu_workers_system, cpu_main=cpu_main, profile=profile_report,
        )


def _mb(value: int) -> str:
    return f"{value / 2**20:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", default="100,1000", help="article counts N (default 100,1000)")
    parser.add_argument("--workers", default="1,2", help="worker process counts K (default 1,2)")
    parser.add_argument("--large", action="store_true", help="also N = 10,000 (minutes per run)")
    parser.add_argument("--bench-dir", type=Path, default=REPO.parent / "shared" / "bench",
                        help="the extraction benchmark's directory (default: %(default)s)")
    parser.add_argument("--extract-pages", type=int, default=1000,
                        help="extraction-only is timed on the first min(N, this) pages (default 1000)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run before giving up")
    parser.add_argument("--profile", action="store_true",
                        help="sample every worker process with py-spy and print CPU ms per article by stage")
    args = parser.parse_args()
    sizes = [int(n) for n in args.articles.split(",") if n.strip()] + ([10_000] if args.large else [])
    counts = [int(k) for k in args.workers.split(",") if k.strip()]
    random.seed(1)

    pages = PageSet.load(args.bench_dir)
    print(f"pipeline benchmark: {pages.kind}; {os.cpu_count()} CPUs; SQLite store; webhook outlet; "
          f"`syndicate worker --concurrency 1` x K", flush=True)
    extraction: dict[int, tuple[float, int, int]] = {}
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp, redis_url_or_private(Path(tmp) / "redis") as redis:
        print(f"Redis: {'REDIS_URL' if os.environ.get('REDIS_URL') else 'private server'}", flush=True)
        for articles in sizes:
            sample = min(articles, args.extract_pages)
            if sample not in extraction:
                extraction[sample] = extraction_only(pages, sample)
            alone, sampled, errors = extraction[sample]
            print(f"N={articles}: extraction alone, one process: {alone:.1f} pages/s "
                  f"({sampled} pages, {errors} extraction errors)", flush=True)
            for workers in counts:
                result = run_pipeline(pages, articles, workers, redis, args.timeout, args.profile)
                results.append(result)
                rss = ", ".join(f"{_mb(t)} MB (largest process {_mb(p)} MB; PSS {_mb(q)} MB)"
                                for t, p, q in zip(result.rss_tree, result.rss_process, result.pss_tree, strict=True))
                print(f"  N={articles:>6} K={workers}: {result.rate:6.1f} articles/s end to end "
                      f"({result.seconds:.1f}s; {result.stored} stored, {result.delivered} delivered, "
                      f"{result.failed} failed, {result.bad_signatures} bad signatures); "
                      f"discovery→delivery p50 {result.discovery_p50:.2f}s p95 {result.discovery_p95:.2f}s; "
                      f"fetch→delivery p50 {result.fetch_p50:.2f}s p95 {result.fetch_p95:.2f}s; "
                      f"peak RSS per worker: {rss}; ratio to extraction alone {result.rate / alone:.2f}",
                      flush=True)
                per = 1000 / max(result.stored + result.failed, 1)
                print(f"    CPU per article: workers {result.cpu_workers * per:.1f} ms "
                      f"(main processes {result.cpu_main * per:.1f} ms, in the kernel {result.cpu_workers_system * per:.1f} ms; "
                      f"extraction alone "
                      f"{1000 / alone:.1f} ms), harness (site + receiver + watcher) {result.cpu_harness * per:.1f} ms, "
                      f"rest of the machine (Redis, ...) "
                      f"{(result.cpu_machine - result.cpu_workers - result.cpu_harness) * per:.1f} ms", flush=True)
                if result.profile:
                    print(result.profile, flush=True)

    print("\nsummary (ratio = pipeline articles/s ÷ single-process extraction pages/s on the same pages)")
    print(f"{'N':>6} {'K':>2} {'art/s':>7} {'p50 s':>7} {'p95 s':>7} {'peak RSS/worker MB':>20} "
          f"{'extract/s':>9} {'ratio':>6} {'s/1k art':>8}")
    for result in results:
        alone = extraction[min(result.articles, args.extract_pages)][0]
        rss = "/".join(_mb(t) for t in result.rss_tree)
        print(f"{result.articles:>6} {result.workers:>2} {result.rate:7.1f} {result.discovery_p50:7.2f} "
              f"{result.discovery_p95:7.2f} {rss:>20} {alone:9.1f} {result.rate / alone:6.2f} "
              f"{1000 / result.rate:8.1f}")
    print("growth: seconds per 1,000 articles by N, for each K (flat = linear cost)")
    for workers in counts:
        row = [r for r in results if r.workers == workers]
        print(f"  K={workers}: " + ", ".join(f"N={r.articles}: {1000 / r.rate:.1f}s" for r in row))


if __name__ == "__main__":
    main()
