"""Feeds, sitemaps and listing pages → candidate article links. Pure functions: no network, no store.

The poll stage hands each discover entry's kind (worker/discover/kind.py) a fetch (worker.http.client does
all partner HTTP); the built-in kinds call one parser each, then the stage calls `filter_candidates` with the
source, then its own known/changed check:

    candidates = parse_feed(page.body, page.url)                    # kind: feed
    sitemap = parse_sitemap(page.body, page.url)                    # kind: sitemap: .urls, .sitemaps
    listing = parse_listing(page.body, page.url, entry.link_selector, entry.next_selector)  # .links, .next_url
    wanted = filter_candidates(newer_than(candidates, last_poll_newest), source)

Everything partner-supplied is treated as hostile: entity declarations are refused (UnsafeXmlError),
gzip inflation is capped (DecompressedTooLargeError), and the number of entries read is capped
(MAX_FEED_ENTRIES, MAX_SITEMAP_URLS), so one bad document costs bounded time and memory.
The parsers live in worker/discover/; this module is the one the rest of the worker imports.
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from worker.config import Source
from worker.discover.candidates import (
    Candidate,
    DecompressedTooLargeError,
    DiscoveryParseError,
    UnsafeXmlError,
    fingerprint_of,
    newer_than,
)
from worker.discover.feeds import MAX_FEED_ENTRIES, parse_feed
from worker.discover.listing import ListingPage, parse_listing
from worker.discover.sitemaps import MAX_SITEMAP_URLS, SitemapPage, parse_sitemap
from worker.discover.xmlsafe import MAX_DECOMPRESSED_BYTES
from worker.http.urls import TRACKING_PARAMS, TRACKING_PREFIXES, normalize_link
from worker.config.patterns import compile_pattern

__all__ = [
    "MAX_DECOMPRESSED_BYTES", "MAX_FEED_ENTRIES", "MAX_SITEMAP_URLS", "TRACKING_PARAMS", "TRACKING_PREFIXES",
    "Candidate", "DecompressedTooLargeError", "DiscoveryParseError", "ListingPage", "SitemapPage",
    "UnsafeXmlError", "filter_candidates", "fingerprint_of", "is_wanted", "newer_than", "normalize_link",
    "parse_feed", "parse_listing", "parse_sitemap",
]


def is_wanted(url: str, source: Source) -> bool:
    """http(s), on one of the source's domains, matching an include pattern (when there are any) and no
    exclude pattern. Patterns are searched (not anchored), as config.Source documents them, by RE2: the
    links are the partner's to choose, and a backtracking engine would let one link cost hours."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not source.allows_host(parts.hostname):
        return False
    if source.include and not any(compile_pattern(p).search(url) for p in source.include):
        return False
    return not any(compile_pattern(p).search(url) for p in source.exclude)


def filter_candidates(candidates: Iterable[Candidate], source: Source) -> list[Candidate]:
    """The candidates the source wants (see is_wanted), each URL once, the first occurrence kept.

    URLs are compared after normalize_link, so `…/a?utm_source=x` and `…/a#top` are one article even
    when a caller built Candidates by hand.
    """
    kept: dict[str, Candidate] = {}
    for candidate in candidates:
        try:
            url = normalize_link(candidate.url)
        except ValueError:
            continue
        if url in kept or not is_wanted(url, source):
            continue
        kept[url] = candidate
    return list(kept.values())
