"""The body the page itself declares: microdata itemprop="articleBody" and JSON-LD articleBody.

A declaration is the publisher's own statement of where the article is, so it rescues pages where
block scoring picks the wrong block (a paywall notice, a reprint box). It is not trusted blindly:
JSON-LD bodies are often teasers or stale copies, so one counts only when it is article-sized and
its text is really on the page; the vote between candidates is in body.py.
"""
from __future__ import annotations

import re
import lxml.html
from lxml import etree

from worker.extract.boilerplate import prose_length, remove_boilerplate
from worker.extract.jsonld import JsonLd

_MICRODATA_BODY = etree.XPath("//*[@itemprop='articleBody']")
_JSONLD_SCRIPTS = etree.XPath("//script[contains(translate(@type, 'JSON', 'json'), 'ld+json')]")
_TOKEN = re.compile(r"\w+")
# a declared body shorter than this (in characters of prose) is a teaser or a summary, not the article
MIN_DECLARED_PROSE = 500
# share of a JSON-LD body's word sequences that must be visible on the page for it to count as the page's text
ON_PAGE_SHARE = 0.8
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*\n\s*|\s*\n\s*")


def tokens(text: str) -> list[str]:
    """The text's words, casefolded: what texts are compared on (markup and punctuation aside)."""
    return _TOKEN.findall(text.casefold())


def shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    """Word n-grams of the text: order-aware, so two texts share many only when they share passages.

    A set, not a multiset: repeated passages are rare in articles, and sets are several times cheaper.
    """
    words = _TOKEN.findall(text.casefold())
    if len(words) < size:
        return {tuple(words)} if words else set()
    return set(zip(*(words[i:] for i in range(size))))


def covered(part: set, whole: set) -> float:
    """Share of `part`'s word sequences that also occur in `whole` (1.0 for an empty part)."""
    return len(part & whole) / len(part) if part else 1.0


def microdata_elements(root: etree._Element) -> list[etree._Element]:
    """The elements the page marks itemprop="articleBody", outermost only, in page order.

    Several marked elements not nested in each other are one body split around ads.
    """
    found = _MICRODATA_BODY(root)
    if len(found) < 2:
        return found
    marked = set(found)
    return [e for e in found if not any(a in marked for a in e.iterancestors())]


def microdata_body(elements: list[etree._Element]) -> etree._Element | None:
    """The marked elements as one body, boilerplate removed; None when what is left is not article-sized.

    The elements are moved out of their tree: the caller reads the page no more.
    """
    body = lxml.html.Element("div")
    for element in elements:
        element.tail = None
        body.append(element)
    remove_boilerplate(body, link_boxes=True)
    return body if prose_length(body) >= MIN_DECLARED_PROSE else None


_BREAKS = ("p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "td", "th", "dd", "dt")


def _html_text(fragment: etree._Element) -> str:
    """The text of HTML given as a string, a paragraph break after each block (text_content() alone
    would run "<p>Der</p><p>elektrische" together into one word)."""
    for element in fragment.iter(*_BREAKS):
        element.tail = "\n\n" + (element.tail or "")
    return fragment.text_content()


def jsonld_body_text(root: etree._Element) -> str | None:
    """The JSON-LD articleBody string, when the page declares one (cheap check before parsing the JSON)."""
    if not any("articleBody" in (s.text or "") for s in _JSONLD_SCRIPTS(root)):
        return None
    value = JsonLd(root).get("articleBody")
    if isinstance(value, list):
        value = "\n\n".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return None
    if "<" in value and ">" in value:  # some CMSs put the body's HTML in the string
        try:
            value = _html_text(lxml.html.fragment_fromstring(value, create_parent="div"))
        except (etree.ParserError, ValueError):
            return None
    return value.strip() or None


def jsonld_body(text: str, page_text: set) -> etree._Element | None:
    """The JSON-LD body as paragraphs, when it is the full text of this page; else None.

    "Full text of this page": article-sized, and its word sequences visible on the page (a body from
    an older version, or another article's, would not be).
    """
    if len(text) < MIN_DECLARED_PROSE or covered(shingles(text), page_text) < ON_PAGE_SHARE:
        return None
    body = lxml.html.Element("div")
    for paragraph in _PARAGRAPH_BREAK.split(text):
        if paragraph.strip():
            etree.SubElement(body, "p").text = paragraph.strip()
    return body
