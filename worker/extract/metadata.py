"""Article metadata: per-source selectors > JSON-LD > OpenGraph/meta tags > what the page shows.

Structured data is what the publisher declares for machines and is the most reliable; the visible page
(h1, byline element, <time datetime>) is the fallback for pages without it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from worker.config import Selectors
from worker import css
from worker.extract.authors import byline_authors, jsonld_authors, to_authors
from worker.extract.bylines import by_line, choose_authors, visible_byline
from worker.extract.document import collapse, text_of
from worker.extract.headline import choose_headline, strip_site_suffix
from worker.extract.jsonld import JsonLd, pixel_size
from worker.extract.pageindex import PageIndex
from worker.extract.pagedates import find_dates
from worker.extract.tags import find_tags
from worker.http.urls import join_http
from worker.schema import Author

# (the rel test folds only the letters of "canonical", as the XPath translate() this replaces did)
_CANONICAL_CASE = str.maketrans("CANONICAL", "canonical")
# role="main" and itemprop="articleBody" also mark the article; the sieve finds their elements
_SCOPE_MARK = ("main", "articlebody")
_META_AUTHORS = ("dc.creator", "dc:creator", "dcterms.creator", "author", "article:author", "byl")
# declared images that are the site's emblem, not the article's picture
_NOT_LEAD_IMAGE = re.compile(r"blavatar|gravatar|/avatar|logo|favicon|placeholder|default[-_]?(?:image|share|og)", re.I)


@dataclass
class Metadata:
    headline: str = ""
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    author_details: list[Author] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    image: dict[str, Any] | None = None
    byline_text: str = ""
    dateline_texts: list[str] = field(default_factory=list)


def meta_tags(root: etree._Element) -> dict[str, list[str]]:
    """All <meta> values by lowercased property/name/itemprop, in page order (one pass over the head)."""
    found: dict[str, list[str]] = {}
    for meta in root.iter("meta"):  # iter(tag) walks in C; a "//meta" XPath costs as much as the rest
        content = meta.get("content")
        if content is None:
            continue
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        content = collapse(content)
        if key and content:
            found.setdefault(key.strip().lower(), []).append(content)
    return found


def _canonical_href(root: etree._Element) -> str | None:
    """href of the first <link rel="canonical">."""
    for link in root.iter("link"):
        href = link.get("href")
        if href is not None and " canonical " in f" {(link.get('rel') or '').translate(_CANONICAL_CASE)} ":
            return href
    return None


def article_scope(root: etree._Element, index: PageIndex) -> etree._Element | None:
    """The first <article>, <main>, role="main" or itemprop="articleBody" element in page order."""
    first = next(root.iter("article", "main"), None)
    marked = next((e for e in index.marked(_SCOPE_MARK)
                   if e.get("role") == "main" or e.get("itemprop") == "articleBody"), None)
    if first is None or marked is None:
        return first if marked is None else marked
    return first if index.position(first) <= index.position(marked) else marked


def _absolute_http(href: str | None, base: str) -> str | None:
    return join_http(base, href)


def _first(*values: str | None) -> str | None:
    return next((collapse(v) for v in values if v and collapse(v)), None)


def _declared_image(ld: JsonLd, one) -> dict[str, Any] | None:  # noqa: ANN001
    """og:image (the picture the publisher chose to represent the article), else the JSON-LD image;
    site logos and avatars are not article pictures."""
    og_image = one("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src")
    ld_image = ld.image()
    candidates = []
    if og_image:
        candidates.append({"url": og_image, "width": pixel_size(one("og:image:width")),
                           "height": pixel_size(one("og:image:height")), "alt": one("og:image:alt", "twitter:image:alt")})
    if ld_image:
        candidates.append(ld_image)
    for candidate in candidates:
        if not _NOT_LEAD_IMAGE.search(candidate["url"]):
            if ld_image and candidate is not ld_image:
                for key in ("caption", "credit"):
                    candidate.setdefault(key, ld_image.get(key))
            return candidate
    return None


def extract_metadata(root: etree._Element, url: str, selectors: Selectors | None = None) -> Metadata:
    selectors = selectors or Selectors()
    index = PageIndex(root)  # one walk over the page for every field below
    ld = JsonLd(root)
    meta = meta_tags(root)
    one = lambda *keys: next((meta[k][0] for k in keys if k in meta), None)  # noqa: E731
    scope = article_scope(root, index)
    scope_root = scope if scope is not None else root

    site_name = _first(ld.publisher_name(), one("og:site_name", "application-name"))
    headline = choose_headline(
        root, scope_root, site_name, index=index,
        selected=text_of(css.select_one(root, selectors.headline)),
        declared=[ld.text("headline"), ld.text("name") if ld.article else None,
                  one("og:title"), one("twitter:title"), one("sailthru.title")],
    )

    byline = visible_byline(root, selectors.byline, index)
    # Dublin Core's creator is set on purpose; name=author is often the CMS account or the site
    meta_author = next(([a for a in meta[key] if "://" not in a] for key in _META_AUTHORS
                        if any("://" not in a for a in meta.get(key, []))), [])
    declared_authors = jsonld_authors(ld.get("author"))
    meta_named = [a for value in meta_author for a in byline_authors(value)]
    visible = byline_authors(byline)
    if not (byline or declared_authors or meta_named):
        byline = by_line(scope_root, index)  # the "By NAME" line of a page that names its writer nowhere else
    author_details = to_authors(choose_authors(
        visible if selectors.byline else [], declared_authors, meta_named, visible, site_name,
        by_line=byline_authors(byline),
    ), site_name)

    canonical_url = _absolute_http(_canonical_href(root), url) or _absolute_http(
        one("og:url"), url
    )
    html_lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    language = _first(html_lang, ld.text("inLanguage"), one("content-language", "og:locale"))
    published, updated, datelines = find_dates(root, scope_root, url, ld, meta, selectors.date, language, index)
    return Metadata(
        headline=headline,
        description=_first(ld.text("description"), one("og:description", "description", "twitter:description")),
        authors=[a.name for a in author_details],
        author_details=author_details,
        published=published,
        updated=updated,
        section=_first(
            text_of(css.select_one(root, selectors.section)), ld.text("articleSection"), one("article:section")
        ),
        tags=find_tags(root, scope, ld.get("keywords"), meta, index),
        language=language.replace("_", "-") if language else None,
        canonical_url=canonical_url,
        site_name=site_name,
        image=_declared_image(ld, one),
        byline_text=byline,
        dateline_texts=datelines,
    )


__all__ = ["Metadata", "extract_metadata", "meta_tags", "strip_site_suffix"]
