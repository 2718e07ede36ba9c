"""Last pass over the cleaned body: blocks that are furniture by what they are, not by where they sit.

By then class names are gone, so these rules look at a block's shape: an ad label alone on its line,
a copyright line, a "Label: linked headline" promo, a trailing run of link lists. Each is a kind of
block that is never article prose on any site, whoever extracted the body (selector, declaration or
block scoring).
"""
from __future__ import annotations

import re

from lxml import etree

from worker.extract.document import collapse, drop_tree

# the labels ad slots carry when the ad itself did not load (pages are fetched without scripts)
_AD_LABEL = re.compile(
    r"^(?:advertisement|advertisements|advertising|advert|ad|ads|sponsored(?: content)?|"
    r"(?:story|article) continues below(?: advertisement)?|continue reading below)$",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)|\ball rights reserved\b", re.IGNORECASE)
# a promo's lead-in: a few words and a colon ("Read more:", "RELATED:", "Watch:")
_LEAD_IN = re.compile(r"^\W*(?:\w+\W+){0,3}?\w+\s*:\s*$")
# blocks this short (in words) can be labels or promos; longer ones are prose whatever they start with
_SHORT = 25
_LIST_TAGS = ("ul", "ol")
_HEADING_TAGS = ("h2", "h3", "h4")


def _words(text: str) -> int:
    return len(text.split())


def _link_text(block: etree._Element) -> str:
    return collapse(" ".join(" ".join(a.itertext()) for a in block.iter("a")))


def is_ad_label(text: str) -> bool:
    """The whole block is an ad slot's label ("Advertisement", "Story continues below")."""
    return bool(_AD_LABEL.match(text.strip(" -–—|·:.")))


def is_copyright_line(text: str) -> bool:
    """A short "© 2024 Publisher" or "All rights reserved" line: the page's legal footer, not the story."""
    return _words(text) <= _SHORT and bool(_COPYRIGHT.search(text))


def is_promo(block: etree._Element, text: str) -> bool:
    """"Read more: <a>Another story</a>": a short lead-in with a colon, then (mostly) one link."""
    if block.tag != "p" or _words(text) > _SHORT:
        return False
    linked = _link_text(block)
    if not linked or len(linked) < 0.5 * len(text):
        return False
    return bool(_LEAD_IN.match(collapse(_text_before_first_link(block))))


def _text_before_first_link(block: etree._Element) -> str:
    first = block.find(".//a")
    parts: list[str] = []
    for event, node in etree.iterwalk(block, events=("start", "end")):
        if node is first:
            break
        if event == "start":
            parts.append(node.text or "")
        elif node is not block:
            parts.append(node.tail or "")
    return "".join(parts)


def _is_link_list(block: etree._Element, text: str) -> bool:
    if block.tag not in _LIST_TAGS or not text:
        return False
    return len(_link_text(block)) >= 0.8 * len(text)


def filter_blocks(wrapper: etree._Element) -> None:
    """Remove furniture blocks from the cleaned body in place (children of `wrapper` only)."""
    kept: list[tuple[etree._Element, str]] = []
    for block in list(wrapper):
        if block.tag == "figure":
            continue
        text = collapse(" ".join(block.itertext()))
        if not text:
            continue
        if is_ad_label(text) or is_copyright_line(text) or is_promo(block, text):
            drop_tree(block)
        else:
            kept.append((block, text))
    # lists of links at the very end are "more stories" boxes that lost their class names
    while kept and _is_link_list(*kept[-1]):
        drop_tree(kept.pop()[0])
    _drop_empty_sections(kept)


def _drop_empty_sections(kept: list[tuple[etree._Element, str]]) -> None:
    """A heading with no text under it before the next heading of its rank (or the end) heads nothing
    of the article: it is the label of a box whose content was left out ("Related", "More on this").
    A heading followed by a subheading heads that subsection and stays."""
    next_level = 0  # the level of the heading that comes next; 0: the end, or text came next
    text_follows = False
    for block, _ in reversed(kept):
        if block.tag in _HEADING_TAGS:
            level = int(block.tag[1])
            if not text_follows and (next_level == 0 or next_level <= level):
                drop_tree(block)
                continue
            next_level, text_follows = level, False
        else:
            text_follows = True
