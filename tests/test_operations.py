"""Operator commands on sources and the ledger, run as typed, against a real Redis and SQLite.

No worker runs here: the tests look at what the commands queue (the Redis lists Celery consumes)
and at what they change in the store.
"""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import redis

from tests.plugins.celery_worker import ROOT, Deployment
from worker.schema import SourceRef, make_article
from worker.store import DeliveryState, Store
from worker.store.polling import LinkSeen


def syndicate(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], env=deployment.env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def stored_article(store: Store, url: str = "http://127.0.0.1/a.html"):
    article = make_article(source=SourceRef(id="theepochtimes", name="The Epoch Times"),
                           attribution="From The Epoch Times", url=url, headline="A headline",
                           body_html="<p>Text.</p>", body_text="Text.")
    return store.upsert_article(article).article


def queued(deployment: Deployment, queue: str) -> list[dict]:
    client = redis.Redis.from_url(deployment.redis_url)
    return [json.loads(m) for m in client.lrange(f"{deployment.key_prefix}{queue}", 0, -1)]


def test_deliveries_lists_state_and_reason_and_retry_replays_once(deployment: Deployment) -> None:
    store = Store(deployment.database_url)
    store.migrate()
    article = stored_article(store)
    failed = store.begin_delivery(article.id, 1, "files")
    store.mark_dead(failed.id, "gave up after 2 retries: outlet_unavailable: HTTP 503")

    listing = syndicate(deployment, "deliveries", "--state", "dead")
    assert listing.returncode == 0, listing.stderr
    assert "dead" in listing.stdout and "gave up after 2 retries: outlet_unavailable: HTTP 503" in listing.stdout

    retry = syndicate(deployment, "deliveries", "retry", str(failed.id))
    assert retry.returncode == 0, retry.stderr
    assert store.delivery_by_id(failed.id).state == DeliveryState.PENDING
    messages = queued(deployment, "deliver")
    assert len(messages) == 1
    assert messages[0]["headers"]["task"] == "syndication.deliver"

    again = syndicate(deployment, "deliveries", "retry", "--all-failed")
    assert "re-queued 0 deliveries" in again.stderr  # the pending row is not replayed twice
    assert len(queued(deployment, "deliver")) == 1


def test_retry_leaves_a_delivered_row_alone(deployment: Deployment) -> None:
    store = Store(deployment.database_url)
    store.migrate()
    article = stored_article(store)
    row = store.begin_delivery(article.id, 1, "files")
    store.mark_delivered(row.id, "r1", None)
    result = syndicate(deployment, "deliveries", "retry", str(row.id))
    assert "is delivered, not failed or dead: left alone" in result.stderr
    assert queued(deployment, "deliver") == []
    unknown = syndicate(deployment, "deliveries", "retry", "999")
    assert unknown.returncode == 2 and "no delivery with id 999" in unknown.stderr


def test_reimport_queues_the_known_links_since_a_date(deployment: Deployment) -> None:
    store = Store(deployment.database_url)
    store.migrate()
    now = datetime.now(timezone.utc)
    store.plan_ingests("theepochtimes", [
        LinkSeen("http://127.0.0.1/old.html", None, "f1", datetime(2020, 1, 1, tzinfo=timezone.utc)),
        LinkSeen("http://127.0.0.1/new.html", None, "f2", datetime(2026, 1, 1, tzinfo=timezone.utc)),
    ], now, 48, 6)
    result = syndicate(deployment, "reimport", "theepochtimes", "--since", "2025-06-01")
    assert result.returncode == 0, result.stderr
    assert "queued 1 known link(s)" in result.stderr
    messages = queued(deployment, "ingest")
    assert [m["headers"]["argsrepr"] for m in messages] == ["('theepochtimes', 'http://127.0.0.1/new.html')"]


def test_sources_shows_each_source_and_poll_refuses_a_manual_source(deployment: Deployment) -> None:
    listing = syndicate(deployment, "sources")
    assert listing.returncode == 0, listing.stderr
    assert "theepochtimes" in listing.stdout and "manual only" in listing.stdout
    poll = syndicate(deployment, "poll", "theepochtimes")
    assert poll.returncode == 2 and "has no discover: entries" in poll.stderr


def test_outlets_check_reports_each_outlet(deployment: Deployment) -> None:
    result = syndicate(deployment, "outlets", "check")
    assert result.returncode == 0, result.stderr
    assert f"files            ok      can write to {deployment.outlet_dir}" in result.stdout
