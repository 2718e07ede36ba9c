"""Teaser cards: the "more stories" grids and lists that sit inside an article's region.

A card is a small box linking to another page: a linked title, often a picture, a line of summary, a
date. One card alone looks like a short paragraph, and its summary is even a sentence; what gives
cards away is that they come in runs of siblings built alike (same tag, same class) and each holds a
link. Article paragraphs repeat too, but they do not each hold a heading or a picture beside a link,
and they are not short boxes that mostly link away. The heading right before a run of cards is the
run's label ("Related", "Mehr zum Thema") and goes with it.
"""
from __future__ import annotations

from collections import defaultdict

from lxml import etree

from worker.extract.boilerplate import INLINE_TAGS
from worker.extract.document import drop_tree, text_length

_MIN_RUN = 3
_MOST = 0.5
# a card's text is a title and a summary at most
_MAX_CARD_TEXT = 400
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_ARTICLE_BLOCKS = frozenset({"p", "br", "blockquote"})
# a block inside an inline element (HTML5 lets <a> wrap a whole card)
_BLOCK_INSIDE = etree.XPath("boolean(.//*[self::div or self::p or self::h2 or self::h3 or self::h4 or self::li"
                            " or self::figure])")


def _link_length(element: etree._Element) -> int:
    return sum(text_length(a) for a in element.iter("a"))


def _is_card(element: etree._Element) -> bool:
    if element.tag in _ARTICLE_BLOCKS:
        return False
    if element.tag in INLINE_TAGS and not _BLOCK_INSIDE(element):
        return False  # a link or a span inside a line of text: never a card, whatever its siblings
    if element.tag != "a" and element.find(".//a") is None:
        return False
    length = text_length(element)
    if length > _MAX_CARD_TEXT:
        return False
    linked = length if element.tag == "a" else _link_length(element)
    has_title = element.find(".//img") is not None or next(element.iter(*_HEADINGS), None) is not None
    # a box that is mostly link, or a linked title with its picture or heading beside a summary (a
    # list article's items have headings and pictures too, but their titles do not link away)
    return linked >= 0.5 * length or (has_title and linked >= 0.3 * length)


def _runs(region: etree._Element) -> list[list[etree._Element]]:
    runs: list[list[etree._Element]] = []
    for parent in region.iter():
        if not isinstance(parent.tag, str) or len(parent) < _MIN_RUN:
            continue
        groups: dict[tuple[str, str], list[etree._Element]] = defaultdict(list)
        for child in parent:
            if isinstance(child.tag, str):
                groups[(child.tag, child.get("class") or "")].append(child)
        if (parent.text or "").strip() or any((c.tail or "").strip() for c in parent):
            continue  # the children sit in running text: links in a sentence, not a grid of cards
        for members in groups.values():
            if len(members) >= _MIN_RUN and all(_is_card(m) for m in members):
                runs.append(members)
    return runs


def drop_cards(region: etree._Element) -> None:
    """Remove, in place, runs of teaser cards inside the region, with the heading that labels each.

    A run holding half the region's text or more is the article itself (a list of deals, a gallery
    story) and stays.
    """
    total = max(text_length(region), 1)
    for members in _runs(region):
        if sum(text_length(m) for m in members) >= _MOST * total:
            continue
        first = members[0]
        label = first.getprevious()
        if label is None and first.getparent() is not None and first.getparent() is not region:
            label = first.getparent().getprevious()
        if label is not None and label.tag in _HEADINGS and text_length(label) < 80:
            drop_tree(label)
        for member in members:
            if member.getparent() is not None:
                drop_tree(member)


__all__ = ["drop_cards"]
