"""Polling state, source health, withdrawals, URL aliases and near-duplicate fingerprints.

New tables: url_states, known_links, source_health, url_aliases, article_fingerprints, fingerprint_bands.
articles gains withdrawn_at and withdrawn_reason (and an index on url for find_by_url); deliveries gains
withdrawal_started_at and withdrawn_at. Existing rows keep their data: every new column is nullable.

Written out by hand, like 0001, so it keeps doing the same whatever the models become.

Revision ID: 0002
Revises: 0001
Create Date: 2024-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    # Batch mode: SQLite cannot ALTER most things in place (adding nullable columns it can, and then batch
    # mode does no table copy); PostgreSQL runs plain ALTER TABLE statements.
    with op.batch_alter_table("articles") as batch:
        batch.add_column(_timestamp("withdrawn_at", nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sa.Text(), nullable=True))
    op.create_index("ix_articles_url", "articles", ["url"])

    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(_timestamp("withdrawal_started_at", nullable=True))
        batch.add_column(_timestamp("withdrawn_at", nullable=True))

    op.create_table(
        "url_states",
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=False),
        _timestamp("last_fetched_at"),
        sa.Column("article_id", sa.String(64), nullable=True),
        sa.Column("content_hash", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("source_id", "url", name="pk_url_states"),
    )

    op.create_table(
        "known_links",
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("guid", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(100), nullable=True),
        _timestamp("first_seen_at"),
        _timestamp("last_seen_at"),
        _timestamp("published_at", nullable=True),
        _timestamp("last_checked_at", nullable=True),
        _timestamp("last_planned_at", nullable=True),
        sa.Column("article_id", sa.String(64), nullable=True),
        _timestamp("withdrawn_at", nullable=True),
        sa.PrimaryKeyConstraint("source_id", "url", name="pk_known_links"),
    )
    op.create_index("ix_known_links_article_id", "known_links", ["article_id"])

    op.create_table(
        "source_health",
        sa.Column("source_id", sa.String(200), nullable=False),
        _timestamp("first_poll_started_at"),
        _timestamp("last_poll_started_at"),
        _timestamp("last_poll_finished_at", nullable=True),
        sa.Column("last_poll_ok", sa.Boolean(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("last_new_article_at", nullable=True),
        sa.Column("articles_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source_id", name="pk_source_health"),
    )

    op.create_table(
        "url_aliases",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("url", name="pk_url_aliases"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], name="fk_url_aliases_article_id_articles"),
    )
    op.create_index("ix_url_aliases_article_id", "url_aliases", ["article_id"])

    op.create_table(
        "article_fingerprints",
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("scheme", sa.String(100), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("article_id", name="pk_article_fingerprints"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_article_fingerprints_article_id_articles"
        ),
    )

    op.create_table(
        "fingerprint_bands",
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("band_index", sa.Integer(), nullable=False),
        sa.Column("band_hash", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("article_id", "band_index", name="pk_fingerprint_bands"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article_fingerprints.article_id"],
            name="fk_fingerprint_bands_article_id_article_fingerprints",
        ),
    )
    op.create_index("ix_fingerprint_bands_band_hash", "fingerprint_bands", ["band_hash"])


def downgrade() -> None:
    # No table copy on SQLite: copying `articles` means dropping a table other rows point at, which SQLite's
    # foreign keys refuse. ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) drops these plain columns in place.
    op.drop_index("ix_fingerprint_bands_band_hash", table_name="fingerprint_bands")
    op.drop_table("fingerprint_bands")
    op.drop_table("article_fingerprints")
    op.drop_index("ix_url_aliases_article_id", table_name="url_aliases")
    op.drop_table("url_aliases")
    op.drop_table("source_health")
    op.drop_index("ix_known_links_article_id", table_name="known_links")
    op.drop_table("known_links")
    op.drop_table("url_states")
    with op.batch_alter_table("deliveries", recreate="never") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("withdrawal_started_at")
    op.drop_index("ix_articles_url", table_name="articles")
    with op.batch_alter_table("articles", recreate="never") as batch:
        batch.drop_column("withdrawn_reason")
        batch.drop_column("withdrawn_at")
