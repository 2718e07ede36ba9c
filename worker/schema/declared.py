"""What a structured source declares about one article, before the worker makes it canonical.

A WordPress REST post, a ninjs item and a full-content feed entry each say, in their own shape, what a
scraped page only lets us guess: the headline, the authors, the body. A discovery kind maps its shape
into a DeclaredArticle; extraction (worker/extract/declared.py) turns that into the canonical Article
with the same cleaning, sanitizing and attribution as a scraped page. Nothing here is trusted: body_html
is the partner's markup as sent (scripts and all), caption and description may hold HTML; they are
cleaned on the way into the Article, not here.

Kept small and JSON round-trippable on purpose: the poll stage stores it with the link it belongs to
(store/polling.py, known_links.item), so an ingest that runs later, or again after a crash, builds the
same article from it without fetching anything.
"""
from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

#: the largest width or height a declared image may state, in pixels; larger (or below 1) is no size at all
MAX_IMAGE_DIMENSION = 100_000


def image_dimension(number: int | None) -> int | None:
    """A stated width or height when it is one a DeclaredImage holds, else None (the image keeps no size):
    every kind reads sizes from untrusted documents, and a bad one must cost the size, not the image."""
    return number if number is not None and 1 <= number <= MAX_IMAGE_DIMENSION else None


class DeclaredImage(BaseModel):
    """The lead image as the partner describes it. caption/credit may be HTML (WordPress renders them)."""

    model_config = ConfigDict(extra="forbid")
    url: str
    caption: str | None = None
    credit: str | None = None
    alt: str | None = None
    width: int | None = Field(default=None, ge=1, le=MAX_IMAGE_DIMENSION)
    height: int | None = Field(default=None, ge=1, le=MAX_IMAGE_DIMENSION)


class DeclaredArticle(BaseModel):
    """One article as a structured source gives it. Only `url` and `body_html` are required: a headline
    missing from the item is looked for in the body (its first heading) before the article is refused."""

    model_config = ConfigDict(extra="forbid")
    #: the article's public (canonical) URL on the partner's site: its identity, as for a scraped page
    url: str
    headline: str | None = None
    #: the partner's markup, untrusted
    body_html: str
    #: a summary; may be HTML (a WordPress excerpt), reduced to text on the way in
    description: str | None = None
    authors: list[str] = Field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    lead_image: DeclaredImage | None = None
    #: the partner's own name for itself, when the item says (credited only when no source is configured)
    publisher: str | None = None
