"""Polling a partner end to end: a generated loopback partner site (tests/support/partner_site.py), real
Celery workers on real Redis (and real beats), SQLite, and a files outlet that counts its calls.

What must hold: one poll ingests every article once; an unchanged site costs only conditional requests
and no article fetch; an edit makes one new version and one re-delivery; beats and workers side by side
never poll one source twice at once nor ingest an article twice; the AMP page and re-syndicated copies
of a story are one article; a page that turns 410 is withdrawn downstream; a hostile feed is refused
and recorded while the worker carries on.
"""
from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from celery import Celery
from celery.result import AsyncResult

from tests.plugins.celery_worker import ROOT, Deployment
from tests.support.counting_outlet import KIND as COUNTING_OUTLET
from tests.support.counting_outlet import calls
from tests.support.partner_site import WIRE_NAME, PartnerSite
from worker.settings import load_settings
from worker.store import DeliveryState, Store

pytestmark = pytest.mark.integration

SOURCE = "theepochtimes"
BILLION_LAUGHS = ROOT / "tests/fixtures/discovery/billion_laughs.xml"


def source_yaml(source_id: str, name: str, discover: str, **settings: object) -> str:
    """One sources.yaml entry for a partner on loopback (robots.txt honoured: the site allows all)."""
    options = {"interval": 900, "rate_limit_per_second": 100, "rate_limit_burst": 50, **settings}
    lines = "".join(f"    {key}: {value}\n" for key, value in options.items())
    entries = f"\n{discover}" if discover else " []\n"
    return (f"  - id: {source_id}\n    name: {name}\n    allowed_domains: [127.0.0.1]\n"
            f"    allow_private_networks: [127.0.0.1/8]\n{lines}    discover:{entries}")


def site_discovery(site: PartnerSite) -> str:
    return (f"      - {{kind: feed, url: '{site.feed_url}'}}\n"
            f"      - {{kind: sitemap, url: '{site.sitemap_url}'}}\n"
            f"      - {{kind: listing, url: '{site.listing_url}', link_selector: a.story-link, "
            "next_selector: a.next, max_pages: 5}\n")


def configure(deployment: Deployment, *entries: str) -> None:
    deployment.write_config(
        outlets_yaml=f"outlets:\n  - id: files\n    kind: {COUNTING_OUTLET}\n    directory: {deployment.outlet_dir}\n",
        sources_yaml="sources:\n" + "".join(entries),
    )


def run_task(app: Celery, name: str, *args: str, timeout: float = 60) -> AsyncResult:
    result = app.send_task(name, args)
    deadline = time.monotonic() + timeout
    while not result.ready():
        assert time.monotonic() < deadline, f"{name}{args} did not finish within {timeout}s"
        time.sleep(0.1)
    return result


def poll(app: Celery, source_id: str = SOURCE) -> dict[str, Any]:
    result = run_task(app, "syndication.poll_source", source_id)
    assert result.successful(), result.result
    return result.result


def ingest(app: Celery, url: str, source_id: str = SOURCE) -> dict[str, Any]:
    result = run_task(app, "syndication.ingest", source_id, url)
    assert result.successful(), result.result
    return result.result


def wait_for(check: Callable[[], bool], what: str, deployment: Deployment, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}\n--- worker log ---\n{deployment.worker_log(0)[-4000:]}")
        time.sleep(0.2)


def delivered(store: Store) -> list[tuple[str, int]]:
    return sorted((d.article_id, d.version) for d in store.deliveries(limit=10_000)
                  if d.state == DeliveryState.DELIVERED)


def wait_delivered(deployment: Deployment, store: Store, count: int) -> None:
    """Until `count` ledger rows are delivered; then a moment more, so a duplicate would have time to show."""
    wait_for(lambda: len(delivered(store)) >= count, f"{count} deliveries", deployment)
    time.sleep(1.0)


def publishes(deployment: Deployment) -> Counter[tuple[object, object]]:
    return Counter((c["article_id"], c["version"]) for c in calls(deployment.outlet_dir, "publish"))


# --- a: one poll ingests everything once; an unchanged site costs nothing; an edit is one new version ---

