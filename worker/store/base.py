"""What every part of the store shares: the engine, read and write transactions, and the upsert statement.

The store is one class (Store) assembled from a few parts, one module each (articles and ledger, polling
state, source health, withdrawals, duplicates), so that no module grows past a readable size. Each part is a
mixin over this base.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from worker.store.engine import create_store_engine, translate_errors, upgrade_to_head, writer


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
        # the session of the transaction() block this thread is in, if any
        self._joined = threading.local()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction for every store call made in the block (by this thread): all or nothing.

        Why: an ingest makes some twenty small reads and writes. Each in its own transaction costs a BEGIN,
        a COMMIT and a session, which measured about as much as the rest of the pipeline around extraction
        (bench/pipeline.py). A method that recovers from losing a race on a unique key (it re-reads and
        decides again) asks for a SAVEPOINT (`_writing(savepoint=True)`), so only its own statements roll
        back. Keep the block short and free of network calls: on SQLite it holds the database's
        write lock until it ends. A nested block joins the outer one. An error inside the block ends it
        (rolled back): on PostgreSQL a failed statement aborts the transaction, so there is no going on.
        """
        if getattr(self._joined, "session", None) is not None:
            yield
            return
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            self._joined.session = session
            try:
                yield
            finally:
                self._joined.session = None

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        joined: Session | None = getattr(self._joined, "session", None)
        if joined is not None:
            joined.expire_all()  # read what the earlier statements of the block wrote, not cached objects
            yield joined
            return
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _writing(self, savepoint: bool = False) -> Iterator[Session]:
        """A write transaction: on SQLite it holds the database's write lock from BEGIN to COMMIT.

        Inside a transaction() block it joins that block's transaction, in a SAVEPOINT if `savepoint` (for
        a caller that catches IntegrityError and tries again).
        """
        joined: Session | None = getattr(self._joined, "session", None)
        if joined is not None:
            joined.expire_all()
            if savepoint:
                with joined.begin_nested():
                    yield joined
            else:
                yield joined
            return
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    def _upsert(self, table: Table) -> Any:
        """INSERT ... ON CONFLICT for this database (typed Any: the two dialects' classes share no base)."""
        return self._insert(table)

    @translate_errors
    def migrate(self) -> None:
        """Bring the schema up to date. Idempotent, and safe when several processes start at once."""
        upgrade_to_head(self.engine)
