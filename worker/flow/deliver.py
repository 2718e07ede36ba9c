"""Deliver one stored article version to one outlet, exactly once per version, the ledger deciding.

No Celery here: tasks.py wraps `deliver_article` and holds the lock on the ledger row while it runs.
"""
from __future__ import annotations

import logging

from worker.errors import ArticleNotFoundError, PermanentError, TransientError
from worker.flow.services import Services
from worker.flow.withdraw import withdraw_article
from worker.outlets import RemoteRef
from worker.store import Delivery, DeliveryState

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
    if delivery.state.is_final:
        if withdrawn and delivery.state == DeliveryState.DELIVERED and delivery.withdrawn_at is None:
            withdraw_article(services, article.id, outlet_id)  # a take-down that failed after a late delivery
        return delivery
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
    with store.transaction():
        delivered = store.mark_delivered(delivery.id, remote.id, remote.url)
        withdrawn_meanwhile = store.is_withdrawn(article.id)
    if withdrawn_meanwhile:
        withdraw_article(services, article.id, outlet_id)  # withdrawn while we published: take it down now
    return delivered
