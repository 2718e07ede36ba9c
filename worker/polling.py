"""One poll of one source: read its feeds, sitemaps and listing pages, and queue what needs an ingest.

Nothing is fetched that need not be: every discovery resource is fetched with the validators of its
last fetch (a 304 parses nothing), and the store decides which links need an ingest (new, changed
per their feed entry, or due a re-check inside the source's updates window), claiming each for exactly
one poller. No Celery here: tasks.py wraps `poll_source`; the `heartbeat` it passes keeps the poll lock.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlsplit

from worker.config import FeedDiscovery, ListingDiscovery, SitemapDiscovery, Source
from worker.discover import Candidate, filter_candidates, newer_than, parse_feed, parse_listing, parse_sitemap
from worker.errors import PermanentError, SyndicationError, TransientError
from worker.fetch import fetch_page, fetch_resource
from worker.page import Page, Validators
from worker.pipeline import Services
from worker.store_polling import LinkSeen

log = logging.getLogger(__name__)

#: a sitemap index may nest; these bound how much one poll reads of it
MAX_SITEMAP_FILES = 50


@dataclass
class PollReport:
    source_id: str
    discovered: int = 0
    queued: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    not_modified: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class _Discovery:
    """The fetch-and-parse loop of one poll, with the conditional GET bookkeeping in one place."""

    def __init__(self, services: Services, source: Source, report: PollReport, heartbeat: Callable[[], None]):
        self.services = services
        self.source = source
        self.report = report
        self.heartbeat = heartbeat

    def _fetch(self, url: str, html: bool = False) -> Page | None:
        """Fetch a discovery resource conditionally; None when it has not changed since last time."""
        store = self.services.store
        state = store.url_state(self.source.id, url)
        validators = Validators(state.etag, state.last_modified) if state else None
        fetch = fetch_page if html else fetch_resource
        page = fetch(url, self.source, self.services.settings, validators=validators,
                     limiter=self.services.limiter, robots=self.services.robots)
        self.heartbeat()
        store.save_url_state(self.source.id, url, etag=page.etag or (state.etag if state else None),
                             last_modified=page.last_modified or (state.last_modified if state else None),
                             status=page.status)
        if page.not_modified:
            self.report.not_modified.append(url)
            return None
        return page

    def feed(self, entry: FeedDiscovery) -> list[Candidate]:
        page = self._fetch(entry.url)
        return parse_feed(page.body, page.url) if page else []

    def sitemap(self, entry: SitemapDiscovery, since: datetime | None) -> list[Candidate]:
        pending, seen, found = [entry.url], set(), []
        while pending and len(seen) < MAX_SITEMAP_FILES:
            url = pending.pop(0)
            if url in seen or not self.source.allows_host(_host(url)):
                continue
            seen.add(url)
            page = self._fetch(url)
            if page is None:
                continue
            parsed = parse_sitemap(page.body, page.url)
            pending.extend(child for child in parsed.sitemaps
                           if since is None or (parsed.sitemap_lastmods.get(child) or since) >= since)
            found.extend(newer_than(parsed.urls, since))
        return found

    def listing(self, entry: ListingDiscovery) -> list[Candidate]:
        url: str | None = entry.url
        found: list[Candidate] = []
        for _ in range(entry.max_pages):
            if url is None or not self.source.allows_host(_host(url)):
                break
            page = self._fetch(url, html=True)
            if page is None:
                break  # an unchanged first page: the pages after it are very likely unchanged too
            parsed = parse_listing(page.text, page.url, entry.link_selector, entry.next_selector)
            found.extend(parsed.links)
            url = parsed.next_url
        return found


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def poll_source(
    services: Services,
    source_id: str,
    enqueue_ingest: Callable[[str, str], None],
    enqueue_withdrawal: Callable[[str], None],
    heartbeat: Callable[[], None] = lambda: None,
    now: datetime | None = None,
) -> PollReport:
    """Discover, plan and queue. A failing discovery entry is reported and the others still run."""
    now = now or datetime.now(timezone.utc)
    source = services.config.source(source_id)
    store = services.store
    report = PollReport(source_id=source_id)
    health = store.source_health(source_id)
    since = health.last_poll_finished_at if health and health.last_poll_ok else None
    discovery = _Discovery(services, source, report, heartbeat)
    store.record_poll_start(source_id)
    candidates: list[Candidate] = []
    transient: TransientError | None = None
    for entry in source.discover:
        try:
            if isinstance(entry, FeedDiscovery):
                candidates += discovery.feed(entry)
            elif isinstance(entry, SitemapDiscovery):
                candidates += discovery.sitemap(entry, since)
            else:
                candidates += discovery.listing(entry)
        except SyndicationError as exc:
            report.errors.append(f"{entry.kind} {entry.url}: {exc}")
            log.warning("poll %s: %s %s failed: %s", source_id, entry.kind, entry.url, exc)
            if isinstance(exc, TransientError):
                transient = exc
    wanted = filter_candidates(candidates, source)
    report.discovered = len(wanted)
    for candidate in (c for c in wanted if c.withdrawn):
        link = store.known_link(source_id, candidate.url)
        if link and link.article_id and store.mark_withdrawn(link.article_id, "the partner's feed marks it withdrawn"):
            enqueue_withdrawal(link.article_id)
            report.withdrawn.append(candidate.url)
    links = [LinkSeen(url=c.url, guid=c.guid, fingerprint=c.fingerprint, published=c.published)
             for c in wanted if not c.withdrawn]
    for url in store.plan_ingests(source_id, links, now, source.updates_window_hours, source.recheck_every_hours):
        enqueue_ingest(source_id, url)
        report.queued.append(url)
    ok = not report.errors
    # new articles are counted when their ingest stores them (Store.record_new_article)
    store.record_poll_result(source_id, ok=ok, error="; ".join(report.errors) or None, new_articles=0)
    log.info("poll %s: %d links, %d queued, %d unchanged resources, %d errors", source_id,
             report.discovered, len(report.queued), len(report.not_modified), len(report.errors))
    if source.discover and len(report.errors) == len(source.discover):
        # nothing got through: a transient cause is worth a retry with backoff, a permanent one is not
        if transient is not None:
            raise transient
        raise PermanentError(f"every discovery entry of {source_id!r} failed: " + "; ".join(report.errors))
    return report
