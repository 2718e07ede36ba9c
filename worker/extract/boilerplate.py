"""Structural boilerplate removal: share bars, related boxes, ads, newsletter sign-ups, author bios,
tag lines, comments, most-read lists, navigation.

It works from structure (class/id/role words, link density), not from phrases, so it carries over to
sites never seen. Every rule is guarded: an element holding most of the page's text is never removed,
because a page whose main wrapper happens to be called "post share-enabled" must still have a body.
"""
from __future__ import annotations

import functools
import re
from typing import Callable

from lxml import etree

from worker.extract.document import text_length


# tags that never carry article prose (not <form>: ASP.NET pages wrap the whole page in one)
NON_CONTENT_TAGS = (
    "script", "style", "noscript", "iframe", "button", "input", "select", "textarea", "svg",
    "object", "embed", "template", "canvas", "link", "meta", "dialog", "audio", "video",
)
# markup inside a line of text: never judged as furniture on its own (a "popup" link in a sentence is
# part of the sentence)
INLINE_TAGS = frozenset("""
a abbr acronym b bdi bdo big cite code data del dfn em font i img ins kbd label mark nobr q s samp small
span strike strong sub sup time tt u var wbr br
""".split())
# tags that frame a page rather than hold its article: furniture by name, judged by shape like the rest
# (an unclosed <nav> can swallow the whole page, article included)
FRAME_TAGS = frozenset({"nav", "aside", "footer"})
# one word of a class/id ("ad-slot" → "ad", "slot") that marks an element as furniture whatever it holds
_FURNITURE_WORDS = frozenset("""
share shares sharing sharebar sharetools social socials related recommended recommendations
newsletter newsletters subscribe subscription signup advert advertisement advertising ad ads adslot
adunit adwrapper dfp gpt outbrain taboola comments comment disqus tags tagcloud taglist bio biography
breadcrumb breadcrumbs trending popular mostread mostpopular cookie cookies consent gdpr byline dateline
navbar navigation author authors paywall
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
# furniture-shaped: less prose than this (characters in sentence-sized runs: two short paragraphs), or
# more linked than this share, or a run of like items
_SHORT_BOX = 400
_LINKED_BOX = 0.3
# an element holding this share of the text being cleaned is the article, whatever its name says
_MOST = 0.5
# a kept element holding this share of the text is part of the article: its furniture words are taken
# out, so no later pass (trafilatura's) drops it by name
_PART = 0.25


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
    text = text_length(element)
    if not text:
        return 0.0, 0
    linked = sum(text_length(a) for a in element.iter("a"))
    return linked / text, text


_HIDDEN = etree.XPath(
    "//*[@hidden or contains(translate(@style, ' ', ''), 'display:none')"
    " or contains(translate(@style, ' ', ''), 'visibility:hidden')]"
)


def strip_non_content(root: etree._Element) -> None:
    """Remove, in place, what never carries visible article prose: scripts, controls, media, and elements
    the page hides from readers (a hidden copy of the text for scripts, a modal, a tracking pixel)."""
    for element in list(root.iter("noscript")):
        # what a reader without scripts sees, and the fetcher runs none: a <noscript> holding the
        # article (a script-built page's fallback, or an unclosed tag that swallowed the page) is opened
        if element.getparent() is not None and prose_length(element) >= _PROSE_LENGTH:
            element.drop_tag()
    etree.strip_elements(root, *NON_CONTENT_TAGS, with_tail=False)
    for element in _HIDDEN(root):
        if element.getparent() is not None and element.tag not in ("body", "html"):
            element.drop_tree()


def remove_boilerplate(
    root: etree._Element, keep: etree._Element | None = None, link_boxes: bool = True,
    weight: Callable[[etree._Element], float] | None = None, stripped: bool = False,
) -> None:
    """Remove boilerplate from `root` in place. `keep` (the chosen body, say) and its ancestors stay.

    body and html are never judged: their classes describe the page ("has-sidebar", "tag-news").
    `weight` says how much of the article an element holds (density.py's prose weight, in which a
    comment thread counts little however long); without it, an element's share of the text counts.
    `stripped`: strip_non_content already ran on this tree (it is the costliest step to repeat).
    """
    protected = set(keep.iterancestors()) | {keep} if keep is not None else set()
    if not stripped:
        strip_non_content(root)
    total = max(text_length(root), 1)
    holds_most = _holds_most(root, total, weight)

    def holds_part(element: etree._Element) -> bool:
        return text_length(element) >= _PART * total
    doomed: list[etree._Element] = []
    # depth first by hand, so a doomed element's subtree is never visited (root.iter() would walk it
    # and need an ancestor check per element; an XPath preselection measured slower still)
    stack = list(reversed(root))
    while stack:
        element = stack.pop()
        if not isinstance(element.tag, str):
            continue
        if (element.tag not in ("body", "html") and element not in protected
                and _is_boilerplate(element, total, link_boxes, holds_most)):
            doomed.append(element)
            continue
        if element.tag in FRAME_TAGS or (boilerplate_kind(element) is not None and holds_part(element)):
            # judged by shape and kept: it holds the article (an unclosed <nav> that swallowed the page,
            # a post classed "enable-pin-share"), so it must not look like furniture to trafilatura or
            # to clean.py, which judge such names alone
            _clear_furniture_names(element)
        stack.extend(reversed(element))
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()


def _clear_furniture_names(element: etree._Element) -> None:
    """Take the furniture words out of a kept element's tag, class, id and role (the rest stays:
    "post enable-pin-share" keeps "post", which other extractors read as a sign of the article)."""
    if element.tag in FRAME_TAGS:
        element.tag = "div"
    classes = element.get("class")
    if classes:
        kept = [c for c in classes.split() if _kind_of_names(c) is None]
        if kept:
            element.set("class", " ".join(kept))
        else:
            del element.attrib["class"]
    if element.get("id") and _kind_of_names(element.get("id")) is not None:
        del element.attrib["id"]
    if (element.get("role") or "").lower() in _ROLES:
        del element.attrib["role"]


def _holds_most(
    root: etree._Element, total: int, weight: Callable[[etree._Element], float] | None
) -> Callable[[etree._Element, int], bool]:
    if weight is None:
        return lambda element, length: length >= _MOST * total and length >= _PROSE_LENGTH
    whole = max(weight(root), 1.0)
    return lambda element, length: weight(element) >= _MOST * whole and length >= _PROSE_LENGTH


def _is_boilerplate(
    element: etree._Element, total: int, link_boxes: bool, holds_most: Callable[[etree._Element, int], bool]
) -> bool:
    """Furniture by name (class, id, role or tag) *and* by shape, or a box of links.

    A name alone says little: WordPress writes "share" and category words on the post itself, and a
    template may call the story's wrapper "main with-navigation". So a named element goes only when it
    is furniture-shaped (short, link-dense, or a run of like items) and never when it holds most of
    the text being cleaned; inline elements are never judged, only blocks.
    """
    if (element.get("hidden") is not None or element.get("aria-hidden") == "true") and element.tag != "img":
        return prose_length(element) < _PROSE_LENGTH
    if element.tag in INLINE_TAGS:
        return False
    if link_boxes and _is_link_box(element):
        length = text_length(element)
        return length < 0.5 * total or length < _PROSE_LENGTH
    kind = boilerplate_kind(element)
    if kind is None and element.tag not in FRAME_TAGS:
        return False
    density, length = link_density(element)
    if holds_most(element, length):
        return False
    if kind == _LAYOUT:
        # layout words ("rail", "widget Blog", "modal-enabled") wrap articles too often to trust with
        # any shape: such a region goes only when it holds no run of real paragraphs
        return prose_length(element) < 2 * _PARAGRAPH_LENGTH
    return _furniture_shaped(element, density)


def furniture_shaped(element: etree._Element) -> bool:
    """Little prose (two short paragraphs at most), link-dense, or a run of like items."""
    return _furniture_shaped(element, link_density(element)[0])


def _furniture_shaped(element: etree._Element, density: float) -> bool:
    return prose_length(element) < _SHORT_BOX or density > _LINKED_BOX or _holds_a_run(element)


def _holds_a_run(element: etree._Element) -> bool:
    """Three or more children built alike (same tag, same first class word): a list of comments,
    cards or links. The first word only: templates alternate the rest ("comment even", "comment odd")."""
    seen: dict[tuple[str, str], int] = {}
    for child in element:
        if isinstance(child.tag, str):
            key = (child.tag, (child.get("class") or "").split(" ", 1)[0])
            seen[key] = seen.get(key, 0) + 1
            if seen[key] >= 3 and child.tag not in ("p", "br"):
                return True
    return False


def _is_link_box(element: etree._Element) -> bool:
    if element.tag not in _LINK_BOX_TAGS:
        return False
    density, length = link_density(element)
    return length > 0 and (density > 0.8 or (density > 0.5 and length < 400))


__all__ = ["furniture_shaped", "FRAME_TAGS", "INLINE_TAGS", "NON_CONTENT_TAGS", "strip_non_content", "boilerplate_kind", "link_density", "looks_like_boilerplate", "prose_length", "remove_boilerplate"]
