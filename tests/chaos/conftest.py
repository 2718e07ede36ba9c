"""Chaos tests: the whole pipeline on real Redis and PostgreSQL, with workers killed and servers taken away.

They run in the normal `pytest` run (CI included) and need PostgreSQL like the other postgres tests:
run whenever it is reachable, skipped on a laptop without it, a failure under CI=true.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.chaos.harness import ChaosOptions, ChaosRun


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: kills workers and restarts servers under a running pipeline (tests/chaos)")


@pytest.fixture
def chaos_database(postgres_admin: Engine, postgres_session_database: str) -> Iterator[str]:
    """An empty schema of its own in the session's PostgreSQL test database."""
    schema = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_session_database, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(postgres_session_database).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture
def chaos_run(tmp_path: Path, chaos_database: str, request: pytest.FixtureRequest) -> Iterator[ChaosRun]:
    """A running pipeline; a test may pass ChaosOptions through `@pytest.mark.parametrize(..., indirect=True)`."""
    options = getattr(request, "param", None) or ChaosOptions()
    run = ChaosRun(tmp_path, chaos_database, options)
    try:
        yield run.start()
    finally:
        run.stop()
