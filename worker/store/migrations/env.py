"""Alembic environment for the store.

The store runs migrations itself (Store.migrate) and hands over a connection that already holds its
transaction and, on PostgreSQL, the advisory lock; so there is no alembic.ini and no URL here. Without a
connection (a developer running Alembic commands by hand, e.g. to autogenerate the next revision) the URL is
the config's sqlalchemy.url or else DATABASE_URL from the worker's settings.
"""
from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from worker.store.engine import create_store_engine
from worker.store.models import Base

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    from worker.settings import load_settings

    url = context.config.get_main_option("sqlalchemy.url") or load_settings().database_url
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            _configure_and_run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `syndicate` or Store.migrate()")
run_migrations_online()
