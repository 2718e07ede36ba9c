"""The sweeper's core and its store queries, on SQLite and PostgreSQL: what counts as stuck, claimed once.

The chaos tests show the sweeper recovering a restarted Redis end to end; these pin down the rules: an
unfinished ledger row or a planned-but-unchecked link quiet for longer than the timeout is re-queued, once
per timeout, by one sweeper; finished, fresh, withdrawn and unconfigured work is left alone.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from worker.schema import SourceRef, make_article
from worker.store import DeliveryState, LinkSeen, Store
from worker.flow.sweep import SweepReport, sweep

STUCK = timedelta(minutes=10)


def stored(store: Store, n: int) -> tuple[str, int]:
    article = make_article(
        version=1, source=SourceRef(id="p", name="Partner"), attribution="From Partner",
        url=f"https://partner.example/story-{n}.html", headline=f"Story {n}",
        published=datetime(2024, 1, 1, tzinfo=UTC), body_html=f"<p>Body {n}.</p>", body_text=f"Body {n}.",
    )
    result = store.upsert_article(article)
    return result.article.id, result.article.version


class Queue:
    def __init__(self) -> None:
        self.deliveries: list[tuple[str, int, str]] = []
        self.ingests: list[tuple[str, str]] = []

    def run(self, store: Store, now: datetime, outlets: frozenset[str] = frozenset({"a", "b"}),
            sources: frozenset[str] = frozenset({"p"})) -> SweepReport:
        return sweep(store, stuck_after=STUCK, now=now, known_outlets=outlets, known_sources=sources,
                     enqueue_delivery=lambda *args: self.deliveries.append(args),
                     enqueue_ingest=lambda *args: self.ingests.append(args))


def test_unfinished_deliveries_quiet_past_the_timeout_are_requeued_once_per_timeout(store: Store) -> None:
    started = datetime.now(UTC)
    ids = [stored(store, n) for n in range(5)]
    store.plan_delivery(*ids[0], "a")                                   # queued, never started
    store.begin_delivery(*ids[1], "a")                                  # in progress
    store.mark_retrying(store.begin_delivery(*ids[2], "a").id, "503")   # waiting on a countdown
    store.mark_delivered(store.begin_delivery(*ids[3], "a").id, "x", None)  # done: never again
    store.mark_dead(store.begin_delivery(*ids[4], "a").id, "gave up")       # final: the operator's call
    store.plan_delivery(*ids[4], "gone")                                # its outlet left the config
    queue = Queue()

    assert queue.run(store, now=started + STUCK / 2).deliveries == []   # not quiet long enough
    report = queue.run(store, now=started + STUCK + timedelta(seconds=5))
    assert sorted(queue.deliveries) == sorted([(*ids[0], "a"), (*ids[1], "a"), (*ids[2], "a")])
    assert report.skipped == [f"delivery {ids[4][0]}:1:gone: outlet not configured"]
    states = {(d.article_id, d.outlet_id): d.state for d in store.deliveries()}
    assert states[(ids[0][0], "a")] == DeliveryState.PENDING          # claimed, state untouched

    # claimed: a second sweeper a moment later finds nothing; one timeout later the rows come back
    assert queue.run(store, now=started + STUCK + timedelta(seconds=6)).deliveries == []
    assert len(queue.deliveries) == 3
    queue.run(store, now=started + 2 * STUCK + timedelta(seconds=10))
    assert len(queue.deliveries) == 6

    # a PENDING row planned by an ingest is what begin_delivery then claims: one row, no second one
    claimed = store.begin_delivery(*ids[0], "a")
    assert claimed.state == DeliveryState.IN_PROGRESS and claimed.attempts == 1
    assert len([d for d in store.deliveries() if d.article_id == ids[0][0]]) == 1


def test_links_planned_and_never_checked_are_requeued_for_ingest(store: Store) -> None:
    now = datetime.now(UTC)
    links = [LinkSeen(url=f"https://partner.example/{n}.html", guid=None, fingerprint=f"f{n}", published=now)
             for n in range(4)]
    assert len(store.plan_ingests("p", links, now, updates_window_hours=48, recheck_every_hours=6)) == 4
    store.plan_ingests("old", [links[0]], now, updates_window_hours=48, recheck_every_hours=6)
    store.mark_checked("p", links[1].url, None, now=now + timedelta(seconds=1))   # its ingest finished
    article_id, _ = stored(store, 9)
    # checked before this plan (so stuck by the rule), but its article is withdrawn: never re-queued
    store.mark_checked("p", links[2].url, article_id, now=now - timedelta(seconds=1))
    store.mark_withdrawn(article_id, "gone")
    queue = Queue()

    report = queue.run(store, now=now + STUCK + timedelta(seconds=1))
    assert queue.ingests == [("p", links[0].url), ("p", links[3].url)]
    assert report.skipped == [f"ingest old {links[0].url}: source not configured"]
    assert queue.run(store, now=now + STUCK + timedelta(seconds=2)).ingests == []  # claimed once

    # an ingest still alive and retrying keeps its link off the sweeper's list
    store.touch_planned("p", links[3].url, now=now + 2 * STUCK)
    queue.run(store, now=now + 2 * STUCK + timedelta(seconds=5))
    assert queue.ingests[2:] == [("p", links[0].url)]


def test_an_operator_import_whose_message_is_lost_is_requeued(store: Store) -> None:
    from worker.ops.imports import record_import

    now = datetime.now(UTC)
    record_import(store, "p", "https://partner.example/hand.html?utm_source=x", None)
    record_import(store, "p", "https://partner.example/named.html", ["a"])  # outlets named: not recorded
    assert store.known_link("p", "https://partner.example/named.html") is None
    queue = Queue()
    queue.run(store, now=now + STUCK + timedelta(seconds=1))
    assert queue.ingests == [("p", "https://partner.example/hand.html")]  # the URL as the ingest records it
    store.mark_checked("p", "https://partner.example/hand.html", None, now=now + STUCK + timedelta(seconds=2))
    assert queue.run(store, now=now + 3 * STUCK).ingests == []
