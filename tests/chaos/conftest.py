"""Chaos tests: the whole pipeline on real Redis and PostgreSQL, with workers killed and servers taken away.

They run in the normal `pytest` run (CI included) and need PostgreSQL like the other postgres tests:
run whenever it is reachable, skipped on a laptop without it, a failure under CI=true.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import ChaosOptions, ChaosRun
from tests.plugins.database import fresh_postgres_schema


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: kills workers and restarts servers under a running pipeline (tests/chaos)")


@pytest.fixture
def chaos_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty schema of its own in the session's PostgreSQL test database."""
    yield from fresh_postgres_schema(request)


@pytest.fixture
def chaos_run(tmp_path: Path, chaos_database: str, request: pytest.FixtureRequest) -> Iterator[ChaosRun]:
    """A running pipeline; a test may pass ChaosOptions through `@pytest.mark.parametrize(..., indirect=True)`."""
    options = getattr(request, "param", None) or ChaosOptions()
    run = ChaosRun(tmp_path, chaos_database, options)
    try:
        yield run.start()
    finally:
        run.stop()
