"""Ingest one URL: fetch the page, extract the canonical article, store it, plan its deliveries.

A link from a structured source (a ninjs endpoint, a full-content feed, WordPress's REST API) is not
scraped: its declared article, stored with the link or fetched from its own item URL, is made
canonical by worker.extract.declared, and from there on it is stored and delivered as any other.

No Celery here: tasks.py wraps `ingest_url`, the CLI and tests call it directly. The page answering 410
is the partner withdrawing the article, which takes the one withdrawal route (flow/withdraw.py).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from worker.config import Source
from worker.discover.kind import discovery_kind
from worker.errors import GoneError, HttpStatusError, PermanentError
from worker.extract import extract_article
from worker.extract.declared import article_from_declared
from worker.fingerprint import Signature, fingerprint_text
from worker.flow.images import collect_images
from worker.flow.routing import outlets_for
from worker.flow.services import Services
from worker.flow.withdraw import partner_withdrew
from worker.http.page import Page, Validators
from worker.http.urls import normalize_link
from worker.schema import Article, article_id_for
from worker.schema.declared import DeclaredArticle
from worker.store import Delivery, UpsertOutcome
from worker.store.polling import UrlState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestReport:
    source_id: str
    url: str
    article_id: str | None
    version: int | None
    #: new | new_version | unchanged | not_modified | duplicate
    outcome: str
    headline: str
    deliveries: list[str]

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def route(services: Services, article: Article, requested: list[str] | None, *, new: bool = False) -> list[str]:
    """Outlets that should hold this article: the ones asked for, else every enabled outlet whose routing
    rules take it, plus every outlet that already had an earlier version (a new version follows the old
    one wherever it went, even if the rules changed since). `new`: the article was stored just now for
    the first time, so no outlet had it (and the store is not asked).
    """
    if requested:
        for outlet_id in requested:
            services.config.outlet(outlet_id)  # an unknown outlet is a permanent error, named
        targets = list(requested)
    else:
        targets = outlets_for(article, services.config.outlets.values())
    if new:
        return targets
    had_it = sorted(services.store.outlets_delivered(article.id) - set(targets))
    return targets + [o for o in had_it if o in services.config.outlets]


def _fetch(services: Services, source: Source, url: str) -> tuple[Page, str | None, UrlState | None]:
    """Fetch conditionally when we hold the article this URL gave last time; returns (page, that article id,
    the URL's state as it was before this fetch)."""
    state = services.store.url_state(source.id, url)
    known_article = state.article_id if state else None
    validators = Validators(state.etag, state.last_modified) if state and known_article else None
    page = services.http.for_source(source).page(url, validators=validators)
    return page, known_article, state


def _declared(services: Services, source: Source, url: str) -> tuple[Page, Article] | None:
    """The article a structured source declared for this link, when it did; None: scrape the page.

    The item stored with the link by the poll (a ninjs item, a full-content feed entry) is used as it
    is: nothing is fetched, and a re-run after a crash builds the same article. A link whose item lives
    at its own URL (a WordPress post's REST route) is read there by its discovery kind; the statuses the
    kind names as gone withdraw it as a page's 410 would, and only those: an item URL is an API's, whose
    404 may be the API's own (switched off, moved) rather than the article's, and taking that for a
    withdrawal would take down every recent article of the source. The Page returned
    stands for the link itself: the item's URL is not an alias of the article, and nothing about it is
    kept for a conditional GET of the article's page.
    """
    link = services.store.declared_item(source.id, url)
    if link is None:
        return None
    if link.item is not None:
        item = DeclaredArticle.model_validate_json(link.item)
    elif link.item_url is not None and link.item_kind is not None:
        kind = discovery_kind(link.item_kind)()
        try:
            fetched = services.http.for_source(source).resource(link.item_url, accept=kind.item_accept)
        except HttpStatusError as exc:
            if exc.status in kind.item_gone_statuses:
                if isinstance(exc, GoneError):
                    raise
                raise GoneError(f"{exc.reason} (the partner no longer publishes it)", exc.status) from None
            if isinstance(exc, GoneError):
                # a 404 the kind does not read as "gone" (an API route that went away, not the article):
                # a failure to record, never a withdrawal
                raise HttpStatusError(exc.reason, exc.status) from None
            raise
        item = kind.read_item(fetched, source)
    else:
        return None
    stand_in = Page(requested_url=url, url=url, status=200, content_type="application/json", body=b"")
    return stand_in, article_from_declared(item, source)


def _withdraw_gone(services: Services, source_id: str, url: str, reason: str) -> str | None:
    """The partner's 410 for a page: the article it gave, when this call recorded its withdrawal."""
    store = services.store
    state = store.url_state(source_id, url)
    article_id = (state.article_id if state else None) or store.find_by_url(url)
    return article_id if partner_withdrew(services, source_id, article_id, reason) else None


def _is_own_page(url: str, page: Page, article: Article, state: UrlState | None) -> bool:
    """Whether this page is the article's own, the one whose edits make new versions: its canonical URL
    (compared as article ids are, so http/https and default ports agree), or a URL that has stored a
    version of it before (a partner serving under www. while declaring the bare host canonical).
    `state`: the URL's state as this ingest found it."""
    if article.id in (article_id_for(url), article_id_for(page.url)):
        return True
    return state is not None and state.article_id == article.id and state.content_hash is not None


def _canonical_within_source(source: Source, page: Page, article: Article) -> Article:
    """The article as extracted when its canonical URL is on one of the source's allowed domains; else
    the same article keyed by the page's own URL.

    Why: the article id derives from the canonical URL (the page's canonical link, or the original a
    republished page names). A partner whose page names another partner's URL there would take that
    partner's article id: its text stored, versioned and delivered as the other partner's article, and
    the real one arriving later taken for an edit of it. A source speaks only for its own domains.
    A copy of another partner's story is still found for what it is: by its text (near duplicate).
    The check runs here, where the pipeline keys the article, not in extraction, which stays
    source-blind about ids (`syndicate extract` shows what the page declares).
    """
    if source.allows_host(urlsplit(article.url).hostname or ""):
        return article
    log.info("%s: canonical URL %s is outside source %r's allowed_domains; keyed by the page's own URL",
             page.url, article.url, source.id)
    return article.model_copy(update={"url": page.url, "id": article_id_for(page.url)})


def _match_existing(services: Services, source: Source, page: Page, url: str, article: Article,
                    signature: Signature | None, state: UrlState | None) -> str | None:
    """The id of an article this page is another copy of, if any: same URL under an alias, the same
    canonical article reached from another page of the source's, or the same body (a near duplicate)
    under a different id."""
    store = services.store
    for candidate_url in dict.fromkeys((url, page.url)):  # usually one URL: the page was not redirected
        known = store.find_by_url(candidate_url)
        if known and known != article.id:
            return known
    if not _is_own_page(url, page, article, state) and store.get_article(article.id) is not None:
        # the article is already here and this page is a copy of it (an AMP page, a re-syndication on
        # the source's own domains whose canonical link names the original): its own layout, section or
        # description must not make a new version, nor a second delivery
        return article.id
    return store.find_near_duplicate(signature, exclude_article_id=article.id) if signature else None


def _plan_deliveries(
    services: Services, article: Article, outlet_ids: list[str] | None, skip: Callable[[Delivery | None], bool],
    *, new: bool = False,
) -> list[str]:
    """Write a PENDING ledger row for every routed outlet whose row `skip` does not rule out; their ids.
    `new`: stored just now for the first time, so neither withdrawn nor delivered anywhere yet.

    Rows are written before any message is sent (in the ingest's transaction): a message lost with Redis
    leaves a row the sweeper finds, and a worker killed between the two leaves a row, not a gap.
    """
    store = services.store
    if not new and store.is_withdrawn(article.id):
        return []
    planned = []
    for outlet_id in route(services, article, outlet_ids, new=new):
        if skip(store.get_delivery(article.id, article.version, outlet_id)):
            continue
        store.plan_delivery(article.id, article.version, outlet_id)
        planned.append(outlet_id)
    return planned


def ingest_url(
    services: Services,
    source_id: str,
    url: str,
    outlet_ids: list[str] | None,
    enqueue_delivery: Callable[[str, int, str], None],
    enqueue_withdrawal: Callable[[str], None] = lambda article_id: None,
) -> IngestReport:
    """Fetch, extract, store; then queue a delivery for every routed outlet that lacks this version.

    Everything the ingest records (the version, its fingerprint and aliases, the URL's validators, the
    ledger rows of the deliveries it plans) is written in one store transaction, and the messages are sent
    after it commits, so a crash leaves either nothing or the whole record. Deliveries are queued even when
    the content is unchanged if the ledger has not recorded them as done: a worker that died between
    storing and queueing must not lose the delivery on the re-run.
    """
    source = services.config.source(source_id)
    store = services.store
    url = normalize_link(url)
    try:
        declared = _declared(services, source, url)
        if declared is not None:
            page, article = declared
            state = store.url_state(source_id, url)  # no fetch read it: the own-page check needs it
        else:
            page, known_article, state = _fetch(services, source, url)
            if page.not_modified:
                return _ingest_not_modified(services, source_id, url, page, known_article, outlet_ids,
                                            enqueue_delivery)
            article = extract_article(page.body, page.url, source)
        article = _canonical_within_source(source, page, article)
    except GoneError as exc:
        with store.transaction():
            store.record_ingest_failure(source_id, url, exc.code, exc.reason)
            withdrawn = _withdraw_gone(services, source_id, url, exc.reason)
            store.mark_checked(source_id, url, None)
        if withdrawn:
            enqueue_withdrawal(withdrawn)
        raise
    except PermanentError as exc:
        with store.transaction():
            store.record_ingest_failure(source_id, url, exc.code, exc.reason)
            store.mark_checked(source_id, url, None)
        raise

    # computed before the transaction: on SQLite it holds the write lock, which must not wait on CPU work
    signature = fingerprint_text(article.body_text)
    with store.transaction():
        duplicate_of = _match_existing(services, source, page, url, article, signature, state)
        if duplicate_of is not None:
            store.add_alias(url, duplicate_of)
            store.save_url_state(source_id, url, etag=page.etag, last_modified=page.last_modified,
                                 status=page.status, article_id=duplicate_of)
            store.mark_checked(source_id, url, duplicate_of)
            store.clear_ingest_failure(source_id, url)
            original = store.get_article(duplicate_of)
        else:
            result = store.upsert_article(article)
            stored = result.article
            new = result.outcome == UpsertOutcome.NEW
            stored_signature = signature if stored.body_text == article.body_text else fingerprint_text(stored.body_text)
            if stored_signature:
                store.save_fingerprint(stored.id, stored_signature, new=new)
            for alias in {url, page.url}:
                store.add_alias(alias, stored.id)
            store.save_url_state(source_id, url, etag=page.etag, last_modified=page.last_modified,
                                 status=page.status, article_id=stored.id, content_hash=stored.content_hash)
            store.mark_checked(source_id, url, stored.id)
            store.clear_ingest_failure(source_id, url)
            planned = _plan_deliveries(services, stored, outlet_ids,
                                       skip=lambda row: row is not None and row.state.is_final, new=new)
            if result.outcome == UpsertOutcome.NEW:
                store.record_new_article(source_id)  # last: on PostgreSQL it locks the source's shared health row
    if duplicate_of is not None:
        log.info("%s is a copy of article %s; not stored again", url, duplicate_of)
        return IngestReport(source_id, url, duplicate_of, original.version if original else None,
                            "duplicate", original.headline if original else article.headline, [])
    collect_images(services, source, stored)  # after the commit (it fetches), before the deliveries use them
    for outlet_id in planned:
        enqueue_delivery(stored.id, stored.version, outlet_id)
    log.info("ingested %s as %s v%d (%s); deliveries queued: %s",
             url, stored.id, stored.version, result.outcome.value, planned or "none")
    return IngestReport(source_id, url, stored.id, stored.version, result.outcome.value, stored.headline, planned)


def _ingest_not_modified(
    services: Services, source_id: str, url: str, page: Page, known_article: str | None,
    outlet_ids: list[str] | None, enqueue_delivery: Callable[[str, int, str], None],
) -> IngestReport:
    """A 304: the page is what we stored. Record the check, and queue what an earlier run planned to.

    An earlier run of this ingest may have saved the validators and died before queueing its deliveries;
    rows are written before messages, so only an outlet with no row was missed.
    """
    store = services.store
    with store.transaction():
        store.save_url_state(source_id, url, etag=page.etag, last_modified=page.last_modified, status=304)
        store.mark_checked(source_id, url, known_article)
        latest = store.get_article(known_article) if known_article else None
        planned = _plan_deliveries(services, latest, outlet_ids, skip=lambda row: row is not None) if latest else []
    if latest is None:
        return IngestReport(source_id, url, known_article, None, "not_modified", "", [])
    for outlet_id in planned:
        enqueue_delivery(latest.id, latest.version, outlet_id)
    if planned:
        log.warning("%s: queued deliveries an earlier run stored but never queued: %s", url, planned)
    return IngestReport(source_id, url, known_article, latest.version, "not_modified", latest.headline, planned)
