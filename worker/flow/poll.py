"""One poll of one source: run each of its discover entries, and queue what needs an ingest.

Each entry's kind (feed, sitemap, listing, or a plug-in `package.module:Class`; worker/discover/kind.py)
is handed this stage's conditional fetch and returns candidate links; the stage has no per-kind code.

Nothing is fetched that need not be: every discovery resource is fetched with the validators of its
last fetch (a 304 parses nothing), and the store decides which links need an ingest (new, changed
per their feed entry, or due a re-check inside the source's updates window), claiming each for exactly
one poller. No Celery here: tasks.py wraps `poll_source`; the `heartbeat` it passes keeps the poll lock.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from worker.config import Source
from worker.discover import Candidate, filter_candidates
from worker.discover.kind import RICHEST, PollState, discovery_kind, entry_options
from worker.errors import ConfigError, PermanentError, SyndicationError, TransientError
from worker.flow.services import Services
from worker.flow.withdraw import partner_withdrew
from worker.http.page import Page, Validators
from worker.store import Store
from worker.store.polling import LinkSeen

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


class _ConditionalFetch:
    """The `fetch` a discovery kind is handed (worker.discover.kind.Fetch): every partner request through
    worker.http with the source's rules, and the conditional GET bookkeeping in one place."""

    def __init__(self, services: Services, source: Source, report: PollReport, heartbeat: Callable[[], None]):
        self.services = services
        self.source = source
        self.http = services.http.for_source(source)
        self.report = report
        self.heartbeat = heartbeat

    def __call__(self, url: str, *, html: bool = False, accept: str | None = None) -> Page | None:
        """Fetch a discovery resource conditionally; None when it has not changed since last time."""
        store = self.services.store
        state = store.url_state(self.source.id, url)
        validators = Validators(state.etag, state.last_modified) if state else None
        if html:
            page = self.http.page(url, validators=validators)
        elif accept:
            page = self.http.resource(url, accept, validators=validators)
        else:
            page = self.http.resource(url, validators=validators)
        self.heartbeat()
        store.save_url_state(self.source.id, url, etag=page.etag or (state.etag if state else None),
                             last_modified=page.last_modified or (state.last_modified if state else None),
                             status=page.status)
        if page.not_modified:
            self.report.not_modified.append(url)
            return None
        return page


@lru_cache(maxsize=64)
def _richness(kind: str | None) -> int:
    """How much a discovery kind says about an entry (DiscoveryKind.richness); 0 for a kind that no
    longer loads (a plug-in removed since it tagged a stored fingerprint). Cached: it is asked once per
    candidate, and a kind that does not load would otherwise search the import path every time."""
    if kind is None:
        return 0
    try:
        return discovery_kind(kind).richness
    except ConfigError:
        return 0


def _comparable_fingerprint(store: Store, source_id: str, candidate: Candidate, kind: str) -> str:
    """The candidate's fingerprint, tagged with its discovery kind; the stored one when that came from a
    richer kind.

    Why: fingerprints of different kinds never agree (a listing link's title alone vs a feed entry's title,
    dates and summary). A busy listing page answering 200 while the feed answers 304 would otherwise look
    like an edit of every link on it, and re-plan them all, and the feed's next change would flip them
    back. The richer kind detects edits when it next answers 200; a richer kind replacing a poorer one
    costs one conditional re-fetch per link, once.
    """
    tagged = f"{kind}:{candidate.fingerprint}"
    if _richness(kind) >= RICHEST:
        return tagged
    known = store.known_link(source_id, candidate.url)
    if known is None or known.fingerprint is None:
        return tagged
    # the tag is all before the last colon: a plug-in kind's name (package.module:Class) has one itself
    stored_kind = known.fingerprint.rsplit(":", 1)[0] if ":" in known.fingerprint else None
    # an untagged fingerprint predates tagging and came from whichever kind: not evidence either way
    richer = stored_kind is None or _richness(stored_kind) > _richness(kind)
    return known.fingerprint if richer else tagged


def _link_seen(store: Store, source_id: str, candidate: Candidate, kind: str) -> LinkSeen:
    """What the store records of a candidate: its comparable fingerprint and, from a structured
    source, the declared article (stored with the link for the ingest) or where the ingest fetches it."""
    return LinkSeen(
        url=candidate.url, guid=candidate.guid, published=candidate.published,
        fingerprint=_comparable_fingerprint(store, source_id, candidate, kind),
        item=candidate.item.model_dump_json() if candidate.item is not None else None,
        item_url=candidate.item_url, item_kind=kind if candidate.item_url is not None else None,
    )


def _due_unlisted(services: Services, source: Source, listed: set[str], now: datetime) -> list[LinkSeen]:
    """Known links inside the updates window that this poll's discovery did not hand over, and whose
    re-check is due.

    Why: a feed that answers 304 (or has dropped an entry) lists nothing, yet the partner may have
    edited or withdrawn the page meanwhile; updates_window_hours promises a re-fetch by the clock, not
    only when a feed changes. They go through plan_ingests with their stored fingerprint, so only the
    re-check rule (not "changed") can plan them, and only one concurrent poller claims each.
    """
    store = services.store
    recheck_before = now - timedelta(hours=source.recheck_every_hours)
    due = []
    for url in store.known_links(source.id, since=now - timedelta(hours=source.updates_window_hours)):
        if url in listed:
            continue
        link = store.known_link(source.id, url)
        if link is None or link.fingerprint is None:
            continue  # met only through an operator's import: discovery never vouched for it
        if any(at is not None and at >= recheck_before for at in (link.last_checked_at, link.last_planned_at)):
            continue
        # a link whose item can be fetched alone is re-read there (refetch_item), which is also how a
        # structured source's deleted or unpublished article is found out
        due.append(LinkSeen(url=url, guid=link.guid, fingerprint=link.fingerprint, published=link.published_at,
                            item_url=link.item_url, item_kind=link.item_kind, refetch_item=True))
    return due


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
    fetch = _ConditionalFetch(services, source, report, heartbeat)
    state = PollState(since=since)
    store.record_poll_start(source_id)
    candidates: list[Candidate] = []
    found_by: dict[str, str] = {}  # url -> kind of the first entry that listed it (the one filter_candidates keeps)
    transient: TransientError | None = None
    for entry in source.discover:
        try:
            kind = discovery_kind(entry.kind)
            found = kind().discover(fetch, entry_options(kind, entry), source, state)
            candidates += found
            for candidate in found:
                found_by.setdefault(candidate.url, entry.kind)
        except SyndicationError as exc:
            report.errors.append(f"{entry.label}: {exc}")
            log.warning("poll %s: %s failed: %s", source_id, entry.label, exc)
            if isinstance(exc, TransientError):
                transient = exc
    wanted = filter_candidates(candidates, source)
    report.discovered = len(wanted)
    for candidate in (c for c in wanted if c.withdrawn):
        link = store.known_link(source_id, candidate.url)
        if link and partner_withdrew(services, source_id, link.article_id, "the partner's feed marks it withdrawn"):
            enqueue_withdrawal(link.article_id)
            report.withdrawn.append(candidate.url)
    links = [_link_seen(store, source_id, c, found_by.get(c.url, "feed")) for c in wanted if not c.withdrawn]
    links += _due_unlisted(services, source, {c.url for c in wanted}, now)
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