def test_poll_ingests_each_article_once_then_only_revalidates_then_picks_up_an_edit(deployment: Deployment) -> None:
    with PartnerSite(20, listing_page_size=8) as site:
        configure(deployment, source_yaml(SOURCE, "The Epoch Times", site_discovery(site)))
        deployment.start_worker(concurrency=2)
        app, store = deployment.app(), Store(deployment.database_url)

        first = poll(app)
        assert sorted(first["queued"]) == sorted(site.article_url(i) for i in range(20))
        wait_delivered(deployment, store, 20)
        articles = store.list_articles(limit=100)
        assert len(articles) == 20
        assert {a.url for a in articles} == {site.article_url(i) for i in range(20)}
        assert Counter(r.path for r in site.article_fetches()) == Counter(site.article_path(i) for i in range(20))
        assert publishes(deployment) == Counter({(a.id, 1): 1 for a in articles})
        assert [r.path for r in site.requests_to("/news/")] == ["/news/", "/news/page/2/", "/news/page/3/"]

        site.clear_requests()
        second = poll(app)
        assert second["queued"] == [] and second["errors"] == []
        time.sleep(1.0)  # an ingest, had one been queued, would have fetched by now
        answered = [(r.path, r.status, r.conditional) for r in site.requests]
        assert sorted(answered) == [("/feed.xml", 304, True), ("/news/", 304, True), ("/sitemap.xml", 304, True)]
        assert site.article_fetches() == []

        site.clear_requests()
        edited = site.edit(3)
        third = poll(app)
        assert third["queued"] == [site.article_url(3)]
        wait_delivered(deployment, store, 21)
        fetches = site.article_fetches()
        assert [(r.path, r.status, r.conditional) for r in fetches] == [(site.article_path(3), 200, True)]
        article_id = store.find_by_url(site.article_url(3))
        assert article_id is not None
        versions = store.versions(article_id)
        assert [v.version for v in versions] == [1, 2]
        assert edited.paragraphs[1] in versions[1].body_text and edited.paragraphs[1] not in versions[0].body_text
        assert len(store.list_articles(limit=100)) == 20
        counts = publishes(deployment)
        assert counts[(article_id, 2)] == 1 and sum(counts.values()) == 21

        # a busy section page changes between polls while the feed does not: its links are all known
        # and unchanged, so no article page may be fetched (listing links carry less than feed entries)
        site.clear_requests()
        site.touch_listing()
        fourth = poll(app)
        assert fourth["queued"] == []
        time.sleep(1.0)
        assert ("/news/", 200) in [(r.path, r.status) for r in site.requests]
        assert site.article_fetches() == []


# --- b: two workers with beats: one poll of a source at a time, each article ingested once -----------

@dataclass(frozen=True)
class PollRun:
    """One poll as the partner saw it: the discovery requests from a feed request up to the next."""

    started: float
    paths: list[str]


def _poll_runs(site: PartnerSite) -> list[PollRun]:
    """Discovery requests grouped per poll. A poll asks for the feed, the sitemap and the listing in that
    order, each answer held back by the site, so polls that overlapped would show interleaved."""
    runs: list[PollRun] = []
    for request in sorted(site.discovery_requests(), key=lambda r: r.at):
        if request.path == "/feed.xml":
            runs.append(PollRun(request.at, []))
        assert runs, f"discovery began with {request.path}, not the feed"
        runs[-1].paths.append(request.path)
    return runs


ONE_POLL = ["/feed.xml", "/sitemap.xml", "/news/"]


