"""Declared items: a structured source's article stored with its link.

known_links gains item (the DeclaredArticle as JSON, for sources that hand the whole article over: ninjs,
full-content feeds), item_url and item_kind (where the article's structured form is fetched on its own,
and the discovery kind that reads it: a WordPress post's REST URL). All nullable; existing rows keep theirs.

Written out by hand, like 0001 and 0002, so it keeps doing the same whatever the models become.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("known_links") as batch:
        batch.add_column(sa.Column("item", sa.Text(), nullable=True))
        batch.add_column(sa.Column("item_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("item_kind", sa.String(300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("known_links") as batch:
        batch.drop_column("item_kind")
        batch.drop_column("item_url")
        batch.drop_column("item")
