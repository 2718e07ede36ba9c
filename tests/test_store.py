"""The store, on SQLite and on PostgreSQL alike (see tests/plugins/database.py)."""
from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, make_url, select, text
from sqlalchemy.exc import IntegrityError

from tests.support.processes import join_or_kill
from worker.errors import ArticleNotFoundError, ConfigError, StoreUnavailableError
from worker.schema import Author, Image, Rights, SourceRef, make_article
from worker.store import DeliveryState, Store, UpsertOutcome
from worker.store.engine import alembic_config
from worker.store.models import Base, DeliveryRow

T = TypeVar("T")
FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
EPOCH = SourceRef(id="epoch", name="The Epoch Times")


def an_article(url: str = "https://www.example.com/news/story-1", headline: str = "Coalition clears last pockets",
               body: str = "The coalition said on Monday.", source: SourceRef = EPOCH, **extra: Any):
    extra.setdefault("fetched_at", FETCHED)
    return make_article(
        source=source, attribution=f"From {source.name}", url=url, headline=headline,
        body_html=f"<p>{body}</p>", body_text=body, **extra,
    )


def run_together(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in `count` threads released at the same instant; re-raise the first error."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - handed to the test thread below
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is still running after 120 s"
    if errors:
        raise errors[0]
    return results


# --- articles and versions --------------------------------------------------------------------------

def test_new_then_unchanged_then_new_version_when_hash_changes(store: Store) -> None:
    first = store.upsert_article(an_article())
    assert (first.outcome, first.article.version) == (UpsertOutcome.NEW, 1)

    refetched = an_article(fetched_at=FETCHED + timedelta(hours=1))  # same content, later fetch
    again = store.upsert_article(refetched)
    assert (again.outcome, again.article.version) == (UpsertOutcome.UNCHANGED, 1)

    edited = store.upsert_article(an_article(headline="Coalition clears the last pockets"))
    assert (edited.outcome, edited.article.version) == (UpsertOutcome.NEW_VERSION, 2)
    assert store.get_article(first.article.id).headline == "Coalition clears the last pockets"
    assert store.get_article(first.article.id).version == 2


def test_versions_keep_history_and_compare_against_the_latest(store: Store) -> None:
    store.upsert_article(an_article(headline="A"))
    store.upsert_article(an_article(headline="B"))
    # Back to the first content: it differs from the latest, so it is a new version, not a match with v1.
    result = store.upsert_article(an_article(headline="A"))
    assert (result.outcome, result.article.version) == (UpsertOutcome.NEW_VERSION, 3)

    history = store.versions(result.article.id)
    assert [(a.version, a.headline) for a in history] == [(1, "A"), (2, "B"), (3, "A")]
    assert store.get_article(result.article.id, version=2).headline == "B"
    assert store.get_article(result.article.id, version=4) is None
    assert store.versions("no-such-id") == []


def test_get_article_round_trips_every_field(store: Store) -> None:
    original = an_article(
        description="Summary line",
        authors=[Author(name="Jane Doe", role="reporter", url="https://www.example.com/jane")],
        published=datetime(2024, 4, 30, 9, 15, tzinfo=timezone(timedelta(hours=-4))),
        updated=datetime(2024, 4, 30, 18, 0, tzinfo=timezone.utc),
        section="World", tags=["Iraq", "ISIS"], language="en",
        lead_image=Image(url="https://img.example.com/a.jpg", caption="Troops", credit="AP", width=800, height=600),
        rights=Rights(copyright_notice="© Partner", usage_terms="Syndication only"),
    )
    stored = store.upsert_article(original).article
    loaded = store.get_article(original.id)
    assert loaded == stored
    assert loaded.model_dump(exclude={"version"}) == original.model_dump(exclude={"version"})
    assert loaded.published.tzinfo is not None and loaded.published == original.published
    assert store.get_article("no-such-id") is None


def test_list_articles_gives_latest_of_each_newest_first(store: Store) -> None:
    other = SourceRef(id="wire", name="Wire")
    a = store.upsert_article(an_article(url="https://www.example.com/a", headline="A1")).article
    store.upsert_article(an_article(url="https://www.example.com/b", headline="B1", source=other))
    store.upsert_article(an_article(url="https://www.example.com/a", headline="A2"))

    listed = store.list_articles()
    assert [(x.headline, x.version) for x in listed] == [("A2", 2), ("B1", 1)]
    assert [x.headline for x in store.list_articles(source_id="wire")] == ["B1"]
    assert [x.headline for x in store.list_articles(limit=1)] == ["A2"]
    assert a.id == listed[0].id


def _migrated(database_url: str) -> None:
    setup = Store(database_url)
    setup.migrate()
    setup.close()


def test_concurrent_upserts_of_one_new_article_make_exactly_one_version(database_url: str) -> None:
    _migrated(database_url)
    article = an_article()
    # One Store per thread: separate engines and pools, as separate worker processes would have.
    stores = [Store(database_url) for _ in range(6)]
    try:
        outcomes = run_together(len(stores), lambda i: stores[i].upsert_article(article).outcome)
        assert sorted(outcomes) == sorted([UpsertOutcome.NEW] + [UpsertOutcome.UNCHANGED] * 5)
        assert [a.version for a in stores[0].versions(article.id)] == [1]
    finally:
        for s in stores:
            s.close()


def test_concurrent_upserts_of_different_contents_number_versions_without_gaps(database_url: str) -> None:
    _migrated(database_url)
    stores = [Store(database_url) for _ in range(5)]
    try:
        results = run_together(len(stores), lambda i: stores[i].upsert_article(an_article(headline=f"H{i}")))
        assert sorted(r.article.version for r in results) == [1, 2, 3, 4, 5]
        assert [r.outcome for r in results].count(UpsertOutcome.NEW) == 1
        history = stores[0].versions(results[0].article.id)
        assert sorted(a.headline for a in history) == [f"H{i}" for i in range(5)]
    finally:
        for s in stores:
            s.close()


def test_a_transaction_is_all_or_nothing(store: Store) -> None:
    article = an_article()
    with pytest.raises(RuntimeError, match="crash"), store.transaction():
        store.upsert_article(article)
        store.add_alias("https://www.example.com/amp/story-1", article.id)
        assert store.get_article(article.id) is not None  # the block reads its own writes
        raise RuntimeError("crash before the block ends")
    assert store.get_article(article.id) is None
    assert store.find_by_url("https://www.example.com/amp/story-1") is None
    with store.transaction():
        store.upsert_article(article)
        with store.transaction():  # a nested block joins the outer one
            store.add_alias("https://www.example.com/amp/story-1", article.id)
    assert store.find_by_url("https://www.example.com/amp/story-1") == article.id


def test_racing_upserts_inside_transactions_still_number_versions_without_gaps(database_url: str) -> None:
    """On PostgreSQL the loser of the race on (article, version) retries inside a SAVEPOINT; without one,
    the failed INSERT would abort its whole transaction and the retry would fail."""
    _migrated(database_url)
    stores = [Store(database_url) for _ in range(5)]

    def ingest(i: int) -> int:
        with stores[i].transaction():
            result = stores[i].upsert_article(an_article(headline=f"H{i}"))
            stores[i].add_alias(f"https://www.example.com/copy/{i}", result.article.id)
            return result.article.version

    try:
        assert sorted(run_together(len(stores), ingest)) == [1, 2, 3, 4, 5]
        article_id = an_article().id
        assert all(stores[0].find_by_url(f"https://www.example.com/copy/{i}") == article_id for i in range(5))
    finally:
        for s in stores:
            s.close()


def test_reports_search_page_and_count(store: Store) -> None:
    for n in range(3):
        store.upsert_article(an_article(url=f"https://www.example.com/news/{n}", headline=f"Story {n}",
                                        body=f"Body {n} mentions {'Mosul' if n == 1 else 'nothing'}."))
    first = store.search_articles(limit=2)
    assert len(first.items) == 2 and first.next_offset == 2
    assert len(store.search_articles(limit=2, offset=2).items) == 1
    assert [a.headline for a in store.search_articles(q="mosul").items] == ["Story 1"]
    assert store.search_articles(source_id="someone-else").items == []
    article_id = first.items[0].id
    store.begin_delivery(article_id, 1, "files")
    counts = store.counts()
    assert counts.articles_by_source == {"epoch": 3} and counts.versions_by_source == {"epoch": 3}
    assert counts.deliveries == {("files", "in_progress"): 1}
    assert [v["version"] for v in store.version_summaries(article_id)] == [1]


# --- delivery ledger --------------------------------------------------------------------------------

@pytest.fixture
def stored(store: Store):
    return store.upsert_article(an_article()).article


def test_ledger_begin_retry_deliver_counts_attempts(store: Store, stored) -> None:
    assert store.get_delivery(stored.id, 1, "wp") is None
    first = store.begin_delivery(stored.id, 1, "wp")
    assert (first.state, first.attempts) == (DeliveryState.IN_PROGRESS, 1)
    assert first.created_at.tzinfo == timezone.utc

    retrying = store.mark_retrying(first.id, "outlet_unavailable: 503")
    assert (retrying.state, retrying.last_error) == (DeliveryState.RETRYING, "outlet_unavailable: 503")

    second = store.begin_delivery(stored.id, 1, "wp")
    assert (second.id, second.state, second.attempts) == (first.id, DeliveryState.IN_PROGRESS, 2)

    done = store.mark_delivered(second.id, "post-42", "https://outlet.example.com/?p=42")
    assert (done.state, done.remote_id, done.remote_url) == (DeliveryState.DELIVERED, "post-42",
                                                             "https://outlet.example.com/?p=42")
    assert done.delivered_at is not None and done.delivered_at.tzinfo == timezone.utc
    assert store.get_delivery(stored.id, 1, "wp") == done


def test_begin_on_delivered_returns_it_unchanged(store: Store, stored) -> None:
    delivery = store.begin_delivery(stored.id, 1, "wp")
    done = store.mark_delivered(delivery.id, "post-1", None)
    again = store.begin_delivery(stored.id, 1, "wp")
    assert again == done
    assert (again.state, again.attempts) == (DeliveryState.DELIVERED, 1)


def test_failed_is_final_until_reopened_and_never_overrides_delivered(store: Store, stored) -> None:
    delivery = store.begin_delivery(stored.id, 1, "wp")
    failed = store.mark_failed(delivery.id, "outlet_rejected: 400 bad category")
    assert store.begin_delivery(stored.id, 1, "wp") == failed

    assert store.reopen_delivery(failed.id).state == DeliveryState.PENDING
    retried = store.begin_delivery(stored.id, 1, "wp")
    assert (retried.state, retried.attempts) == (DeliveryState.IN_PROGRESS, 2)

    done = store.mark_delivered(retried.id, "post-9", None)
    # A late duplicate attempt failing must not undo the delivery that happened.
    assert store.mark_failed(done.id, "late duplicate").state == DeliveryState.DELIVERED
    assert store.mark_retrying(done.id, "late duplicate").state == DeliveryState.DELIVERED
    with pytest.raises(LookupError):
        store.mark_delivered(10_000, None, None)


def test_one_ledger_row_per_version_and_outlet(store: Store, stored) -> None:
    newer = store.upsert_article(an_article(headline="Edited")).article
    ids = {
        store.begin_delivery(stored.id, 1, "wp").id,
        store.begin_delivery(stored.id, 1, "wp").id,
        store.begin_delivery(stored.id, 1, "feed").id,
        store.begin_delivery(newer.id, 2, "wp").id,
    }
    assert len(ids) == 3
    assert len(store.deliveries(article_id=stored.id)) == 3
    now = datetime.now(timezone.utc)
    duplicate = {"article_id": stored.id, "version": 1, "outlet_id": "wp", "state": "pending", "attempts": 0,
                 "created_at": now, "updated_at": now}
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(insert(DeliveryRow).values(**duplicate))


def test_concurrent_begin_makes_one_row(database_url: str) -> None:
    setup = Store(database_url)
    setup.migrate()
    article = setup.upsert_article(an_article()).article
    stores = [Store(database_url) for _ in range(5)]
    try:
        rows = run_together(len(stores), lambda i: stores[i].begin_delivery(article.id, 1, "wp"))
        assert len({r.id for r in rows}) == 1
        assert sorted(r.attempts for r in rows) == [1, 2, 3, 4, 5]
        assert setup.get_delivery(article.id, 1, "wp").attempts == 5
    finally:
        for s in [setup, *stores]:
            s.close()


def test_begin_for_an_unknown_article_version_is_a_named_error(store: Store, stored) -> None:
    with pytest.raises(ArticleNotFoundError):
        store.begin_delivery(stored.id, 2, "wp")
    with pytest.raises(ArticleNotFoundError):
        store.begin_delivery("no-such-id", 1, "wp")


def test_previous_remote_and_outlets_delivered(store: Store, stored) -> None:
    assert store.previous_remote(stored.id, "wp") is None
    v1 = store.begin_delivery(stored.id, 1, "wp")
    store.mark_delivered(v1.id, "post-1", "https://outlet.example.com/1")
    feed = store.begin_delivery(stored.id, 1, "feed")
    store.mark_failed(feed.id, "rejected")

    store.upsert_article(an_article(headline="Edited"))
    v2 = store.begin_delivery(stored.id, 2, "wp")
    # While version 2 is under way, the remote item to update is still version 1's.
    assert store.previous_remote(stored.id, "wp").remote_id == "post-1"
    store.mark_delivered(v2.id, "post-1b", None)
    assert (store.previous_remote(stored.id, "wp").version, store.previous_remote(stored.id, "wp").remote_id) == (
        2, "post-1b")
    assert store.previous_remote(stored.id, "feed") is None
    assert store.outlets_delivered(stored.id) == {"wp"}

    assert [d.outlet_id for d in store.deliveries(state=DeliveryState.FAILED)] == ["feed"]
    assert [d.version for d in store.deliveries(article_id=stored.id, state="delivered")] == [2, 1]
    assert len(store.deliveries(limit=2)) == 2


# --- ingest failures --------------------------------------------------------------------------------

def test_ingest_failures_are_recorded_counted_and_cleared(store: Store) -> None:
    url = "https://www.example.com/broken"
    store.record_ingest_failure("epoch", url, "not_html", "served application/pdf")
    store.record_ingest_failure("epoch", url, "empty_page", "no article body")
    store.record_ingest_failure("wire", "https://wire.example.com/x", "http_status", "404")

    [failure] = store.ingest_failures("epoch")
    assert (failure.url, failure.code, failure.last_error, failure.attempts) == (
        url, "empty_page", "no article body", 2)
    assert failure.updated_at >= failure.created_at and failure.updated_at.tzinfo == timezone.utc
    assert {f.source_id for f in store.ingest_failures()} == {"epoch", "wire"}

    store.clear_ingest_failure("epoch", url)
    assert store.ingest_failures("epoch") == []
    assert len(store.ingest_failures()) == 1


# --- schema and migrations --------------------------------------------------------------------------

def _schema_diffs(store: Store) -> list[Any]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_migrated_schema_matches_the_models(store: Store) -> None:
    assert _schema_diffs(store) == []


def test_migrate_twice_is_a_no_op(store: Store) -> None:
    article = store.upsert_article(an_article()).article
    store.migrate()
    with store.engine.connect() as connection:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    assert store.get_article(article.id) == article


def _migrate_in_process(database_url: str, start: Any, outcome: Any) -> None:
    try:
        store = Store(database_url)
        start.wait(timeout=60)
        store.migrate()
        store.close()
        outcome.put("ok")
    except BaseException as error:  # noqa: BLE001 - reported to the test process
        outcome.put(repr(error))


def test_processes_migrating_at_once_all_succeed(database_url: str) -> None:
    # Real processes, as at a deployment where every worker migrates on start-up.
    context = multiprocessing.get_context("spawn")
    start, outcome = context.Barrier(3), context.Queue()
    processes = [context.Process(target=_migrate_in_process, args=(database_url, start, outcome)) for _ in range(3)]
    for process in processes:
        process.start()
    try:
        results = [outcome.get(timeout=120) for _ in processes]
    finally:
        join_or_kill(processes, grace=10)
    assert results == ["ok"] * 3

    store = Store(database_url)
    try:
        assert set(inspect(store.engine).get_table_names()) >= {
            "articles", "article_versions", "deliveries", "ingest_failures", "alembic_version"}
        assert _schema_diffs(store) == []
    finally:
        store.close()


def test_threads_migrating_at_once_all_succeed(database_url: str) -> None:
    stores = [Store(database_url) for _ in range(3)]
    try:
        run_together(len(stores), lambda i: stores[i].migrate())
        assert _schema_diffs(stores[0]) == []
    finally:
        for s in stores:
            s.close()


def test_timestamps_come_back_timezone_aware_utc(store: Store) -> None:
    article = store.upsert_article(an_article()).article
    from worker.store.models import ArticleRow

    with store.engine.connect() as connection:
        row = connection.execute(select(ArticleRow).where(ArticleRow.id == article.id)).one()
    for value in (row.first_seen_at, row.updated_at, row.last_seen_at):
        assert value.tzinfo == timezone.utc
        assert abs(datetime.now(timezone.utc) - value) < timedelta(minutes=5)


# --- engine set-up ----------------------------------------------------------------------------------

def test_sqlite_store_uses_wal_foreign_keys_and_creates_its_folder(tmp_path) -> None:
    path = tmp_path / "nested" / "var" / "store.db"
    store = Store(f"sqlite:///{path}")
    try:
        store.migrate()
        assert path.exists()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        store.close()


def test_in_memory_sqlite_works_across_calls() -> None:
    store = Store("sqlite://")
    store.migrate()
    article = store.upsert_article(an_article()).article
    assert store.get_article(article.id) == article
    store.close()


@pytest.mark.postgres
def test_unreachable_postgres_is_a_transient_store_error() -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/nothing?connect_timeout=2")
    with pytest.raises(StoreUnavailableError) as raised:
        store.get_article("x")
    assert raised.value.code == "store_unavailable"
    assert "database unavailable" in raised.value.reason


def test_unsupported_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="only sqlite and postgresql"):
        Store(str(make_url("mysql+pymysql://user:secret@localhost/db")))
