"""Structural boilerplate removal: share bars, related boxes, ads, newsletter sign-ups, author bios,
tag lines, comments, most-read lists, navigation.

It works from structure (class/id/role words, link density), not from phrases, so it carries over to
sites never seen. Every rule is guarded: an element holding most of the page's text is never removed,
because a page whose main wrapper happens to be called "post share-enabled" must still have a body.
"""
from __future__ import annotations

import functools
import re

from lxml import etree


# tags that never carry article prose (not <form>: ASP.NET pages wrap the whole page in one)
NON_CONTENT_TAGS = (
    "script", "style", "noscript", "iframe", "button", "input", "select", "textarea", "svg",
    "object", "embed", "template", "canvas", "link", "meta", "nav", "dialog", "audio", "video",
)
# one word of a class/id ("ad-slot" → "ad", "slot") that marks an element as furniture whatever it holds
_FURNITURE_WORDS = frozenset("""
share shares sharing sharebar sharetools social socials related recommended recommendations
newsletter newsletters subscribe subscription signup advert advertisement advertising ad ads adslot
adunit adwrapper dfp gpt outbrain taboola comments comment disqus tags tagcloud taglist bio biography
breadcrumb breadcrumbs trending popular mostread mostpopular cookie cookies consent gdpr byline dateline
navbar navigation
""".split())
# words for layout regions that are usually furniture but sometimes wrap the article ("modal-enabled",
# "widget Blog", "rail"): such an element goes only when it holds no run of real paragraphs
_LAYOUT_WORDS = frozenset("""
sidebar rail widget modal popup overlay footer masthead toolbar pagination pager menu promo promoted
sponsored sponsor login
""".split())
_COMPOUNDS = ("most-read", "most-popular", "more-stories", "also-read", "author-info", "about-author", "sign-up",
              "tag-list", "post-tags", "entry-tags", "article-tags")
_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "dialog", "alertdialog",
                    "menu", "menubar", "toolbar"})
_WORD_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])")
# an element is only spared for holding most of the page's text when that text is article-sized
_PROSE_LENGTH = 500
# a paragraph this long is prose, not a label or a teaser
_PARAGRAPH_LENGTH = 80
# containers judged by link density: lists and boxes of links are navigation, not prose
_LINK_BOX_TAGS = frozenset({"ul", "ol", "div", "section", "aside", "table", "dl"})
_FURNITURE, _LAYOUT = "furniture", "layout"


def boilerplate_kind(element: etree._Element) -> str | None:
    """"furniture" or "layout" when the element's class, id or role names it so, else None."""
    role = (element.get("role") or "").lower()
    if role in _ROLES:
        return _FURNITURE
    names = " ".join(filter(None, (element.get("class"), element.get("id"))))
    if not names:
        return _LAYOUT if element.tag == "form" else None
    kind = _kind_of_names(names)
    return _LAYOUT if kind is None and element.tag == "form" else kind


@functools.lru_cache(maxsize=4096)
def _kind_of_names(names: str) -> str | None:
    # cached: a page repeats the same few class strings on thousands of elements
    lowered = names.lower()
    if any(c in lowered for c in _COMPOUNDS):
        return _FURNITURE
    words = {w.lower() for w in _WORD_SPLIT.split(names) if w}
    if not words.isdisjoint(_FURNITURE_WORDS):
        return _FURNITURE
    if not words.isdisjoint(_LAYOUT_WORDS):
        return _LAYOUT
    return None


def looks_like_boilerplate(element: etree._Element) -> bool:
    """True when the element's class, id or role names it as page furniture or a layout region."""
    return boilerplate_kind(element) is not None


_TEXT_NODES = etree.XPath(".//text()")


def prose_length(element: etree._Element) -> int:
    """Characters of sentence-sized text runs inside the element: what separates an article from a box.

    Text nodes rather than <p> elements, because some platforms (Blogger) write posts as text and <br>.
    """
    total = 0
    for text in _TEXT_NODES(element):
        length = len(text.strip())
        if length >= _PARAGRAPH_LENGTH:
            total += length
    return total


def link_density(element: etree._Element) -> tuple[float, int]:
    """(share of the text that is link text, text length)."""
    text = len(" ".join(element.text_content().split()))
    if not text:
        return 0.0, 0
    linked = sum(len(" ".join(a.text_content().split())) for a in element.iter("a"))
    return linked / text, text


def remove_boilerplate(root: etree._Element, keep: etree._Element | None = None, link_boxes: bool = True) -> None:
    """Remove boilerplate from `root` in place. `keep` (the chosen body, say) and its ancestors stay.

    body and html are never judged: their classes describe the page ("has-sidebar", "tag-news").
    """
    protected = set(keep.iterancestors()) | {keep} if keep is not None else set()
    etree.strip_elements(root, *NON_CONTENT_TAGS, with_tail=False)
    total = max(len(" ".join(root.text_content().split())), 1)
    doomed: list[etree._Element] = []
    # depth first by hand, so a doomed element's subtree is never visited (root.iter() would walk it
    # and need an ancestor check per element; an XPath preselection measured slower still)
    stack = list(reversed(root))
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str):
            continue
        if (element.tag not in ("body", "html") and element not in protected
                and _is_boilerplate(element, total, link_boxes)):
            doomed.append(element)
            continue
        stack.extend(reversed(element))
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


def _is_boilerplate(element: etree._Element, total: int, link_boxes: bool) -> bool:
    if (element.get("hidden") is not None or element.get("aria-hidden") == "true") and element.tag != "img":
        return prose_length(element) < _PROSE_LENGTH
    kind = boilerplate_kind(element)
    if kind == _LAYOUT:
        return prose_length(element) < 2 * _PARAGRAPH_LENGTH
    if kind == _FURNITURE or (link_boxes and _is_link_box(element)):
        length = len(" ".join(element.text_content().split()))
        return length < 0.5 * total or length < _PROSE_LENGTH
    return False


def _is_link_box(element: etree._Element) -> bool:
    if element.tag not in _LINK_BOX_TAGS:
        return False
    density, length = link_density(element)
    return length > 0 and (density > 0.8 or (density > 0.5 and length < 400))


__all__ = ["NON_CONTENT_TAGS", "boilerplate_kind", "link_density", "looks_like_boilerplate", "prose_length", "remove_boilerplate"]
