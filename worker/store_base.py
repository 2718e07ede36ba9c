"""What every part of the store shares: the engine, read and write transactions, and the upsert statement.

The store is one class (Store) assembled from a few parts, one module each (articles and ledger, polling
state, source health, withdrawals, duplicates), so that no module grows past a readable size. Each part is a
mixin over this base.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.store_engine import create_store_engine, translate_errors, upgrade_to_head, writer


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def affected_rows(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (execute() is typed as returning a plain Result)."""
    return cast(CursorResult[Any], result).rowcount


class StoreBase:
    """The engine and the two kinds of transaction; the parts of the store build on these only."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_store_engine(database_url)
        self._writer = writer(self.engine)
        # Both SQLite and PostgreSQL (the only supported databases) share this INSERT ... ON CONFLICT form.
        self._insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        """A write transaction: on SQLite it holds the database's write lock from BEGIN to COMMIT."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def _upsert(self, table: Table) -> Any:
        """INSERT ... ON CONFLICT for this database (typed Any: the two dialects' classes share no base)."""
        return self._insert(table)

    @translate_errors
    def migrate(self) -> None:
        """Bring the schema up to date. Idempotent, and safe when several processes start at once."""
        upgrade_to_head(self.engine)
