"""What discovery hands the poller: one Candidate per article link, whatever the source kind.

Feeds, sitemaps and listing pages know different things about an article (a feed has title, dates and
often the text; a sitemap only a date; a listing page only the link text), so every field but `url` is
optional. The poller decides from them whether to enqueue an ingest: unknown URL → ingest; known URL
whose fingerprint changed → the partner edited it, re-ingest; withdrawn → take it down downstream.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime

from dateutil.parser import isoparse

from worker.errors import PermanentError, TooLargeError
from worker.schema import to_utc
from worker.schema.declared import DeclaredArticle


class UnsafeXmlError(PermanentError):
    """The XML declares entities (billion laughs, XXE). Feeds and sitemaps never need them, so the
    document is refused rather than parsed with them ignored: an operator should see that it happened."""

    code = "unsafe_xml"


class DiscoveryParseError(PermanentError):
    """The bytes are not a feed / sitemap we can read (HTML error page, truncated gzip, broken XML)."""

    code = "discovery_parse_failed"


class DecompressedTooLargeError(TooLargeError):
    """A gzipped sitemap or feed inflates past the cap (a zip bomb, or a sitemap far beyond the 50 MB
    the sitemap protocol allows)."""

    code = "decompressed_too_large"


def parse_w3c_date(value: str | None) -> datetime | None:
    """A sitemap/Atom date (W3C datetime: `2024`, `2024-03`, `2024-03-01`, `…T09:30:00-05:00`) as aware
    UTC; also the RFC 822 form some sitemaps use by mistake. None when it is neither."""
    if not value or not value.strip():
        return None
    try:
        return to_utc(isoparse(value.strip()))
    except (ValueError, OverflowError):
        pass
    try:
        return to_utc(parsedate_to_datetime(value.strip()))
    except (ValueError, TypeError, IndexError):
        return None


@dataclass(frozen=True)
class Candidate:
    """An article link found by discovery. `url` is already normalized (worker.http.urls.normalize_link)."""

    url: str
    guid: str | None = None
    title: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    summary: str | None = None
    #: the entry's full text when the feed carries it (content:encoded, atom:content); a hint only,
    #: the article is still extracted from its page
    content_hint: str | None = None
    #: the partner says the article is gone or must not be used (pubstatus canceled/withheld, Atom tombstone)
    withdrawn: bool = False
    #: the whole article as a structured source declares it (a ninjs item, a full-content feed entry):
    #: stored with the link, and the ingest builds the article from it without fetching the page
    item: DeclaredArticle | None = None
    #: where the article's structured form can be fetched on its own (a WordPress post's REST URL): the
    #: ingest reads it there with the kind's `read_item` instead of scraping the page
    item_url: str | None = None
    #: short hash of what changes when the partner edits the entry; computed, never passed in
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        # frozen: the fingerprint is derived once here so it can never disagree with the fields
        object.__setattr__(self, "published", to_utc(self.published))
        object.__setattr__(self, "updated", to_utc(self.updated))
        object.__setattr__(self, "authors", tuple(self.authors))
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "fingerprint", fingerprint_of(self))

    @property
    def last_changed(self) -> datetime | None:
        """The newest date the source gives for the entry (updated, else published)."""
        return self.updated or self.published


def fingerprint_of(candidate: Candidate) -> str:
    """Hash of title, updated, summary, content and the withdrawn flag, whitespace-collapsed.

    A declared item counts whole (its body is the article). Left out on purpose: the URL (tracking parameters vary between fetches of the same feed), the guid,
    authors, categories and `published` (feeds re-order and re-label these without editing the article,
    and each spurious change would cost a re-fetch of the page).
    """
    def text(value: str | None) -> str:
        return " ".join((value or "").split())

    payload = [
        text(candidate.title),
        candidate.updated.isoformat() if candidate.updated else "",
        text(candidate.summary),
        text(candidate.content_hint),
        candidate.withdrawn,
    ]
    if candidate.item is not None:
        # any change to what the partner declares is an edit; appended only when present, so the
        # fingerprints of every other candidate stay what they were before items existed
        payload.append(candidate.item.model_dump_json())
    return hashlib.sha256(json.dumps(payload).encode("utf-8")).hexdigest()[:16]


def newer_than(candidates: Iterable[Candidate], since: datetime | None) -> list[Candidate]:
    """Candidates changed after `since` (their updated date, else published; strictly later).

    Undated candidates are kept: nothing says they are old, and the poller's known-URL check is the
    backstop. A naive `since` is taken as UTC. `since=None` (first poll) keeps everything.
    """
    items = list(candidates)
    threshold = to_utc(since)
    if threshold is None:
        return items
    return [c for c in items if c.last_changed is None or c.last_changed > threshold]
