"""Beat's tick (worker/scheduling.py) on a real Redis: one source's bad state never stops the tick for the
others."""
from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import redis

from worker.config import FeedDiscovery, Source
from worker.scheduling import claim_due_sources, poll_due_key


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def source(source_id: str, interval: int = 900) -> Source:
    return Source(id=source_id, name=source_id.title(), allowed_domains=[f"{source_id}.example"], interval=interval,
                  discover=[FeedDiscovery(kind="feed", url=f"https://{source_id}.example/feed.xml")])


def test_a_source_redis_refuses_is_logged_and_the_sources_after_it_are_still_polled(
    client: redis.Redis, redis_key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # the state config now refuses at load, built past validation as a worker holding it would have it:
    # Redis answers "invalid expire time" for this source's claim
    broken = source("broken").model_copy(update={"interval": 100000000000000000000000})
    sources = [source("first"), broken, source("after")]
    dispatched: list[str] = []
    with caplog.at_level(logging.ERROR, logger="worker.scheduling"):
        claimed = claim_due_sources(client, redis_key_prefix, sources, dispatched.append)
    assert claimed == dispatched == ["first", "after"]
    assert any("'broken'" in record.getMessage() and record.exc_info for record in caplog.records), caplog.text
    # the next tick: the good ones are not due again, the broken one is tried (and skipped) again
    assert claim_due_sources(client, redis_key_prefix, sources, dispatched.append) == []
    assert client.ttl(poll_due_key(redis_key_prefix, "after")) > 800


def test_a_failed_dispatch_skips_only_that_source_and_gives_its_claim_back(
    client: redis.Redis, redis_key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    dispatched: list[str] = []

    def dispatch(source_id: str) -> None:
        if source_id == "flaky":
            raise RuntimeError("the message could not be sent")
        dispatched.append(source_id)

    sources = [source("flaky"), source("steady")]
    with caplog.at_level(logging.ERROR, logger="worker.scheduling"):
        assert claim_due_sources(client, redis_key_prefix, sources, dispatch) == ["steady"]
    assert "'flaky'" in caplog.text
    # its claim was given back: the next tick dispatches it instead of waiting out a whole interval
    assert not client.exists(poll_due_key(redis_key_prefix, "flaky"))
    assert claim_due_sources(client, redis_key_prefix, sources, dispatched.append) == ["flaky"]


def test_an_unreachable_redis_still_fails_the_tick(redis_key_prefix: str) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=2)
    with pytest.raises(redis.ConnectionError):
        claim_due_sources(unreachable, redis_key_prefix, [source("first")], lambda source_id: None)
