"""A structured source's declared article → the canonical Article, cleaned as a scraped page's would be.

The body is the partner's own selection (a WordPress post's rendered content, a ninjs body, a feed
entry's content), so there is no body to find: it is kept whole and only cleaned: the same allowlist,
URL resolution and furniture rules a scraped body gets (share rows, "Related" boxes that plugins inject
into rendered content), the lead image's own figure and a repeated headline or byline taken out, and the
closing "From X" line read for the credit. Pure: no network, no clock but fetched_at.

May import what worker.extract may import (worker.schema, worker.config, worker.errors, worker.http.urls).
"""
from __future__ import annotations

from datetime import datetime, timezone

import lxml.html
from lxml import etree

from worker.config import Source
from worker.errors import ExtractionError
from worker.extract.boilerplate import remove_boilerplate
from worker.extract.clean import clean_body, clean_body_fragment, paragraphs, serialize
from worker.extract.credit import source_fields
from worker.extract.document import collapse, drop_tree
from worker.extract.metadata import Metadata
from worker.extract.postfilter import filter_blocks
from worker.extract.repeats import drop_repeats
from worker.extract.republished import find_original
from worker.http.urls import is_http, join_http
from worker.schema import Article, Author, Image, make_article, to_utc
from worker.schema.declared import DeclaredArticle, DeclaredImage

_HEADINGS = etree.XPath("//h1|//h2|//h3")
_IMAGES = etree.XPath("//img[@src]")


def html_to_text(value: str | None) -> str | None:
    """Text of a field that may hold markup (a rendered excerpt or caption); None when empty."""
    if not value or not value.strip():
        return None
    if "<" not in value and "&" not in value:
        return collapse(value) or None
    fragment = lxml.html.fragment_fromstring(value, create_parent="div")
    return collapse(fragment.text_content()) or None


def _drop_lead_figure(root: etree._Element, image_url: str | None, base: str) -> None:
    """Take the lead image out of the body when the body repeats it (WordPress themes and feeds often
    start the content with the featured image): outlets lay the lead image out themselves, and the
    reader would otherwise see it, and its caption, twice."""
    if not image_url:
        return
    for img in _IMAGES(root):
        if join_http(base, img.get("src", "")) != image_url:
            continue
        figure = next((a for a in img.iterancestors() if a.tag == "figure"), None)
        target = figure if figure is not None else img
        parent = target.getparent()
        drop_tree(target)
        # a paragraph or link left holding nothing but the image goes with it
        while parent is not None and parent is not root and not collapse(parent.text_content()) \
                and not parent.xpath(".//img"):
            grand = parent.getparent()
            drop_tree(parent)
            parent = grand


def _lead_image(declared: DeclaredImage | None, base: str) -> Image | None:
    if declared is None:
        return None
    url = join_http(base, declared.url)
    if url is None:
        return None  # a data: or javascript: URL costs the image, not the article
    return Image(url=url, caption=html_to_text(declared.caption), credit=html_to_text(declared.credit),
                 alt=html_to_text(declared.alt), width=declared.width, height=declared.height)


def _first_heading(root: etree._Element) -> str | None:
    for heading in _HEADINGS(root):
        text = collapse(heading.text_content())
        if text:
            return text
    return None


def article_from_declared(item: DeclaredArticle, source: Source | None = None) -> Article:
    """The canonical article of a declared item. Raises ExtractionError when it holds none (no URL,
    no body text, no headline even in the body)."""
    if not is_http(item.url):
        raise ExtractionError(f"the item's URL must be an absolute http(s) URL, not {item.url[:200]!r}")
    base = item.url
    root = lxml.html.fragment_fromstring(item.body_html or "", create_parent="div")
    image = _lead_image(item.lead_image, base)
    _drop_lead_figure(root, image.url if image else None, base)
    headline = html_to_text(item.headline) or _first_heading(root)
    if not headline:
        raise ExtractionError("no headline: the item has none and its body has no heading")
    names = [name for name in (html_to_text(a) for a in item.authors) if name]
    meta = Metadata(headline=headline, authors=names, published=to_utc(item.published), updated=to_utc(item.updated),
                    site_name=item.publisher)
    # the same pass a body chosen by a configured selector gets: plugins put share rows and
    # related-post boxes inside rendered content, named and shaped as on any page
    remove_boilerplate(root, link_boxes=True)
    wrapper = clean_body(root, base)
    filter_blocks(wrapper)
    original = find_original(wrapper, item.url, None, source.name if source is not None else item.publisher)
    drop_repeats(wrapper, meta, image, None)
    body_html = serialize(wrapper)
    body_text = "\n\n".join(paragraphs(clean_body_fragment(body_html)))
    if not body_text:
        raise ExtractionError("no article found: the item's body is empty after cleaning")
    credited = original.name if original is not None and original.name else None
    return make_article(
        url=item.url,
        headline=headline,
        description=html_to_text(item.description),
        authors=[Author(name=name) for name in names],
        published=meta.published,
        updated=meta.updated,
        section=html_to_text(item.section),
        tags=[t for t in (html_to_text(tag) for tag in item.tags) if t],
        language=item.language or (source.language if source is not None else None),
        lead_image=image,
        body_html=body_html,
        body_text=body_text,
        fetched_at=datetime.now(timezone.utc),
        **source_fields(source, item.publisher, item.url, credited),
    )
