"""Sitemaps (urlset), sitemap indexes and Google News sitemaps → Candidates / child sitemap URLs.

Parsed with defusedxml (expat with entity declarations and external references forbidden) in
iterparse mode, each <url> cleared once read, so a 50,000-URL sitemap costs little memory. gzip is
recognised by its magic bytes, whatever the URL or Content-Type claims. SitemapKind is the
`kind: sitemap` discover entry, which walks an index down to its sitemaps.
"""
from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

import defusedxml
import defusedxml.ElementTree as SafeET

from worker.config import Source
from worker.discover.candidates import Candidate, DiscoveryParseError, UnsafeXmlError, newer_than, parse_w3c_date
from worker.discover.feeds import parse_feed
from worker.discover.kind import DiscoveryKind, DiscoveryOptions, Fetch, PollState
from worker.discover.xmlsafe import gunzip_capped
from worker.http.urls import is_http, normalize_link

#: URLs (or child sitemaps) read per document at most: the protocol's own per-file limit.
MAX_SITEMAP_URLS = 50_000
#: a sitemap index may nest; this bounds how many of its documents one poll reads
MAX_SITEMAP_FILES = 50
_FEED_ROOTS = frozenset({"rss", "feed", "RDF"})


@dataclass
class SitemapPage:
    """One sitemap document: article candidates (urlset) and/or child sitemaps (sitemap index)."""

    urls: list[Candidate] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    #: lastmod of each child sitemap that gives one, so the poller can skip children unchanged since its last poll
    sitemap_lastmods: dict[str, datetime] = field(default_factory=dict)


def _local(tag: object) -> str:
    """Local name of a tag: sitemaps appear with the 0.9 namespace, Google's old 0.84 one, or none."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


def parse_sitemap(data: bytes, base_url: str, max_urls: int = MAX_SITEMAP_URLS) -> SitemapPage:
    """The URLs and child sitemaps of one sitemap document (XML, gzipped XML, or the protocol's plain
    text form: one URL a line). An RSS/Atom document, which Google also accepts as a sitemap, is read
    as a feed.

    Raises UnsafeXmlError, DecompressedTooLargeError, DiscoveryParseError (not a sitemap, broken XML).
    """
    data = gunzip_capped(data)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"http://", b"https://")):
        return _parse_text(data, base_url, max_urls)
    page = SitemapPage()
    try:
        events = SafeET.iterparse(io.BytesIO(data), events=("start", "end"),
                                  forbid_dtd=False, forbid_entities=True, forbid_external=True)
        root_name: str | None = None
        for event, element in events:
            name = _local(element.tag)
            if root_name is None:
                root_name = name
                if name in _FEED_ROOTS:
                    return SitemapPage(urls=parse_feed(data, base_url))
                if name not in ("urlset", "sitemapindex"):
                    raise DiscoveryParseError(f"{base_url}: not a sitemap (root element <{name}>)")
            if event != "end" or name not in ("url", "sitemap"):
                continue
            if name == "url" and root_name == "urlset":
                _add_url(page, element, base_url)
            elif name == "sitemap" and root_name == "sitemapindex":
                _add_sitemap(page, element, base_url)
            element.clear()  # why iterparse: what has been read is dropped, memory stays flat
            if len(page.urls) + len(page.sitemaps) >= max_urls:
                break
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeXmlError(f"{base_url}: {exc}; entity declarations and external references are refused") from None
    except (ET.ParseError, LookupError, ValueError) as exc:  # after DefusedXmlException, itself a ValueError
        raise DiscoveryParseError(f"{base_url}: the sitemap is not well-formed XML ({exc})") from None
    return page


def _loc_url(element: ET.Element, base_url: str) -> str | None:
    """The entry's <loc>, normalized; None when it is missing or not a URL we can parse."""
    loc = _child_text(element, "loc")
    if not loc:
        return None
    try:
        return normalize_link(loc, base_url)
    except ValueError:
        return None


def _add_url(page: SitemapPage, element: ET.Element, base_url: str) -> None:
    url = _loc_url(element, base_url)
    if url is None or not is_http(url):
        return
    news = next((child for child in element if _local(child.tag) == "news"), None)
    title = published = None
    keywords: list[str] = []
    if news is not None:
        title = _child_text(news, "title")
        published = parse_w3c_date(_child_text(news, "publication_date"))
        keywords = [k.strip() for k in (_child_text(news, "keywords") or "").split(",") if k.strip()]
    page.urls.append(Candidate(
        url=url,
        title=title,
        published=published,
        updated=parse_w3c_date(_child_text(element, "lastmod")),
        categories=tuple(keywords),
    ))


def _add_sitemap(page: SitemapPage, element: ET.Element, base_url: str) -> None:
    url = _loc_url(element, base_url)
    if url is None:
        return
    page.sitemaps.append(url)
    lastmod = parse_w3c_date(_child_text(element, "lastmod"))
    if lastmod:
        page.sitemap_lastmods[url] = lastmod


def _parse_text(data: bytes, base_url: str, max_urls: int) -> SitemapPage:
    """The protocol's text sitemap: UTF-8, one absolute URL a line, nothing else."""
    page = SitemapPage()
    for line in data.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line.startswith(("http://", "https://")):
            continue
        try:
            page.urls.append(Candidate(url=normalize_link(line, base_url)))
        except ValueError:
            continue
        if len(page.urls) >= max_urls:
            break
    if not page.urls and data.strip():
        raise DiscoveryParseError(f"{base_url}: not a sitemap (neither XML nor a list of URLs)")
    return page


class SitemapOptions(DiscoveryOptions):
    url: str


class SitemapKind(DiscoveryKind[SitemapOptions]):
    """`kind: sitemap`: a sitemap, sitemap index or Google News sitemap (plain or gzipped).

    An index is walked breadth first, at most MAX_SITEMAP_FILES documents a poll, only on the source's
    allowed domains; a child sitemap whose lastmod is older than the last successful poll is skipped,
    and so are URLs not changed since then.
    """

    options_model = SitemapOptions
    richness = 2

    def discover(self, fetch: Fetch, options: SitemapOptions, source: Source, state: PollState) -> list[Candidate]:
        since = state.since
        pending, seen, found = [options.url], set(), []
        while pending and len(seen) < MAX_SITEMAP_FILES:
            url = pending.pop(0)
            if url in seen or not source.allows_host(urlsplit(url).hostname or ""):
                continue
            seen.add(url)
            page = fetch(url)
            if page is None:
                continue
            parsed = parse_sitemap(page.body, page.url)
            pending.extend(child for child in parsed.sitemaps
                           if since is None or (parsed.sitemap_lastmods.get(child) or since) >= since)
            found.extend(newer_than(parsed.urls, since))
        return found