def test_two_workers_with_beats_poll_once_at_a_time_and_ingest_once(deployment: Deployment) -> None:
    interval = 10
    window = 3 * interval
    with PartnerSite(12, discovery_delay=0.5) as site:  # slow answers: a poll lasts ~1.5 s
        configure(deployment, source_yaml(SOURCE, "The Epoch Times", site_discovery(site), interval=interval))
        deployment.start_worker(beat=True)
        deployment.start_worker(beat=True)
        app, store = deployment.app(), Store(deployment.database_url)
        wait_for(lambda: bool(site.discovery_requests()), "the first scheduled poll", deployment, timeout=45)
        first_poll = site.discovery_requests()[0].at
        wait_delivered(deployment, store, 12)
        time.sleep(max(0.0, first_poll + window + 0.5 - time.monotonic()))
        wait_for(lambda: _poll_runs(site)[-1].paths == ONE_POLL, "the poll in progress to finish", deployment, timeout=20)

        runs = _poll_runs(site)
        assert all(run.paths == ONE_POLL for run in runs), [run.paths for run in runs]
        # Each claim moves the source's due time an `interval` (10 s) on and is made on a beat tick (every
        # scheduler_tick = 15 s per beat, the default): at most 3 fit in 30 s, whatever the two beats' phase.
        # Without the claim every tick of both beats would poll: 4 or more.
        in_window = [run for run in runs if run.started <= first_poll + window]
        assert 2 <= len(in_window) <= 3, ([round(r.started - first_poll, 1) for r in runs], load_settings({}).scheduler_tick)
        assert Counter(r.path for r in site.article_fetches()) == Counter(site.article_path(i) for i in range(12))
        articles = store.list_articles(limit=100)
        assert len(articles) == 12
        assert publishes(deployment) == Counter({(a.id, 1): 1 for a in articles})
        logs = [deployment.worker_log(i) for i in range(2)]
        assert all("Sending due task schedule-polls" in log for log in logs), "both beats must have ticked"
        assert not any("another poll of it is running" in log for log in logs)

        # Two polls sent at once, one per worker: the Redis poll lock lets one run, the other skips.
        results = [app.send_task("syndication.poll_source", (SOURCE,)) for _ in range(2)]
        wait_for(lambda: all(r.ready() for r in results), "the two polls", deployment, timeout=30)
        ran = [r.result for r in results if "skipped" not in r.result]
        assert len(ran) <= 1, ran
        runs = _poll_runs(site)
        assert all(run.paths == ONE_POLL for run in runs), [run.paths for run in runs]


# --- c: AMP and re-syndicated copies are the same article ---------------------------------------

def test_amp_page_and_resyndicated_copies_are_one_article_delivered_once(deployment: Deployment) -> None:
    with PartnerSite(3) as site:
        configure(deployment, source_yaml(SOURCE, "The Epoch Times", site_discovery(site)),
                  source_yaml("partnerwire", WIRE_NAME, ""))
        deployment.start_worker()
        app, store = deployment.app(), Store(deployment.database_url)

        canonical = ingest(app, site.article_url(0))
        assert canonical["outcome"] == "new"
        amp = ingest(app, site.amp_url(0))
        assert amp["article_id"] == canonical["article_id"] and amp["deliveries"] == []
        amp_first = ingest(app, site.amp_url(1))  # the AMP page met first stands for its canonical page
        assert amp_first["outcome"] == "new"
        assert store.get_article(amp_first["article_id"]).url == site.article_url(1)
        assert ingest(app, site.article_url(1))["deliveries"] == []

        # another outlet's copies, each ending "From The Epoch Times": one with its own canonical URL
        # (matched by its text), one whose canonical link names the original (matched by that URL)
        for url in (site.copy_url(0), site.copy_url(0, canonical_to_original=True)):
            copy = ingest(app, url, "partnerwire")
            assert (copy["outcome"], copy["article_id"], copy["deliveries"]) == ("duplicate", canonical["article_id"], [])
        wait_delivered(deployment, store, 2)

        articles = store.list_articles(limit=10)
        assert {a.url for a in articles} == {site.article_url(0), site.article_url(1)} and len(articles) == 2
        assert all([v.version for v in store.versions(a.id)] == [1] for a in articles)
        assert publishes(deployment) == Counter({(a.id, 1): 1 for a in articles})
        assert store.find_by_url(site.copy_url(0)) == canonical["article_id"]
        assert store.find_by_url(site.amp_url(0)) == canonical["article_id"]


# --- d: a page that answers 410 on re-check is withdrawn downstream ----------------------------

