"""Article images: the image files (once per content) and what became of each image of each version.

New tables: image_files (sha256, the type and size sniffed from the bytes, the bytes) and article_images
(per article version and image URL: role, position, stored or missing, the file, or the failure's code
and reason). Nothing existing changes: versions stored before keep no image rows, and outlets go on
linking their partner URLs.

Written out by hand, like 0001 to 0003, so it keeps doing the same whatever the models become.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "image_files",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("byte_size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("sha256", name="pk_image_files"),
    )
    op.create_table(
        "article_images",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("article_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("code", sa.String(100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_article_images"),
        sa.UniqueConstraint("article_id", "version", "url", name="uq_article_images_article_id_version_url"),
        sa.ForeignKeyConstraint(
            ["article_id", "version"], ["article_versions.article_id", "article_versions.version"],
            name="fk_article_images_article_id_version_article_versions",
        ),
        sa.ForeignKeyConstraint(["sha256"], ["image_files.sha256"], name="fk_article_images_sha256_image_files"),
    )


def downgrade() -> None:
    op.drop_table("article_images")
    op.drop_table("image_files")
