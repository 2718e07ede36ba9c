"""Database fixtures: the store is tested on SQLite and on PostgreSQL, each test on an empty database.

PostgreSQL comes from TEST_POSTGRES_URL (default: local server, trust auth, database `test`); the tests
run in a database created for the session, one schema per test. When it cannot
be reached the PostgreSQL half is skipped on a laptop, but fails under CI=true, where it must run.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from worker.store import Store

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: prefix of the throw-away databases, so strays left by a killed run are easy to spot and drop
TEST_DATABASE_PREFIX = "syndication_test_"


def _candidate_postgres_urls() -> list[str]:
    configured = os.environ.get("TEST_POSTGRES_URL")
    if configured:
        return [configured]
    # Local servers set up by hand often know only the login user (root in containers), not `postgres`.
    return [DEFAULT_POSTGRES_URL, make_url(DEFAULT_POSTGRES_URL).set(username="root").render_as_string(False)]


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the PostgreSQL server, for creating and dropping test databases."""
    problems: list[str] = []
    for url in _candidate_postgres_urls():
        engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                               connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            engine.dispose()
            problems.append(f"{_shown(url)}: {str(error.orig or error).strip().splitlines()[0]}")
            continue
        yield engine
        engine.dispose()
        return
    where = "; ".join(problems)
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and PostgreSQL unreachable at {where}", pytrace=False)
    pytest.skip(f"PostgreSQL unreachable ({where}); set TEST_POSTGRES_URL to run the postgres tests")


@pytest.fixture(scope="session")
def postgres_session_database(postgres_admin: Engine) -> Iterator[str]:
    """One throw-away database per test session; each test then gets a schema of its own inside it.

    A schema costs milliseconds where CREATE DATABASE costs a checkpoint-sized fraction of a second.
    """
    name = f"{TEST_DATABASE_PREFIX}{uuid.uuid4().hex[:16]}"
    with postgres_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def fresh_postgres_schema(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty schema of its own in the session's PostgreSQL test database, dropped afterwards."""
    database_url: str = request.getfixturevalue("postgres_session_database")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        # Every connection of the store under test sees only this schema, Alembic's version table included.
        url = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an empty database, not yet migrated, dropped after the test."""
    if request.param == "sqlite":
        # A sub-folder that does not exist yet: the store must create it.
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'var' / 'syndication.db'}"
        return
    yield from fresh_postgres_schema(request)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on a fresh database."""
    instance = Store(database_url)
    instance.migrate()
    try:
        yield instance
    finally:
        instance.close()
