"""Tables of the store, as typed SQLAlchemy 2 models.

They are the single description of the schema: the Alembic migrations are written to match them, and a test
checks that a migrated database and this metadata do not differ, on SQLite and on PostgreSQL alike.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Fixed constraint names, so that migrations can name what they create and later ones can drop it by name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database.

    PostgreSQL keeps the offset (timestamptz) but hands values back in the session's time zone; SQLite keeps
    no offset at all and hands back naive values. Both are normalised here so callers always get UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive value would be read back as UTC whatever it meant; refuse it rather than guess.
            raise ValueError(f"naive datetime {value!r}: the store keeps timezone-aware UTC times only")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class ArticleRow(Base):
    """One row per article id; points at the latest version so listing needs no max() per article."""

    __tablename__ = "articles"
    # url: find_by_url matches the canonical URL before the aliases
    __table_args__ = (Index(None, "source_id"), Index(None, "updated_at"), Index(None, "url"))

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    latest_version: Mapped[int] = mapped_column(Integer)
    first_seen_at: Mapped[datetime]
    #: when the latest version was stored
    updated_at: Mapped[datetime]
    #: when the page was last fetched and found unchanged or changed (lets discovery skip recent ones)
    last_seen_at: Mapped[datetime]
    #: set once when the partner took the article down; outlets are then told to take it down too
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class ArticleVersionRow(Base):
    """Every distinct content of an article, kept so outlets and operators can see what changed."""

    __tablename__ = "article_versions"
    __table_args__ = (
        # The guard against two workers storing the same version: the loser re-reads and decides again.
        UniqueConstraint("article_id", "version"),
        ForeignKeyConstraint(["article_id"], ["articles.id"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(100))
    #: Article.model_dump(mode="json"), version included
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class DeliveryRow(Base):
    """The delivery ledger: one row per (article version, outlet) so each version goes out once per outlet."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("article_id", "version", "outlet_id"),
        ForeignKeyConstraint(
            ["article_id", "version"], ["article_versions.article_id", "article_versions.version"]
        ),
        Index(None, "state"),
        Index(None, "article_id", "outlet_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    outlet_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    remote_id: Mapped[str | None] = mapped_column(Text)
    remote_url: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    #: a worker is telling the outlet to take the item down (a lease: a stale claim may be taken over)
    withdrawal_started_at: Mapped[datetime | None]
    #: the outlet has been told to take the item down; set once, never cleared
    withdrawn_at: Mapped[datetime | None]


class IngestFailureRow(Base):
    """A URL that failed permanently, with the reason, so an operator can see it and replay it."""

    __tablename__ = "ingest_failures"
    __table_args__ = (UniqueConstraint("source_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(100))
    last_error: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class UrlStateRow(Base):
    """What the last fetch of a URL returned, so the next one can be a conditional GET."""

    __tablename__ = "url_states"
    __table_args__ = (PrimaryKeyConstraint("source_id", "url"),)

    source_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int] = mapped_column(Integer)
    last_fetched_at: Mapped[datetime]
    article_id: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(100))


class KnownLinkRow(Base):
    """A link discovery has seen, so a poll plans an ingest only for what is new, changed or due a re-check."""

    __tablename__ = "known_links"
    __table_args__ = (PrimaryKeyConstraint("source_id", "url"), Index(None, "article_id"))

    source_id: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    guid: Mapped[str | None] = mapped_column(Text)
    #: discovery's digest of the feed entry; NULL for a link first met through an ingest (operator import)
    fingerprint: Mapped[str | None] = mapped_column(String(100))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    #: when an ingest last finished for the link
    last_checked_at: Mapped[datetime | None]
    #: the planner's claim: set by the one poller that decided to ingest the link, so no other one does too
    last_planned_at: Mapped[datetime | None]
    article_id: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None]
    #: the article as a structured source declared it (worker.schema.declared, JSON); deferred: only the
    #: ingest reads it, and the poll's per-link lookups should not load a whole body each
    item: Mapped[str | None] = mapped_column(Text, deferred=True)
    #: where the article's structured form is fetched on its own, and the discovery kind that reads it
    item_url: Mapped[str | None] = mapped_column(Text)
    item_kind: Mapped[str | None] = mapped_column(String(300))


class SourceHealthRow(Base):
    """How a source's polls are going, for the operator's health view and the idle alert."""

    __tablename__ = "source_health"

    source_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    first_poll_started_at: Mapped[datetime]
    last_poll_started_at: Mapped[datetime]
    last_poll_finished_at: Mapped[datetime | None]
    last_poll_ok: Mapped[bool | None] = mapped_column(Boolean)
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_new_article_at: Mapped[datetime | None]
    articles_total: Mapped[int] = mapped_column(Integer)


class UrlAliasRow(Base):
    """Another URL an article was fetched from (AMP page, tracking variant), so it maps to the same article."""

    __tablename__ = "url_aliases"
    __table_args__ = (ForeignKeyConstraint(["article_id"], ["articles.id"]), Index(None, "article_id"))

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    article_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ArticleFingerprintRow(Base):
    """The MinHash signature of an article's body (see worker.fingerprint), to verify LSH candidates."""

    __tablename__ = "article_fingerprints"
    __table_args__ = (ForeignKeyConstraint(["article_id"], ["articles.id"]),)

    article_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: fingerprint.SCHEME of the signature; signatures of different schemes are never compared
    scheme: Mapped[str] = mapped_column(String(100))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class FingerprintBandRow(Base):
    """LSH bands of the signatures: an indexed band_hash finds candidate near-duplicates without a scan."""

    __tablename__ = "fingerprint_bands"
    __table_args__ = (
        PrimaryKeyConstraint("article_id", "band_index"),
        ForeignKeyConstraint(["article_id"], ["article_fingerprints.article_id"]),
        Index(None, "band_hash"),
    )

    article_id: Mapped[str] = mapped_column(String(64))
    band_index: Mapped[int] = mapped_column(Integer)
    #: hash of the band index and its rows (signed 64-bit), see fingerprint.band_hashes
    band_hash: Mapped[int] = mapped_column(BigInteger)


class ImageFileRow(Base):
    """One image file, kept once per content (the SHA-256 of its bytes), with what its bytes were found to be."""

    __tablename__ = "image_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: sniffed from the bytes (worker/http/images.py), never the partner's Content-Type
    content_type: Mapped[str] = mapped_column(String(50))
    #: as the header declares them (checked against the pixel cap before anything decodes the file)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_size: Mapped[int] = mapped_column(Integer)
    #: deferred: listing a version's images must not load every file
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime]


class ArticleImageRow(Base):
    """What became of one image of one article version: its file, or why it is missing (code and reason)."""

    __tablename__ = "article_images"
    __table_args__ = (
        # one outcome per version and image: the first writer wins, a re-run of the ingest finds it
        UniqueConstraint("article_id", "version", "url"),
        ForeignKeyConstraint(
            ["article_id", "version"], ["article_versions.article_id", "article_versions.version"]
        ),
        ForeignKeyConstraint(["sha256"], ["image_files.sha256"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    #: the partner's URL, as the article names it
    url: Mapped[str] = mapped_column(Text)
    #: lead | body
    role: Mapped[str] = mapped_column(String(10))
    #: the image's place in the article: the lead image first, then the body's in order
    position: Mapped[int] = mapped_column(Integer)
    #: stored | missing
    state: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str | None] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
