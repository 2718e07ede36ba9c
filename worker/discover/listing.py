"""HTML section pages → article links picked by the source's CSS selector, and the next page's URL.

Parsing reuses the extractor's HTML layer (worker.extract.document.parse: charset detection, lenient
lxml parser) and the selector cache of worker.css, so a listing page is read exactly like an article.
ListingKind is the `kind: listing` discover entry, which follows the next-page link up to max_pages.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import lxml.html
from pydantic import Field, field_validator

from worker.config import Source
from worker.css import css_to_xpath, select
from worker.discover.candidates import Candidate
from worker.discover.kind import DiscoveryKind, DiscoveryOptions, Fetch, PollState
from worker.extract.document import parse, text_of
from worker.http.urls import is_http, join_http, normalize_link


@dataclass
class ListingPage:
    links: list[Candidate] = field(default_factory=list)
    #: the next page of the listing (normalized), None on the last page or when it points back here
    next_url: str | None = None


def _href(element: lxml.html.HtmlElement) -> tuple[str | None, lxml.html.HtmlElement]:
    """The link an element stands for: its own href, else its first descendant <a href>, so a
    selector may name the link itself (`h2 a`) or the box around it (`article.card`)."""
    if element.get("href"):
        return element.get("href"), element
    for anchor in element.iter("a"):
        if anchor.get("href"):
            return anchor.get("href"), anchor
    return None, element


def _document_base(root: lxml.html.HtmlElement, base_url: str) -> str:
    """The page's <base href> resolved against its URL; relative links are relative to it."""
    base = root.find(".//base[@href]")
    return (join_http(base_url, base.get("href")) if base is not None else None) or base_url


def parse_listing(html: bytes | str, base_url: str, link_selector: str,
                  next_selector: str | None = None) -> ListingPage:
    """Article links in document order, each URL once (a card often links its image and its headline;
    the first link with text gives the title). Links back to the page itself (`#top`, `""`) are skipped.

    Raises worker.errors.ExtractionError for an empty page or a selector that is not valid CSS.
    """
    root = parse(html)
    base = _document_base(root, base_url)
    try:
        page_url = normalize_link(base_url)
    except ValueError:
        page_url = base_url
    found: dict[str, Candidate] = {}
    for element in select(root, link_selector):
        href, anchor = _href(element)
        if not href:
            continue
        try:
            url = normalize_link(href, base)
        except ValueError:
            continue  # one broken href must not cost the other links
        if url == page_url or not is_http(url):
            continue  # `#top`, `javascript:…`, `mailto:…` are not articles
        title = text_of(anchor) or text_of(element) or anchor.get("title") or None
        if url not in found or (found[url].title is None and title):
            found[url] = Candidate(url=url, title=title)
    return ListingPage(links=list(found.values()), next_url=_next_url(root, base, page_url, next_selector))


def _next_url(root: lxml.html.HtmlElement, base: str, page_url: str, next_selector: str | None) -> str | None:
    if not next_selector:
        return None
    for element in select(root, next_selector):
        href, _ = _href(element)
        if not href:
            continue
        try:
            url = normalize_link(href, base)
        except ValueError:
            continue
        # a "next" link to this very page would make the poller loop until max_pages
        return url if url != page_url and is_http(url) else None
    return None


class ListingOptions(DiscoveryOptions):
    url: str
    link_selector: str
    next_selector: str | None = None
    max_pages: int = Field(default=1, ge=1, le=50)

    @field_validator("link_selector", "next_selector")
    @classmethod
    def _valid_css(cls, value: str | None) -> str | None:
        if value is not None:
            css_to_xpath(value)  # a typo in a selector is refused at load, not on every poll
        return value


class ListingKind(DiscoveryKind[ListingOptions]):
    """`kind: listing`: an HTML section page whose article links a CSS selector picks out, optionally
    paginated (next_selector, up to max_pages pages, only on the source's allowed domains)."""

    options_model = ListingOptions
    richness = 1

    def discover(self, fetch: Fetch, options: ListingOptions, source: Source, state: PollState) -> list[Candidate]:
        url: str | None = options.url
        found: list[Candidate] = []
        for _ in range(options.max_pages):
            if url is None or not source.allows_host(urlsplit(url).hostname or ""):
                break
            page = fetch(url, html=True)
            if page is None:
                break  # an unchanged first page: the pages after it are very likely unchanged too
            parsed = parse_listing(page.text, page.url, options.link_selector, options.next_selector)
            found.extend(parsed.links)
            url = parsed.next_url
        return found
