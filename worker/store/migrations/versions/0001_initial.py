"""Initial schema: articles and their versions, the delivery ledger, permanent ingest failures.

Written out by hand rather than imported from worker.store.models, so that this migration keeps creating the
same tables however the models change later.

Revision ID: 0001
Revises:
Create Date: 2024-11-29
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        _timestamp("first_seen_at"),
        _timestamp("updated_at"),
        _timestamp("last_seen_at"),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
    )
    op.create_index("ix_articles_source_id", "articles", ["source_id"])
    op.create_index("ix_articles_updated_at", "articles", ["updated_at"])

    op.create_table(
        "article_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_article_versions"),
        sa.UniqueConstraint("article_id", "version", name="uq_article_versions_article_id_version"),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_article_versions_article_id_articles"
        ),
    )

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("outlet_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("remote_id", sa.Text(), nullable=True),
        sa.Column("remote_url", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint(
            "article_id", "version", "outlet_id", name="uq_deliveries_article_id_version_outlet_id"
        ),
        sa.ForeignKeyConstraint(
            ["article_id", "version"],
            ["article_versions.article_id", "article_versions.version"],
            name="fk_deliveries_article_id_version_article_versions",
        ),
    )
    op.create_index("ix_deliveries_state", "deliveries", ["state"])
    op.create_index(
        "ix_deliveries_article_id_outlet_id_state", "deliveries", ["article_id", "outlet_id", "state"]
    )

    op.create_table(
        "ingest_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ingest_failures"),
        sa.UniqueConstraint("source_id", "url", name="uq_ingest_failures_source_id_url"),
    )


def downgrade() -> None:
    op.drop_table("ingest_failures")
    op.drop_index("ix_deliveries_article_id_outlet_id_state", table_name="deliveries")
    op.drop_index("ix_deliveries_state", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("article_versions")
    op.drop_index("ix_articles_updated_at", table_name="articles")
    op.drop_index("ix_articles_source_id", table_name="articles")
    op.drop_table("articles")
