"""Beat's tick (worker/flow/schedule.py, worker/tasks.py) on a real Redis: one source's bad state never stops
the tick for the others, and a broken live edit of sources.yaml never stops it at all."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker.config import DiscoverEntry, Source
from worker.flow.services import Services
from worker.flow.schedule import claim_due_sources, poll_due_key
from worker.settings import load_settings
from worker.tasks import dispatch_due_polls


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def source(source_id: str, interval: int = 900) -> Source:
    return Source(id=source_id, name=source_id.title(), allowed_domains=[f"{source_id}.example"], interval=interval,
                  discover=[DiscoverEntry(kind="feed", url=f"https://{source_id}.example/feed.xml")])


def test_a_source_redis_refuses_is_logged_and_the_sources_after_it_are_still_polled(
    client: redis.Redis, redis_key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # the state config now refuses at load, built past validation as a worker holding it would have it:
    # Redis answers "invalid expire time" for this source's claim
    broken = source("broken").model_copy(update={"interval": 100000000000000000000000})
    sources = [source("first"), broken, source("after")]
    dispatched: list[str] = []
    with caplog.at_level(logging.ERROR, logger="worker.flow.schedule"):
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
    with caplog.at_level(logging.ERROR, logger="worker.flow.schedule"):
        assert claim_due_sources(client, redis_key_prefix, sources, dispatch) == ["steady"]
    assert "'flaky'" in caplog.text
    # its claim was given back: the next tick dispatches it instead of waiting out a whole interval
    assert not client.exists(poll_due_key(redis_key_prefix, "flaky"))
    assert claim_due_sources(client, redis_key_prefix, sources, dispatched.append) == ["flaky"]


def test_an_unreachable_redis_still_fails_the_tick(redis_key_prefix: str) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=2)
    with pytest.raises(redis.ConnectionError):
        claim_due_sources(unreachable, redis_key_prefix, [source("first")], lambda source_id: None)


def test_a_broken_live_edit_of_sources_yaml_keeps_the_tick_on_the_last_good_config(
    client: redis.Redis, redis_url: str, redis_key_prefix: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sources_yaml = tmp_path / "sources.yaml"
    feed = "discover: [{kind: feed, url: 'https://first.example/feed.xml'}]"
    sources_yaml.write_text("sources:\n"
                            f"  - {{id: first, name: First, allowed_domains: [first.example], interval: 10, {feed}}}\n"
                            f"  - {{id: second, name: Second, allowed_domains: [second.example], interval: 10, {feed}}}\n")
    settings = load_settings({"CONFIG_DIR": str(tmp_path), "REDIS_URL": redis_url,
                              "SYNDICATION_REDIS_KEY_PREFIX": redis_key_prefix,
                              "SYNDICATION_VAR_DIR": str(tmp_path / "var")})
    svc = Services(settings, redis_client=client)
    dispatched: list[str] = []
    assert dispatch_due_polls(svc, dispatched.append) == ["first", "second"]

    # an operator's edit, half done: the tick must go on with the sources it had
    sources_yaml.write_text("sources:\n"
                            f"  - {{id: first, name: First, allowed_domains: [first.example], interval: 1, {feed}}}\n")
    stat = sources_yaml.stat()
    os.utime(sources_yaml, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a change even on a coarse clock
    for source_id in ("first", "second"):
        client.delete(poll_due_key(redis_key_prefix, source_id))  # both due again, as an interval later
    with caplog.at_level(logging.ERROR, logger="worker.flow.services"):
        assert dispatch_due_polls(svc, dispatched.append) == ["first", "second"]
    assert f"{sources_yaml}, line 2, source 'first', field 'interval'" in caplog.text
    assert "keeping the last good config" in caplog.text
    assert client.ttl(poll_due_key(redis_key_prefix, "first")) > 5  # scheduled with the good interval