def test_article_gone_on_recheck_is_withdrawn_from_the_outlet_once(deployment: Deployment) -> None:
    recheck_hours = 1 / 3600  # re-check a second after the last check, so the test need not wait hours
    with PartnerSite(3) as site:
        configure(deployment, source_yaml(SOURCE, "The Epoch Times", site_discovery(site),
                                          recheck_every_hours=f"{recheck_hours:.6f}"))
        deployment.start_worker()
        app, store = deployment.app(), Store(deployment.database_url)
        poll(app)
        wait_delivered(deployment, store, 3)
        gone_id = store.find_by_url(site.article_url(1))
        assert gone_id is not None

        site.withdraw(1)  # the feed still lists it and answers 304: only the re-check can notice
        time.sleep(1.5)
        site.clear_requests()
        report = poll(app)
        assert site.article_url(1) in report["queued"]
        wait_for(lambda: bool(calls(deployment.outlet_dir, "withdraw")), "the withdrawal", deployment)
        time.sleep(1.5)
        poll(app)  # a later poll must not withdraw (or fetch) it again
        time.sleep(1.5)

        assert ("/feed.xml", 304) in [(r.path, r.status) for r in site.requests]
        assert [r.status for r in site.requests_to(site.article_path(1))] == [410]
        assert store.is_withdrawn(gone_id)
        assert [c["article_id"] for c in calls(deployment.outlet_dir, "withdraw")] == [gone_id]
        folder = deployment.outlet_dir / gone_id
        assert (folder / "withdrawn.json").exists()
        assert "withdrawn by its publisher" in (folder / "index.html").read_text()
        others = [store.find_by_url(site.article_url(i)) for i in (0, 2)]
        assert not any(store.is_withdrawn(article_id) for article_id in others if article_id)
        assert sum(publishes(deployment).values()) == 3


# --- e: a hostile feed is refused and recorded; the worker carries on ---------------------------

def test_billion_laughs_feed_is_refused_recorded_and_the_worker_carries_on(deployment: Deployment) -> None:
    with PartnerSite(2) as site:
        hostile_feed = site.serve("/hostile/feed.xml", BILLION_LAUGHS.read_bytes())
        configure(deployment, source_yaml(SOURCE, "The Epoch Times", site_discovery(site)),
                  source_yaml("hostile", "Hostile Partner", f"      - {{kind: feed, url: '{hostile_feed}'}}\n"))
        worker = deployment.start_worker()
        app, store = deployment.app(), Store(deployment.database_url)

        started = time.monotonic()
        refused = run_task(app, "syndication.poll_source", "hostile")
        assert refused.failed() and time.monotonic() - started < 20
        assert re.search(r"entit", str(refused.result), re.IGNORECASE), refused.result
        health = store.source_health("hostile")
        assert health is not None and health.last_poll_ok is False and health.consecutive_failures == 1
        assert health.last_error and "entit" in health.last_error.lower() and hostile_feed in health.last_error

        assert worker.poll() is None, "the worker must survive a hostile feed"
        good = poll(app)
        assert len(good["queued"]) == 2
        wait_delivered(deployment, store, 2)
        assert len(store.list_articles(limit=10)) == 2
        assert store.source_health(SOURCE).last_poll_ok is True


# --- the operator's Run Now and health table -----------------------------------------------------------

def test_poll_now_from_the_cli_reports_what_it_queued_and_sources_shows_health(deployment: Deployment) -> None:
    import subprocess
    import sys

    def syndicate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "worker.cli", *args], env=deployment.env(), cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    with PartnerSite(3) as site:
        configure(deployment, source_yaml(SOURCE, "The Epoch Times", f"      - {{kind: feed, url: '{site.feed_url}'}}\n"))
        deployment.start_worker()
        result = syndicate("poll", SOURCE, "--wait")
        assert result.returncode == 0, result.stderr
        assert "3 links, 3 queued for ingest" in result.stderr
        assert sorted(result.stdout.split()) == sorted(site.article_url(i) for i in range(3))
        wait_delivered(deployment, Store(deployment.database_url), 3)
        table = syndicate("sources")
        assert table.returncode == 0, table.stderr
        row = next(line for line in table.stdout.splitlines() if line.startswith(SOURCE))
        assert " ok " in row and row.split()[-1] == "3"  # status ok, 3 articles counted
