"""parse_sitemap: sitemap index, urlset with lastmod, Google News fields, gzip (and its caps), text
sitemaps; newer_than."""
from __future__ import annotations

import gzip
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from worker.discover import (
    Candidate,
    DecompressedTooLargeError,
    DiscoveryParseError,
    newer_than,
    parse_sitemap,
)
from worker.discover.xmlsafe import gunzip_capped

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
SITEMAP_URL = "https://news.example.com/sitemap.xml"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def sitemap(name: str):
    return parse_sitemap((FIXTURES / name).read_bytes(), SITEMAP_URL)


def test_sitemap_index_lists_child_sitemaps() -> None:
    page = sitemap("sitemap_index.xml")
    assert page.urls == []
    assert page.sitemaps == [
        "https://news.example.com/sitemaps/articles-2024-03.xml.gz",
        "https://news.example.com/sitemaps/news.xml",  # relative loc resolved against the index URL
    ]
    assert page.sitemap_lastmods == {"https://news.example.com/sitemaps/articles-2024-03.xml.gz": utc(2024, 3, 10, 11)}


def test_urlset_with_lastmod() -> None:
    page = sitemap("urlset.xml")
    assert page.sitemaps == []
    assert [c.url for c in page.urls] == [
        "https://news.example.com/world/floods-close-port",  # the image:loc inside is not an article
        "https://news.example.com/world/date-only",  # utm_campaign stripped
        "https://news.example.com/world/no-lastmod",
    ]
    assert [c.updated for c in page.urls] == [utc(2024, 3, 4, 14, 30), utc(2024, 3, 1), None]
    assert all(c.published is None and c.title is None for c in page.urls)


def test_google_news_sitemap_fields() -> None:
    (entry,) = sitemap("news_sitemap.xml").urls
    assert entry.url == "https://news.example.com/politics/vote-count"
    assert entry.title == "Vote count goes into the night"
    assert entry.published == utc(2024, 3, 10, 22, 45)  # 07:45 +09:00
    assert entry.categories == ("elections", "parliament")


def test_gzipped_sitemap_is_detected_by_magic_bytes() -> None:
    plain = sitemap("urlset.xml")
    zipped = sitemap("urlset.xml.gz")
    assert (FIXTURES / "urlset.xml.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert zipped.urls == plain.urls and len(zipped.urls) == 3


def test_gzip_bomb_is_refused_with_bounded_output() -> None:
    bomb = gzip.compress(b"\0" * (2 * 1024 * 1024))  # ~2 KB that inflates to 2 MB
    with pytest.raises(DecompressedTooLargeError):
        gunzip_capped(bomb, limit=1024 * 1024)
    assert len(gunzip_capped(bomb, limit=4 * 1024 * 1024)) == 2 * 1024 * 1024


def test_default_decompression_cap_applies_to_sitemaps() -> None:
    bomb = gzip.compress(b"<" + b" " * (51 * 1024 * 1024))
    with pytest.raises(DecompressedTooLargeError):
        parse_sitemap(bomb, SITEMAP_URL)


def test_truncated_or_corrupt_gzip_is_a_parse_error() -> None:
    data = (FIXTURES / "urlset.xml.gz").read_bytes()
    with pytest.raises(DiscoveryParseError):
        parse_sitemap(data[:-20], SITEMAP_URL)
    with pytest.raises(DiscoveryParseError):
        parse_sitemap(b"\x1f\x8b" + b"not deflate data at all", SITEMAP_URL)


def test_text_sitemap() -> None:
    page = parse_sitemap(b"https://news.example.com/a\n\nhttps://news.example.com/b?utm_source=x\n", SITEMAP_URL)
    assert [c.url for c in page.urls] == ["https://news.example.com/a", "https://news.example.com/b"]


def test_rss_given_as_sitemap_is_read_as_a_feed() -> None:
    page = parse_sitemap((FIXTURES / "rss1_rdf.xml").read_bytes(), SITEMAP_URL)
    assert [c.title for c in page.urls] == ["First RDF item", "Second RDF item"]


@pytest.mark.parametrize("data", [b"<html><body>Not found</body></html>",
                                  b'<?xml version="1.0"?><urlset><url><loc>https://a.example/x</loc>'])
def test_not_a_sitemap_is_a_named_error(data: bytes) -> None:
    with pytest.raises(DiscoveryParseError):
        parse_sitemap(data, SITEMAP_URL)


def test_sitemap_url_cap() -> None:
    urls = "".join(f"<url><loc>https://news.example.com/a/{i}</loc></url>" for i in range(30))
    data = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    page = parse_sitemap(data, SITEMAP_URL, max_urls=10)
    assert [c.url for c in page.urls] == [f"https://news.example.com/a/{i}" for i in range(10)]


# --- newer_than -------------------------------------------------------------------------------------

def test_newer_than_keeps_changed_after_since_and_undated() -> None:
    since = utc(2024, 3, 2)
    kept = newer_than(sitemap("urlset.xml").urls, since)
    # floods (Mar 4) is newer; date-only (Mar 1) is older; no-lastmod is kept because nothing says it is old
    assert [c.url.rsplit("/", 1)[-1] for c in kept] == ["floods-close-port", "no-lastmod"]


def test_newer_than_uses_updated_before_published_and_is_strict() -> None:
    since = utc(2024, 3, 1, 12)
    edited = Candidate(url="https://a.example/edited", published=since - timedelta(days=5),
                       updated=since + timedelta(hours=1))
    old = Candidate(url="https://a.example/old", published=since - timedelta(days=5))
    exactly = Candidate(url="https://a.example/exactly", published=since)
    assert newer_than([edited, old, exactly], since) == [edited]


def test_newer_than_none_keeps_all_and_naive_since_is_utc() -> None:
    items = sitemap("urlset.xml").urls
    assert newer_than(items, None) == items
    naive = datetime(2024, 3, 4, 14, 29)  # one minute before the floods lastmod, read as UTC
    assert [c.url.rsplit("/", 1)[-1] for c in newer_than(items, naive)] == ["floods-close-port", "no-lastmod"]
    assert newer_than(items, datetime(2024, 3, 4, 14, 30)) == [items[2]]


def test_unknown_encoding_is_a_parse_error() -> None:
    data = b'<?xml version="1.0" encoding="x-no-such-encoding"?><urlset><url><loc>https://a.example/x</loc></url></urlset>'
    with pytest.raises(DiscoveryParseError):
        parse_sitemap(data, SITEMAP_URL)
