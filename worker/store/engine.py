"""Engines and migrations for the store: the parts that differ between SQLite and PostgreSQL.

Several worker processes share one database. On PostgreSQL that needs nothing special. On SQLite it needs
WAL (readers do not block the writer), a busy timeout (a writer waits for the other instead of failing), and
write transactions that take the write lock at BEGIN: a deferred transaction that reads first and writes
later can fail at once with "database is locked" when another process wrote in between, whatever the timeout.
"""
from __future__ import annotations

import functools
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from worker.errors import ConfigError, StoreUnavailableError

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
#: execution option asking for a write transaction (BEGIN IMMEDIATE on SQLite; no effect elsewhere)
WRITE_TRANSACTION = "syndication_write"
#: key of the PostgreSQL advisory lock that lets one process at a time run migrations
MIGRATION_LOCK_KEY = 0x5359_4E44_4D49_4752  # "SYNDMIGR"
SQLITE_BUSY_TIMEOUT_MS = 30_000
SUPPORTED_DIALECTS = ("sqlite", "postgresql")

# Alembic keeps its migration context in module globals, so two threads of one process must not run it at
# once; the database locks below only keep separate connections (and processes) apart.
_MIGRATION_THREAD_LOCK = threading.Lock()

P = ParamSpec("P")
R = TypeVar("R")


def _is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def create_store_engine(database_url: str) -> Engine:
    """An engine set up for several processes sharing the database; refuses databases we do not support."""
    url = make_url(database_url)
    if url.get_backend_name() not in SUPPORTED_DIALECTS:
        shown = url.render_as_string(hide_password=True)
        raise ConfigError(f"DATABASE_URL {shown}: only sqlite and postgresql databases are supported")
    if url.get_backend_name() == "postgresql":
        # pre_ping: a connection left over from before a database restart is replaced, not failed on.
        return create_engine(url, pool_pre_ping=True)
    return _create_sqlite_engine(url)


def _create_sqlite_engine(url: URL) -> Engine:
    memory = _is_memory(url)
    if not memory and url.database and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
    if memory:
        # Each connection to :memory: is a database of its own; share one so the schema is seen by all.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand BEGIN over to SQLAlchemy (see _on_begin); pysqlite would otherwise issue its own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        if not memory:
            _enable_wal(cursor)
            # In WAL mode NORMAL loses no committed data on an application crash, only on power loss.
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_TRANSACTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL (a lasting property of the file, so this matters once per new database).

    The switch needs an exclusive lock and SQLite does not wait on the busy timeout for it, so processes
    opening a brand-new database together would fail here; they wait and try again instead.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def writer(engine: Engine) -> Engine:
    """The same engine and pool, but every transaction it begins is a write transaction."""
    return engine.execution_options(**{WRITE_TRANSACTION: True})


def unavailable_reason(error: OperationalError) -> str:
    message = str(error.orig or error).strip()
    detail = message.splitlines()[0] if message else type(error).__name__
    hint = " (has the store been migrated? run `syndicate migrate`)" if "no such table" in detail else ""
    return f"database unavailable: {detail}{hint}"


def translate_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn a database that cannot be reached (or is locked) into StoreUnavailableError, which tasks retry."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except OperationalError as error:
            raise StoreUnavailableError(unavailable_reason(error)) from error

    return wrapper


def alembic_config() -> Any:
    """Alembic settings without an alembic.ini: the scripts ship inside the package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


_REVISION = re.compile(r'^revision(?::\s*str)?\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision(?::[^=]*)?=\s*"([^"]+)"', re.MULTILINE)


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the scripts' own `revision` / `down_revision` lines.

    Why not Alembic's ScriptDirectory: importing Alembic (with Mako and Pygments) costs every process
    about 11 MB of resident memory, and a worker needs it only when the store is behind. None when the
    scripts do not name exactly one head (then Alembic decides). tests/test_store.py checks this against
    Alembic's own head.
    """
    revisions, parents = set(), set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text_ = script.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text_))
        parents.update(_DOWN_REVISION.findall(text_))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(engine: Engine) -> bool:
    """Whether the store is already at the newest revision (asked without Alembic)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    except OperationalError:
        return False  # no alembic_version table yet: a new store
    except Exception:  # noqa: BLE001 - any doubt goes to Alembic, which knows
        return False


def upgrade_to_head(engine: Engine) -> None:
    """Run `alembic upgrade head` in one transaction that only one process at a time can hold.

    PostgreSQL: a transaction-scoped advisory lock, released at commit. SQLite: BEGIN IMMEDIATE takes the
    file's write lock before Alembic reads the current revision, so a second process waits and then finds
    nothing left to do. A store already at the newest revision is left alone without importing Alembic.
    """
    if _at_head(engine):
        return
    from alembic import command

    config = alembic_config()
    with _MIGRATION_THREAD_LOCK, writer(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
