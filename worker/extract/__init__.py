"""Partner article page → canonical Article. Pure: no network, no files, no clock except fetched_at.

The layers share one parsed tree: metadata (JSON-LD, OpenGraph, meta, visible page), the lead image,
the body (source selectors or generic extraction), then cleaning into the allowlisted body_html and
body_text. Configured selectors win over every generic rule.

May import: worker.schema, worker.config, worker.errors, worker.css, worker.http.urls and decode;
never Celery, flow, ops, web or cli (no I/O here at all).
"""
from __future__ import annotations

from datetime import datetime, timezone

from lxml import etree

from worker.config import Selectors, Source
from worker import css
from worker.errors import ExtractionError
from worker.extract.body import generic_body, selected_body
from worker.extract.clean import clean_body, clean_body_fragment, paragraphs, serialize
from worker.extract.credit import source_fields
from worker.extract.document import collapse, parse
from worker.extract.image import lead_image
from worker.extract.metadata import Metadata, extract_metadata
from worker.extract.postfilter import filter_blocks
from worker.extract.repeats import drop_repeats
from worker.extract.republished import Original, find_original
from worker.http.urls import is_http, join_http
from worker.schema import Article, make_article

__all__ = ["extract_article", "ExtractionError"]

_BASE = etree.XPath("//base[@href]/@href")
_H1 = etree.XPath("//h1")


def extract_article(
    html: str | bytes, url: str, source: Source | None = None, *, by_density: bool = False
) -> Article:
    """The canonical article of a partner page. Raises ExtractionError when the page holds none.

    `by_density` selects the project's own body extractor instead of trafilatura's block scoring
    (experimental: see extract/body.py); configured selectors win either way.
    """
    if not is_http(url):
        # the page's own address: links resolve against it and it is the article's URL when the page
        # declares none, so it must be what a fetch has (the schema refuses anything else)
        raise ExtractionError(f"the page URL must be an absolute http(s) URL, not {url[:200]!r}")
    root = parse(html)
    selectors = (source.selectors if source is not None else None) or Selectors()
    for selector in selectors.drop:  # "removed before anything is extracted" (see Selectors.drop)
        for element in css.select(root, selector):
            if element.getparent() is not None:
                element.drop_tree()
    base_href = _BASE(root)
    # a <base href> that is not a usable http(s) URL (javascript:, an unclosed IPv6 bracket) is ignored
    base = (join_http(url, base_href[0]) if base_href else None) or url

    meta = extract_metadata(root, base, selectors)
    if not meta.headline:
        raise ExtractionError("no headline found (no JSON-LD headline, og:title, <h1> or <title>)")
    image, figure = lead_image(root, base, meta.image, selectors)
    headline_key = meta.headline.casefold()
    leave_out = [h for h in _H1(root) if collapse(h.text_content()).casefold() == headline_key]
    if figure is not None:
        leave_out.append(figure)

    body = selected_body(root, selectors, leave_out) if selectors.body else None
    if body is None:
        body = generic_body(root, leave_out, by_density=by_density)
    if body is None:
        raise ExtractionError("no article found: no block of article text on the page (body)")
    wrapper = clean_body(body, base)
    filter_blocks(wrapper)
    original = find_original(wrapper, url, meta.canonical_url, meta.site_name)  # before the line is dropped
    drop_repeats(wrapper, meta, image, figure)
    body_html = serialize(wrapper)
    body_text = "\n\n".join(paragraphs(clean_body_fragment(body_html)))
    if not body_text:
        raise ExtractionError("no article found: the body is empty after removing boilerplate")

    canonical = (original.url if original is not None and original.url else None) or meta.canonical_url or url
    return make_article(
        url=canonical,
        headline=meta.headline,
        description=meta.description,
        authors=meta.author_details,
        published=meta.published,
        updated=meta.updated,
        section=meta.section,
        tags=meta.tags,
        language=meta.language or (source.language if source is not None else None),
        lead_image=image,
        body_html=body_html,
        body_text=body_text,
        fetched_at=datetime.now(timezone.utc),
        **source_fields(source, meta.site_name, canonical,
                        original.name if original is not None and original.name else None),
    )
