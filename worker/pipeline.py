"""The two steps of the pipeline as plain functions: ingest one URL, deliver one article to one outlet.

No Celery here: tasks.py wraps these, the CLI and tests call them directly. Collaborators come in a
`Services` object (settings, config, store, outlets) built once per worker process.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from worker.config import Config, load_config
from worker.errors import ArticleNotFoundError, PermanentError, TransientError
from worker.extract import extract_article
from worker.fetch import fetch_page
from worker.outlets import Outlet, RemoteRef, build_outlet
from worker.settings import Settings
from worker.store import Delivery, DeliveryState, Store, UpsertOutcome

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    _outlets: dict[str, Outlet] = field(default_factory=dict)

    @cached_property
    def config(self) -> Config:
        return load_config(self.settings.config_dir)

    @cached_property
    def store(self) -> Store:
        store = Store(self.settings.database_url)
        store.migrate()
        return store

    def outlet(self, outlet_id: str) -> Outlet:
        if outlet_id not in self._outlets:
            self._outlets[outlet_id] = build_outlet(self.config.outlet(outlet_id), self.settings)
        return self._outlets[outlet_id]


@dataclass(frozen=True)
class IngestReport:
    source_id: str
    url: str
    article_id: str
    version: int
    outcome: str
    headline: str
    deliveries: list[str]

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def route(services: Services, article_id: str, requested: list[str] | None) -> list[str]:
    """Outlets that should hold this article: the ones asked for, else every enabled outlet.

    (Per-outlet routing rules by source, section and language come with issue 5.)
    """
    if requested:
        for outlet_id in requested:
            services.config.outlet(outlet_id)  # an unknown outlet is a permanent error, named
        return list(requested)
    return [o.id for o in services.config.outlets.values() if o.enabled]


def ingest_url(
    services: Services,
    source_id: str,
    url: str,
    outlet_ids: list[str] | None,
    enqueue_delivery: Callable[[str, int, str], None],
) -> IngestReport:
    """Fetch, extract, store; then queue a delivery for every routed outlet that lacks this version.

    Deliveries are queued even when the content is unchanged if the ledger has not recorded them as
    done: a worker that died between storing and queueing must not lose the delivery on the re-run.
    """
    source = services.config.source(source_id)
    try:
        page = fetch_page(url, source, services.settings)
        article = extract_article(page.body, page.url, source)
        result = services.store.upsert_article(article)
    except PermanentError as exc:
        services.store.record_ingest_failure(source_id, url, exc.code, exc.reason)
        raise
    services.store.clear_ingest_failure(source_id, url)
    stored = result.article
    queued = []
    for outlet_id in route(services, stored.id, outlet_ids):
        done = services.store.get_delivery(stored.id, stored.version, outlet_id)
        if done is not None and done.state in (DeliveryState.DELIVERED, DeliveryState.FAILED):
            continue
        enqueue_delivery(stored.id, stored.version, outlet_id)
        queued.append(outlet_id)
    log.info("ingested %s as %s v%d (%s); deliveries queued: %s",
             url, stored.id, stored.version, result.outcome.value, queued or "none")
    return IngestReport(
        source_id=source_id, url=url, article_id=stored.id, version=stored.version,
        outcome=result.outcome.value if isinstance(result.outcome, UpsertOutcome) else str(result.outcome),
        headline=stored.headline, deliveries=queued,
    )


def deliver_article(services: Services, article_id: str, version: int | None, outlet_id: str) -> Delivery:
    """Publish one stored article version to one outlet, once.

    The ledger row is the source of truth: delivered (or permanently failed) rows are never re-sent.
    The caller holds a lock on (article, version, outlet) so two workers never publish the same row
    at once.
    """
    store = services.store
    article = store.get_article(article_id, version)
    if article is None:
        raise ArticleNotFoundError(f"article {article_id} version {version or 'latest'} is not in the store")
    outlet = services.outlet(outlet_id)
    delivery = store.begin_delivery(article.id, article.version, outlet_id)
    if delivery.state in (DeliveryState.DELIVERED, DeliveryState.FAILED):
        return delivery
    previous_row = store.previous_remote(article.id, outlet_id)
    previous = RemoteRef(previous_row.remote_id, previous_row.remote_url) if previous_row and previous_row.remote_id else None
    try:
        remote = outlet.publish(article, previous)
    except TransientError as exc:
        store.mark_retrying(delivery.id, str(exc))
        raise
    except PermanentError as exc:
        store.mark_failed(delivery.id, str(exc))
        raise
    except Exception as exc:
        # an outlet bug is not worth hammering the outlet for; record it where the operator looks
        store.mark_failed(delivery.id, f"unexpected {type(exc).__name__}: {exc}")
        raise
    log.info("delivered %s v%d to %s: %s", article.id, article.version, outlet_id, remote.url or remote.id)
    return store.mark_delivered(delivery.id, remote.id, remote.url)
