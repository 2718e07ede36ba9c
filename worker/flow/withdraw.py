"""Withdrawals: a partner took an article down, and every outlet that had it is told so, exactly once.

One route, whichever signal the partner gave (its page answering 410 on a re-check, or its feed marking
the entry withdrawn): the stage that meets the signal calls `partner_withdrew`, which checks that this
source may withdraw the article and records the withdrawal once; only the caller that recorded it sends
the withdraw messages (one per outlet that had the article), each handled by `withdraw_article`. A
delivery that reaches an outlet after those messages went out takes its own outlet's copy down through
the same `withdraw_article` (flow/deliver.py), so the outlet is told through one claim on the ledger.
"""
from __future__ import annotations

import logging

from worker.errors import TransientError
from worker.flow.services import Services
from worker.outlets import RemoteRef
from worker.store import Store, WithdrawalOutcome

log = logging.getLogger(__name__)


def withdrawable_by(store: Store, article_id: str, source_id: str) -> bool:
    """Whether `source_id` may withdraw the article: only the source that stored it may.

    Why: another partner's page can map to the article (a copy of its text is a near duplicate, and
    is recorded as an alias of it). That copy going 410, or marked withdrawn in that partner's feed,
    says nothing of the original, and must not take another partner's article down from every outlet.
    """
    article = store.get_article(article_id)
    return article is not None and article.source.id == source_id


def partner_withdrew(services: Services, source_id: str, article_id: str | None, reason: str) -> bool:
    """Record that the partner withdrew the article; True when this call recorded it, and so must send
    the withdraw messages to the outlets (once the caller's transaction, if any, has committed).

    False when there is no article, when another source stored it, or when it was withdrawn already
    (of several workers meeting the same signal at once, exactly one gets True: Store.mark_withdrawn).
    """
    store = services.store
    if not article_id or not withdrawable_by(store, article_id, source_id):
        return False
    if not store.mark_withdrawn(article_id, reason):
        return False
    log.info("article %s withdrawn: %s", article_id, reason)
    return True


def withdraw_article(services: Services, article_id: str, outlet_id: str) -> str:
    """Tell one outlet that had the article to take it down, exactly once. Returns what happened."""
    store = services.store
    start = store.begin_withdrawal(article_id, outlet_id)
    if start.outcome in (WithdrawalOutcome.ALREADY_DONE, WithdrawalOutcome.NOT_DELIVERED):
        return start.outcome.value
    if start.outcome != WithdrawalOutcome.CLAIMED or start.delivery is None:
        raise TransientError(f"withdrawal of {article_id} from {outlet_id} waits: {start.outcome.value}", retry_after=30)
    delivery = start.delivery
    try:
        services.outlet(outlet_id).withdraw(RemoteRef(delivery.remote_id or article_id, delivery.remote_url),
                                            "withdrawn by the partner")
    except Exception as exc:
        store.release_withdrawal(delivery.id, str(exc))
        raise
    store.mark_withdrawal_done(delivery.id)
    return "withdrawn"
