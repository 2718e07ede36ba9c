"""Celery time limits derived from the deadlines, and a soft limit that is a named, retried failure.

The integration tests give the tasks a soft limit (2 s) far shorter than the request deadlines (60 s), so
the limit, not the deadline, is what stops the dripping peer; then they check that the work was retried
and finally given up on with the limit's name on record, not lost and not marked as an outlet bug.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tests.plugins.celery_worker import Deployment
from tests.support.slow_peer import SlowPeer, slow_body, slow_headers
from worker.app import create_app
from worker.schema import Author, SourceRef, make_article
from worker.settings import load_settings
from worker.store import DeliveryState, Store
from worker.flow.time_limits import GRACE, SLACK

SOFT_LIMIT = 2
#: the peers drip for longer than every limit and retry of these tests together
DRIP = 90


def test_the_limits_are_derived_from_the_fetch_deadline() -> None:
    settings = load_settings({"SYNDICATION_FETCH_TOTAL_TIMEOUT": "30"})
    annotations = create_app(settings).conf.task_annotations
    # the page's deadline and the one its images share
    assert annotations["syndication.ingest"] == {"soft_time_limit": 60 + SLACK, "time_limit": 60 + SLACK + GRACE}
    for name in ("syndication.poll_source", "syndication.deliver", "syndication.withdraw"):
        limits = annotations[name]
        assert 30 < limits["soft_time_limit"] < limits["time_limit"]
    fixed = create_app(load_settings({"SYNDICATION_TASK_SOFT_TIME_LIMIT": "7"})).conf.task_annotations
    assert {limits["soft_time_limit"] for limits in fixed.values()} == {7}


def slow_deployment(deployment: Deployment, **env: str) -> None:
    deployment.max_retries = 1
    deployment.retry_backoff_max = 1
    deployment.extra_env = {"SYNDICATION_TASK_SOFT_TIME_LIMIT": str(SOFT_LIMIT),
                            "SYNDICATION_FETCH_TOTAL_TIMEOUT": "60", "SYNDICATION_FETCH_TIMEOUT": "30", **env}


def wait_for(check, timeout: float = 90):  # noqa: ANN001, ANN201 - a polling helper
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    return None


@pytest.mark.integration
def test_an_ingest_past_its_soft_limit_is_retried_then_given_up_with_the_limit_named(deployment: Deployment) -> None:
    slow_deployment(deployment)
    store = Store(deployment.database_url)
    store.migrate()
    with SlowPeer(lambda method, path: slow_body(give_up_after=DRIP)) as peer:
        deployment.start_worker()
        deployment.app().send_task("syndication.ingest", ("theepochtimes", peer.url("/a.html")), queue="ingest")
        failures = wait_for(store.ingest_failures)
        assert failures, deployment.worker_log(0)
        [failure] = failures
        assert failure.code == "time_limit", failure
        assert "soft time limit of 2 s" in (failure.last_error or "")
        assert len([e for e in peer.exchanges if e.path == "/a.html"]) == 2  # the first try and one retry


@pytest.mark.integration
def test_a_delivery_past_its_soft_limit_is_retried_not_failed_as_an_outlet_bug(deployment: Deployment) -> None:
    slow_deployment(deployment, TEST_WEBHOOK_SECRET="s3cret")
    with SlowPeer(lambda method, path: slow_headers(give_up_after=DRIP)) as peer:
        deployment.write_config(
            "outlets:\n  - id: hook\n    kind: webhook\n"
            f"    url: {peer.url('/hook')}\n    secret_env: TEST_WEBHOOK_SECRET\n    timeout: 60\n")
        store = Store(deployment.database_url)
        store.migrate()
        store.upsert_article(make_article(
            version=1, source=SourceRef(id="p", name="Partner"), attribution="From Partner",
            url="https://partner.example/story.html", headline="Story", authors=[Author(name="Ann Lee")],
            published=datetime(2024, 1, 1, tzinfo=timezone.utc), body_html="<p>Body.</p>", body_text="Body.",
            fetched_at=datetime(2024, 1, 2, tzinfo=timezone.utc)))
        article_id = store.list_articles()[0].id
        deployment.start_worker()
        deployment.app().send_task("syndication.deliver", (article_id, "hook"), {"version": 1}, queue="deliver")
        rows = wait_for(lambda: [r for r in store.deliveries() if r.state == DeliveryState.DEAD])
        assert rows, (store.deliveries(), deployment.worker_log(0))
        [row] = rows
        assert "time_limit" in (row.last_error or "") and "SoftTimeLimitExceeded" not in (row.last_error or "")
        assert row.attempts == 2  # claimed again after the first limit: the row was not left FAILED
        assert len(peer.exchanges) == 2
