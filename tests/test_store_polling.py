"""The store's polling parts, on SQLite and on PostgreSQL alike: known links and ingest planning, conditional-GET
state, source health, withdrawals, URL aliases, near-duplicate fingerprints, and migration 0002 over old data.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import insert

from tests.test_store import an_article, run_together
from worker.errors import ArticleNotFoundError
from worker.fingerprint import Signature, fingerprint_text, similarity
from worker.store import DeliveryState, LinkSeen, Store, WithdrawalOutcome, WithdrawalStart
from worker.store.engine import alembic_config, writer
from worker.store.models import ArticleRow, ArticleVersionRow, DeliveryRow

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc)
WINDOW, RECHECK = 48.0, 6.0


def link(n: int | str, fingerprint: str = "fp1", published: datetime | None = None) -> LinkSeen:
    return LinkSeen(url=f"https://partner.example.com/news/{n}", guid=f"guid-{n}", fingerprint=fingerprint,
                    published=published)


def plan(store: Store, links: list[LinkSeen], now: datetime, source: str = "epoch") -> list[str]:
    return store.plan_ingests(source, links, now, updates_window_hours=WINDOW, recheck_every_hours=RECHECK)


# --- planning ingests ---------------------------------------------------------------------------------

def test_new_links_are_planned_once_and_unchanged_ones_not_again(store: Store) -> None:
    links = [link(1, published=T0 - timedelta(hours=1)), link(2), link(1, published=T0 - timedelta(hours=1))]
    assert plan(store, links, T0) == [links[0].url, links[1].url]
    # Seen again a minute later, unchanged and not yet due a re-check: nothing to do.
    assert plan(store, links, T0 + timedelta(minutes=1)) == []
    # The same URL under another source is another link.
    assert plan(store, [link(2)], T0, source="wire") == [links[1].url]

    known = store.known_link("epoch", links[0].url)
    assert known is not None
    assert (known.guid, known.fingerprint, known.published_at) == ("guid-1", "fp1", T0 - timedelta(hours=1))
    assert (known.first_seen_at, known.last_seen_at, known.last_planned_at) == (
        T0, T0 + timedelta(minutes=1), T0)
    assert known.first_seen_at.tzinfo == timezone.utc and known.last_checked_at is None


def test_a_changed_fingerprint_plans_the_link_again_once(store: Store) -> None:
    plan(store, [link(1), link(2)], T0)
    later = T0 + timedelta(minutes=5)
    assert plan(store, [link(1, "fp2"), link(2)], later) == [link(1).url]
    assert plan(store, [link(1, "fp2"), link(2)], later + timedelta(minutes=1)) == []
    assert store.known_link("epoch", link(1).url).fingerprint == "fp2"


def test_recheck_is_due_only_inside_the_updates_window(store: Store) -> None:
    recent = link("recent", published=T0 - timedelta(hours=2))
    old = link("old", published=T0 - timedelta(hours=WINDOW + 10))
    undated = link("undated")  # no date: first seen at T0 counts instead
    assert sorted(plan(store, [recent, old, undated], T0)) == sorted([recent.url, old.url, undated.url])
    for each in (recent, old, undated):
        store.mark_checked("epoch", each.url, article_id=None, now=T0 + timedelta(minutes=10))

    # Checked 10 minutes ago: not due yet.
    assert plan(store, [recent, old, undated], T0 + timedelta(hours=1)) == []
    # Past the re-check interval: inside the window due, outside not.
    due_time = T0 + timedelta(hours=RECHECK + 1)
    assert sorted(plan(store, [recent, old, undated], due_time)) == sorted([recent.url, undated.url])
    # Planned just now: a second poller at the same moment gets nothing.
    assert plan(store, [recent, old, undated], due_time + timedelta(minutes=1)) == []
    # Past the window for everything: never again, however long since the last check.
    assert plan(store, [recent, old, undated], T0 + timedelta(hours=WINDOW + 5)) == []


def test_a_planned_but_never_checked_link_is_planned_again_after_the_recheck_interval(store: Store) -> None:
    # The ingest task got lost: no mark_checked. Inside the window the link comes back after RECHECK hours.
    assert plan(store, [link(1)], T0) == [link(1).url]
    assert plan(store, [link(1)], T0 + timedelta(hours=RECHECK - 1)) == []
    assert plan(store, [link(1)], T0 + timedelta(hours=RECHECK + 1)) == [link(1).url]


def test_mark_checked_records_the_article_and_knows_operator_imports(store: Store) -> None:
    plan(store, [link(1)], T0)
    store.mark_checked("epoch", link(1).url, "article-1", now=T0 + timedelta(minutes=1))
    store.mark_checked("epoch", link(1).url, None, now=T0 + timedelta(minutes=2))  # a failed re-check
    known = store.known_link("epoch", link(1).url)
    assert (known.article_id, known.last_checked_at) == ("article-1", T0 + timedelta(minutes=2))

    # Imported by hand before discovery ever saw it: known (for reimport), and adopted by discovery later
    # without a second ingest.
    store.mark_checked("epoch", link(9).url, "article-9", now=T0)
    assert store.known_link("epoch", link(9).url).fingerprint is None
    assert plan(store, [link(9)], T0 + timedelta(minutes=5)) == []
    assert store.known_link("epoch", link(9).url).fingerprint == "fp1"


def test_known_links_since_a_date(store: Store) -> None:
    plan(store, [link("a", published=T0 - timedelta(days=10)), link("b", published=T0 - timedelta(days=1))], T0)
    plan(store, [link("c")], T0 + timedelta(hours=1))  # undated: first seen counts
    plan(store, [link("x")], T0, source="wire")
    assert store.known_links("epoch") == [link("a").url, link("b").url, link("c").url]
    assert store.known_links("epoch", since=T0 - timedelta(days=2)) == [link("b").url, link("c").url]
    assert store.known_links("epoch", since=T0 + timedelta(minutes=30)) == [link("c").url]
    assert store.known_links("nobody") == []


def test_concurrent_planners_get_each_url_exactly_once(database_url: str) -> None:
    setup = Store(database_url)
    setup.migrate()
    # Half the links are known with an old fingerprint (so they change now), half are new.
    known = [link(n, "old") for n in range(0, 40, 2)]
    plan(setup, known, T0)
    batch = [link(n, "new") for n in range(40)]
    stores = [Store(database_url) for _ in range(6)]
    try:
        results = run_together(len(stores), lambda i: plan(stores[i], list(reversed(batch)) if i % 2 else batch,
                                                          T0 + timedelta(minutes=1)))
        planned = [url for result in results for url in result]
        assert sorted(planned) == sorted(each.url for each in batch)
    finally:
        for each in [setup, *stores]:
            each.close()


# --- conditional GET state ----------------------------------------------------------------------------

def test_url_state_round_trip_and_a_304_keeps_the_article(store: Store) -> None:
    url = link(1).url
    assert store.url_state("epoch", url) is None
    saved = store.save_url_state("epoch", url, etag='"v1"', last_modified="Sat, 01 Jun 2024 10:00:00 GMT",
                                 status=200, article_id="article-1", content_hash="sha256:aa")
    loaded = store.url_state("epoch", url)
    assert loaded == saved
    assert (loaded.etag, loaded.last_modified, loaded.last_status, loaded.article_id, loaded.content_hash) == (
        '"v1"', "Sat, 01 Jun 2024 10:00:00 GMT", 200, "article-1", "sha256:aa")
    assert loaded.last_fetched_at.tzinfo == timezone.utc

    store.save_url_state("epoch", url, etag='"v2"', last_modified=None, status=304)
    again = store.url_state("epoch", url)
    assert (again.etag, again.last_modified, again.last_status, again.article_id, again.content_hash) == (
        '"v2"', None, 304, "article-1", "sha256:aa")
    assert again.last_fetched_at >= loaded.last_fetched_at
    assert store.url_state("wire", url) is None


# --- source health ------------------------------------------------------------------------------------

def test_source_health_counts_failures_articles_and_resets_the_streak(store: Store) -> None:
    assert store.source_health("epoch") is None
    store.record_poll_start("epoch", now=T0)
    started = store.source_health("epoch")
    assert started.never_polled and started.last_poll_ok is None
    assert not started.is_idle(T0 + timedelta(days=30), 72) and started.status(T0, 72) == "never polled"

    store.record_poll_result("epoch", False, "fetch_failed: 503", 0, now=T0 + timedelta(minutes=1))
    failed = store.record_poll_result("epoch", False, "fetch_failed: timeout", 0, now=T0 + timedelta(minutes=2))
    assert (failed.consecutive_failures, failed.last_error, failed.last_poll_ok) == (2, "fetch_failed: timeout", False)
    assert failed.status(T0, 72) == "failing"

    store.record_poll_start("epoch", now=T0 + timedelta(hours=1))
    ok = store.record_poll_result("epoch", True, None, 3, now=T0 + timedelta(hours=1, minutes=1))
    assert (ok.consecutive_failures, ok.last_error, ok.articles_total) == (0, None, 3)
    assert (ok.first_poll_started_at, ok.last_poll_started_at) == (T0, T0 + timedelta(hours=1))
    assert ok.last_new_article_at == T0 + timedelta(hours=1, minutes=1)

    quiet = store.record_poll_result("epoch", True, None, 0, now=T0 + timedelta(hours=2))
    assert (quiet.articles_total, quiet.last_new_article_at) == (3, T0 + timedelta(hours=1, minutes=1))
    assert [h.source_id for h in store.all_source_health()] == ["epoch"]


def test_idle_counts_from_the_last_new_article_or_else_the_first_poll(store: Store) -> None:
    store.record_poll_start("quiet", now=T0)
    store.record_poll_result("quiet", True, None, 0, now=T0)
    quiet = store.source_health("quiet")
    assert not quiet.is_idle(T0 + timedelta(hours=71), 72)
    assert quiet.is_idle(T0 + timedelta(hours=73), 72) and quiet.status(T0 + timedelta(hours=73), 72) == "idle"

    store.record_poll_result("busy", True, None, 1, now=T0 + timedelta(hours=60))  # no start recorded: still counts
    busy = store.source_health("busy")
    assert not busy.is_idle(T0 + timedelta(hours=73), 72) and busy.status(T0 + timedelta(hours=73), 72) == "ok"
    assert busy.is_idle(T0 + timedelta(hours=133), 72)
    assert [h.source_id for h in store.all_source_health()] == ["busy", "quiet"]


def test_concurrent_poll_results_lose_no_count(database_url: str) -> None:
    setup = Store(database_url)
    setup.migrate()
    stores = [Store(database_url) for _ in range(5)]
    try:
        run_together(len(stores), lambda i: stores[i].record_poll_result("epoch", False, f"error {i}", 2))
        health = setup.source_health("epoch")
        assert (health.consecutive_failures, health.articles_total) == (5, 10)
    finally:
        for each in [setup, *stores]:
            each.close()


# --- withdrawals --------------------------------------------------------------------------------------

def test_an_article_is_withdrawn_once_and_its_links_stop_being_planned(store: Store) -> None:
    article = store.upsert_article(an_article(url=link(1).url)).article
    plan(store, [link(1)], T0)
    store.mark_checked("epoch", link(1).url, article.id, now=T0)
    assert not store.is_withdrawn(article.id)

    assert store.mark_withdrawn(article.id, "410 Gone") is True
    assert store.mark_withdrawn(article.id, "404 again") is False
    assert store.is_withdrawn(article.id) and not store.is_withdrawn("no-such-id")
    assert store.known_link("epoch", link(1).url).withdrawn_at is not None
    assert plan(store, [link(1, "changed")], T0 + timedelta(hours=RECHECK + 1)) == []
    assert store.known_links("epoch") == []
    with pytest.raises(ArticleNotFoundError):
        store.mark_withdrawn("no-such-id", "gone")


def test_each_outlet_is_told_of_a_withdrawal_exactly_once(store: Store) -> None:
    article = store.upsert_article(an_article()).article
    store.mark_delivered(store.begin_delivery(article.id, 1, "wp").id, "post-1", None)
    newer = store.upsert_article(an_article(headline="Edited")).article
    latest = store.mark_delivered(store.begin_delivery(newer.id, 2, "wp").id, "post-1", None)
    store.begin_delivery(article.id, 1, "hook")  # under way
    store.mark_withdrawn(article.id, "retracted")

    first = store.begin_withdrawal(article.id, "wp")
    assert first.outcome == WithdrawalOutcome.CLAIMED
    assert (first.delivery.id, first.delivery.version, first.delivery.remote_id) == (latest.id, 2, "post-1")
    assert store.begin_withdrawal(article.id, "wp").outcome == WithdrawalOutcome.IN_PROGRESS
    assert store.begin_withdrawal(article.id, "feed") == WithdrawalStart(WithdrawalOutcome.NOT_DELIVERED, None)
    assert store.begin_withdrawal(article.id, "hook").outcome == WithdrawalOutcome.DELIVERY_UNDER_WAY

    # The outlet could not be reached: the claim is given back and the next attempt gets it at once.
    released = store.release_withdrawal(first.delivery.id, "outlet_unavailable: 503")
    assert released.withdrawal_started_at is None and released.last_error == "outlet_unavailable: 503"
    second = store.begin_withdrawal(article.id, "wp")
    assert second.outcome == WithdrawalOutcome.CLAIMED

    done = store.mark_withdrawal_done(second.delivery.id)
    assert done.withdrawn_at is not None and done.state == DeliveryState.DELIVERED
    assert store.mark_withdrawal_done(second.delivery.id).withdrawn_at == done.withdrawn_at
    assert store.release_withdrawal(second.delivery.id, "late").withdrawn_at == done.withdrawn_at
    after = store.begin_withdrawal(article.id, "wp", lease=timedelta(0))
    assert after.outcome == WithdrawalOutcome.ALREADY_DONE and after.delivery.withdrawn_at == done.withdrawn_at


def test_an_abandoned_withdrawal_claim_can_be_taken_over(store: Store) -> None:
    article = store.upsert_article(an_article()).article
    store.mark_delivered(store.begin_delivery(article.id, 1, "wp").id, "post-1", None)
    assert store.begin_withdrawal(article.id, "wp").outcome == WithdrawalOutcome.CLAIMED
    assert store.begin_withdrawal(article.id, "wp", lease=timedelta(minutes=5)).outcome == WithdrawalOutcome.IN_PROGRESS
    assert store.begin_withdrawal(article.id, "wp", lease=timedelta(0)).outcome == WithdrawalOutcome.CLAIMED


def test_concurrent_withdrawals_make_one_claim(database_url: str) -> None:
    setup = Store(database_url)
    setup.migrate()
    article = setup.upsert_article(an_article()).article
    setup.mark_delivered(setup.begin_delivery(article.id, 1, "wp").id, "post-1", None)
    stores = [Store(database_url) for _ in range(5)]
    try:
        outcomes = run_together(len(stores), lambda i: stores[i].begin_withdrawal(article.id, "wp").outcome)
        assert sorted(outcomes) == sorted([WithdrawalOutcome.CLAIMED] + [WithdrawalOutcome.IN_PROGRESS] * 4)
    finally:
        for each in [setup, *stores]:
            each.close()


# --- URL aliases --------------------------------------------------------------------------------------

def test_an_article_is_found_by_its_canonical_url_or_any_alias(store: Store) -> None:
    canonical = "https://partner.example.com/news/story"
    article = store.upsert_article(an_article(url=canonical)).article
    other = store.upsert_article(an_article(url="https://partner.example.com/news/other")).article
    store.add_alias("https://partner.example.com/amp/news/story", article.id)
    store.add_alias(canonical + "?utm_source=feed", article.id)
    store.add_alias(canonical + "?utm_source=feed", article.id)  # twice: harmless

    assert store.find_by_url(canonical) == article.id
    assert store.find_by_url("https://partner.example.com/amp/news/story") == article.id
    assert store.find_by_url(canonical + "?utm_source=feed") == article.id
    assert store.find_by_url("https://partner.example.com/news/other") == other.id
    assert store.find_by_url(canonical + "?utm_source=mail") is None

    store.add_alias(canonical + "?utm_source=feed", other.id)  # a URL maps to one article: the latest
    assert store.find_by_url(canonical + "?utm_source=feed") == other.id
    with pytest.raises(ArticleNotFoundError):
        store.add_alias("https://partner.example.com/x", "no-such-id")


# --- near-duplicates ----------------------------------------------------------------------------------

def _story(seed: int, words: int = 300) -> list[str]:
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ren", "tor", "sa", "vel", "un", "dri", "po", "ste", "gar", "ni", "qua"]
    vocabulary = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(600)})
    return [rng.choice(vocabulary) for _ in range(words)]


def signature(words: list[str]) -> Signature:
    value = fingerprint_text(" ".join(words))
    assert value is not None
    return value


def _edited(words: list[str], changes: int) -> list[str]:
    edited = list(words)
    for n in range(changes):
        edited[15 + n * (len(words) - 30) // changes] = f"edited{n}"
    return edited


def test_a_lightly_edited_text_is_found_as_a_near_duplicate_and_an_unrelated_one_is_not(store: Store) -> None:
    stories = {seed: store.upsert_article(an_article(url=f"https://partner.example.com/{seed}")).article
               for seed in range(1, 6)}
    for seed, article in stories.items():
        store.save_fingerprint(article.id, signature(_story(seed)))
    original = _story(3)
    light = signature(_edited(original, 4))  # four words changed in 300
    assert 0.8 <= similarity(light, signature(original)) < 1.0

    assert store.find_near_duplicate(light) == stories[3].id
    assert store.find_near_duplicate(light, exclude_article_id=stories[3].id) is None
    assert store.find_near_duplicate(signature(_story(99))) is None
    heavy = signature(_edited(original, 15))  # a rewrite (similarity ~0.6), not a copy
    assert store.find_near_duplicate(heavy) is None
    assert store.find_near_duplicate(heavy, threshold=0.5) == stories[3].id


def test_saving_a_fingerprint_again_replaces_it(store: Store) -> None:
    article = store.upsert_article(an_article()).article
    store.save_fingerprint(article.id, signature(_story(1)))
    store.save_fingerprint(article.id, signature(_story(2)))
    assert store.find_near_duplicate(signature(_story(1))) is None
    assert store.find_near_duplicate(signature(_story(2))) == article.id
    with pytest.raises(ArticleNotFoundError):
        store.save_fingerprint("no-such-id", signature(["a", "few", "words"]))


# --- migration ----------------------------------------------------------------------------------------

def _alembic(store: Store, action: str, revision: str) -> None:
    config = alembic_config()
    with writer(store.engine).begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_upgrading_from_0001_keeps_the_data_and_downgrading_again_works(database_url: str) -> None:
    store = Store(database_url)
    try:
        _alembic(store, "upgrade", "0001")
        article = an_article().model_copy(update={"version": 1})
        now = datetime.now(timezone.utc)
        # Rows written as the 0001 schema knew them: only the columns it had.
        with store.engine.begin() as connection:
            connection.execute(insert(ArticleRow).values(
                id=article.id, source_id="epoch", url=article.url, latest_version=1,
                first_seen_at=now, updated_at=now, last_seen_at=now))
            connection.execute(insert(ArticleVersionRow).values(
                article_id=article.id, version=1, content_hash=article.content_hash,
                data=article.model_dump(mode="json"), created_at=now))
            connection.execute(insert(DeliveryRow).values(
                article_id=article.id, version=1, outlet_id="wp", state="delivered", attempts=1,
                remote_id="post-1", created_at=now, updated_at=now, delivered_at=now))

        store.migrate()
        assert store.get_article(article.id) == article
        assert not store.is_withdrawn(article.id)
        delivery = store.get_delivery(article.id, 1, "wp")
        assert (delivery.remote_id, delivery.withdrawn_at, delivery.withdrawal_started_at) == ("post-1", None, None)
        assert store.find_by_url(article.url) == article.id
        assert store.mark_withdrawn(article.id, "gone")

        _alembic(store, "downgrade", "0001")
        _alembic(store, "upgrade", "head")
        assert store.get_article(article.id) == article
        assert not store.is_withdrawn(article.id)  # the downgrade dropped the column, so the mark went too
    finally:
        store.close()


def test_fingerprints_ignore_case_and_punctuation_and_need_words() -> None:
    assert fingerprint_text("") is None and fingerprint_text(" -- ,. ") is None
    assert fingerprint_text("The coalition said, on Monday: it won.") == fingerprint_text("the COALITION said on monday it won")
    assert fingerprint_text("Short text") != fingerprint_text("Other text")
