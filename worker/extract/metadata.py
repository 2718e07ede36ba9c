"""Article metadata: per-source selectors > JSON-LD > OpenGraph/meta tags > what the page shows.

Structured data is what the publisher declares for machines and is the most reliable; the visible page
(h1, byline element, <time datetime>) is the fallback for pages without it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree

from worker.config import Selectors
from worker import css
from worker.extract.authors import names_from_jsonld, split_byline
from worker.extract.dates import first_date
from worker.extract.document import class_tokens, collapse, text_of
from worker.extract.jsonld import JsonLd, pixel_size

_META = etree.XPath("//meta[@content]")
_CANONICAL = etree.XPath("//link[@href][contains(concat(' ', translate(@rel, 'CANONICAL', 'canonical'), ' '), ' canonical ')]")
_SCOPE = etree.XPath("(//article | //main | //*[@role='main'] | //*[@itemprop='articleBody'])[1]")
_BYLINE_CANDIDATES = etree.XPath(
    "//*[@rel='author' or contains(@itemprop, 'author') or contains(@class, 'byline') or contains(@class, 'author')]"
)
_TIMES = etree.XPath("//time")
_UPDATED_TEXT = etree.XPath("//*[contains(@class, 'updated') or contains(@class, 'modified')]")
# " | The Epoch Times", " - Site", " — Site": the page title's site suffix
_TITLE_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ", " · ", " » ")
# class words that mark an element about an author (bio boxes, avatars) rather than the byline itself
_NOT_BYLINE = re.compile(r"bio|thumb|avatar|image|photo|img|about|box|social|more|follow")


@dataclass
class Metadata:
    headline: str = ""
    description: str | None = None
    authors: list[str] = field(default_factory=list)
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
    for meta in _META(root):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop")
        content = collapse(meta.get("content"))
        if key and content:
            found.setdefault(key.strip().lower(), []).append(content)
    return found


def strip_site_suffix(title: str, site_name: str | None) -> str:
    """The headline without " | Site" style suffixes (or prefixes) that page titles carry."""
    title = collapse(title)
    if site_name:
        site = site_name.casefold()
        for sep in _TITLE_SEPARATORS:
            head, _, tail = title.rpartition(sep)
            if head and tail.casefold() == site:
                return head.strip()
            first, _, rest = title.partition(sep)
            if rest and first.casefold() == site:
                return rest.strip()
    # " | " is almost never part of a real headline; hyphens and dashes are, so they need the site name
    head, _, tail = title.rpartition(" | ")
    if head and len(head) >= len(tail):
        return head.strip()
    return title


def _absolute_http(href: str | None, base: str) -> str | None:
    if not href or not href.strip():
        return None
    absolute = urljoin(base, href.strip())
    return absolute if urlsplit(absolute).scheme in ("http", "https") else None


def _first(*values: str | None) -> str | None:
    return next((collapse(v) for v in values if v and collapse(v)), None)


def _tags(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    tags: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str):
            tags.extend(t.strip() for t in item.split(","))
    seen: set[str] = set()
    return [t for t in tags if t and not (t.casefold() in seen or seen.add(t.casefold()))]


def _visible_byline(root: etree._Element, selector: str | None) -> str:
    chosen = css.select_one(root, selector)
    if chosen is not None:
        return text_of(chosen)
    for element in _BYLINE_CANDIDATES(root):
        if element.tag in ("meta", "link", "img", "script"):
            continue
        if _NOT_BYLINE.search(class_tokens(element)):
            continue
        text = text_of(element)
        if 2 <= len(text) <= 200:
            return text
    return ""


def _visible_dates(root: etree._Element, selector: str | None) -> tuple[list[str], list[str], list[str]]:
    """(published candidates, updated candidates, dateline texts seen on the page)."""
    published: list[str] = []
    updated: list[str] = []
    texts: list[str] = []
    chosen = css.select_one(root, selector)
    if chosen is not None:
        published += [chosen.get("datetime") or chosen.get("content") or "", text_of(chosen)]
        texts.append(text_of(chosen))
    for time in _TIMES(root):
        value = time.get("datetime") or ""
        is_update = re.search(r"updat|modif", class_tokens(time) + " " + (time.get("itemprop") or "").lower())
        (updated if is_update else published).append(value)
        texts.append(text_of(time))
    for element in _UPDATED_TEXT(root):
        text = text_of(element)
        if len(text) <= 80:
            updated.append(element.get("datetime") or text)
            texts.append(text)
    return published, updated, [t for t in texts if t]


def extract_metadata(root: etree._Element, url: str, selectors: Selectors | None = None) -> Metadata:
    selectors = selectors or Selectors()
    ld = JsonLd(root)
    meta = meta_tags(root)
    one = lambda *keys: next((meta[k][0] for k in keys if k in meta), None)  # noqa: E731
    scope = _SCOPE(root)
    scope_root = scope[0] if scope else root

    site_name = _first(ld.publisher_name(), one("og:site_name", "application-name"))
    h1 = scope_root.find(".//h1") if scope_root is not root else None
    if h1 is None:
        h1 = root.find(".//h1")
    title_el = root.find(".//title")
    headline = _first(
        text_of(css.select_one(root, selectors.headline)),
        ld.text("headline"), ld.text("name") if ld.article else None,
        one("og:title", "twitter:title"), text_of(h1), text_of(title_el),
    )

    byline = _visible_byline(root, selectors.byline)
    selected_byline = split_byline(byline) if selectors.byline else []
    meta_author = [a for a in meta.get("author", []) + meta.get("article:author", []) if "://" not in a]
    authors = (
        selected_byline
        or names_from_jsonld(ld.get("author"))
        or [n for a in meta_author for n in split_byline(a)]
        or split_byline(byline)
    )

    visible_published, visible_updated, datelines = _visible_dates(root, selectors.date)
    selected_date = visible_published[:2] if selectors.date else []
    published = first_date(
        *selected_date, ld.text("datePublished"), ld.text("dateCreated"),
        one("article:published_time", "og:published_time", "datepublished", "pubdate", "date", "dc.date"),
        *visible_published,
    )
    updated = first_date(
        ld.text("dateModified"), one("article:modified_time", "og:updated_time", "datemodified", "last-modified"),
        *visible_updated,
    )

    canonical = _CANONICAL(root)
    canonical_url = _absolute_http(canonical[0].get("href") if canonical else None, url) or _absolute_http(
        one("og:url"), url
    )
    html_lang = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    language = _first(html_lang, ld.text("inLanguage"), one("content-language", "og:locale"))

    og_image = one("og:image", "og:image:url", "og:image:secure_url", "twitter:image")
    declared_image = ld.image() or ({"url": og_image, "width": pixel_size(one("og:image:width")),
                                     "height": pixel_size(one("og:image:height"))} if og_image else None)
    return Metadata(
        headline=strip_site_suffix(headline, site_name) if headline else "",
        description=_first(ld.text("description"), one("og:description", "description", "twitter:description")),
        authors=authors,
        published=published,
        updated=updated,
        section=_first(
            text_of(css.select_one(root, selectors.section)), ld.text("articleSection"), one("article:section")
        ),
        tags=_tags(ld.get("keywords")) or _tags(meta.get("article:tag", [])) or _tags(one("news_keywords", "keywords")),
        language=language.replace("_", "-") if language else None,
        canonical_url=canonical_url,
        site_name=site_name,
        image=declared_image,
        byline_text=byline,
        dateline_texts=datelines,
    )


__all__ = ["Metadata", "extract_metadata", "meta_tags", "strip_site_suffix"]
