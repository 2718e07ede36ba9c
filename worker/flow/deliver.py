"""Deliver one stored article version to one outlet, exactly once per version, the ledger deciding.

No Celery here: tasks.py wraps `deliver_article` and holds the lock on the ledger row while it runs.

The outlet is handed the version's images as the ingest stored them (worker/flow/images.py), when its
publish takes them (worker/outlets/base.py `publish_article`): each stored image's facts, its bytes read
from the store only when the outlet asks, and the reason of each one missing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from worker.errors import ArticleNotFoundError, PermanentError, TransientError
from worker.flow.services import Services
from worker.flow.withdraw import withdraw_article
from worker.outlets import RemoteRef
from worker.outlets.base import publish_article
from worker.outlets.images import ArticleImage, ArticleImages
from worker.store import Delivery, DeliveryState, Store
from worker.store.images import ImageRecord

log = logging.getLogger(__name__)


def deliver_article(services: Services, article_id: str, version: int | None, outlet_id: str) -> Delivery:
    """Publish one stored article version to one outlet, once.

    The ledger row is the source of truth: delivered (or permanently failed) rows are never re-sent.
    The caller holds a lock on (article, version, outlet) so two workers never publish the same row
    at once.

    An article the partner withdrew while it was being published is taken down from this outlet here:
    the withdraw messages went out before the outlet held it. A take-down that fails is raised, and the
    task's retry, finding the row delivered, tries the take-down again (it was lost before).
    """
    store = services.store
    outlet = services.outlet(outlet_id)
    with store.transaction():  # one transaction for the claim and what the publish needs to know
        article = store.get_article(article_id, version)
        if article is None:
            raise ArticleNotFoundError(f"article {article_id} version {version or 'latest'} is not in the store")
        delivery = store.begin_delivery(article.id, article.version, outlet_id)
        withdrawn = store.is_withdrawn(article.id)
        if not delivery.state.is_final:
            if withdrawn:
                return store.mark_failed(delivery.id, "not delivered: the partner withdrew the article")
            previous_row = store.previous_remote(article.id, outlet_id)
            records = store.image_records(article.id, article.version)
    if delivery.state.is_final:
        if withdrawn and delivery.state == DeliveryState.DELIVERED and delivery.withdrawn_at is None:
            withdraw_article(services, article.id, outlet_id)  # a take-down that failed after a late delivery
        return delivery
    previous = RemoteRef(previous_row.remote_id, previous_row.remote_url) if previous_row and previous_row.remote_id else None
    try:
        remote = publish_article(outlet, article, previous, stored_images(store, records))
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
    with store.transaction():
        delivered = store.mark_delivered(delivery.id, remote.id, remote.url)
        withdrawn_meanwhile = store.is_withdrawn(article.id)
    if withdrawn_meanwhile:
        withdraw_article(services, article.id, outlet_id)  # withdrawn while we published: take it down now
    return delivered


def stored_images(store: Store, records: list[ImageRecord]) -> ArticleImages | None:
    """The version's image records as outlets take them, each stored file's bytes loaded on demand; None
    for a version with none recorded (stored before images were collected, or collection turned off), so
    the outlet does what it did before images travelled."""
    if not records:
        return None

    def loader(sha256: str) -> Callable[[], bytes]:
        def read() -> bytes:
            data = store.image_bytes(sha256)
            if data is None:
                raise ArticleNotFoundError(f"image file {sha256} is not in the store")
            return data
        return read

    return ArticleImages(tuple(
        ArticleImage(url=r.url, role="lead" if r.role == "lead" else "body", content_type=r.content_type,
                     width=r.width, height=r.height, byte_size=r.byte_size, sha256=r.sha256,
                     missing_reason=r.reason, _read=loader(r.sha256) if r.stored and r.sha256 else None)
        for r in records
    ))
