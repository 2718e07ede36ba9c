"""Inside the article region, keep the blocks that read as the article and drop the rest, by context.

The classification is jusText's (Pomikálek 2011): each block is first judged alone by its length and
link density (good prose, bad furniture, short, near-good), then short and near-good blocks take the
class of their neighbours, so a one-line paragraph between two paragraphs of the story stays and a
caption or "Share this" between two link lists goes. jusText itself parses the page again with its
own paragraph maker; here the same decision runs on the blocks density.py already measured, in the
tree we already have, so the kept blocks keep their markup for body_html.
"""
from __future__ import annotations

from lxml import etree

from worker.extract.density import Block
from worker.extract.document import drop_tree, is_inside

_GOOD, _NEAR_GOOD, _SHORT, _BAD = "good", "neargood", "short", "bad"
# characters: below LOW a block is short; at HIGH or more (and not link-heavy) it is good prose
_LENGTH_LOW = 70
_LENGTH_HIGH = 200
# share of a block's text in links above which it is furniture, whatever its length
_MAX_LINK_DENSITY = 0.5
# a sentence with more of its text in links than this is a promo ("Read more: <a>...</a>.")
_MAX_PROSE_LINK_DENSITY = 0.7
# a block shorter than LENGTH_HIGH with more links than this is a teaser or a promo, not prose
_SHORT_LINK_DENSITY = 0.2
# a heading stays when good prose follows it within this many characters
_HEADING_REACH = 200
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


def _initial(block: Block) -> str:
    """The block's class alone. A block that ends a sentence is prose even when short or linked
    (a news paragraph often links a third of its words); one that does not is a label, a heading,
    a date or a list of links unless it is long."""
    density = block.link_density
    if block.sentences:
        if density > _MAX_PROSE_LINK_DENSITY:
            return _BAD
        if block.chars >= _LENGTH_LOW:
            return _GOOD if density <= _MAX_LINK_DENSITY else _NEAR_GOOD
        return _NEAR_GOOD if density <= _MAX_LINK_DENSITY else _SHORT
    if density > _MAX_LINK_DENSITY:
        return _BAD
    if block.chars < _LENGTH_LOW:
        return _BAD if density > _SHORT_LINK_DENSITY else _SHORT
    if block.chars >= _LENGTH_HIGH:
        return _GOOD
    return _BAD if density > _SHORT_LINK_DENSITY else _NEAR_GOOD


def _nearest(classes: list[str], skip: frozenset[str]) -> tuple[list[str], list[str]]:
    """For each block, the class of the nearest block before and after it whose class is not in
    `skip` (bad beyond the ends). One pass each way: pages have thousands of short blocks."""
    before, after = [_BAD] * len(classes), [_BAD] * len(classes)
    last = _BAD
    for i, kind in enumerate(classes):
        before[i] = last
        if kind not in skip:
            last = kind
    last = _BAD
    for i in range(len(classes) - 1, -1, -1):
        after[i] = last
        if classes[i] not in skip:
            last = classes[i]
    return before, after


_SKIP_SHORT = frozenset({_SHORT})
_SKIP_SHORT_NEAR = frozenset({_SHORT, _NEAR_GOOD})


def classify(blocks: list[Block]) -> list[str]:
    """good or bad for each block, in order (jusText's context-sensitive revision)."""
    first = [_initial(b) for b in blocks]
    classes = list(first)
    headings = [b.element.tag in _HEADINGS for b in blocks]

    def good_follows(index: int) -> bool:
        distance = 0
        for later in range(index + 1, len(blocks)):
            if classes[later] == _GOOD:
                return True
            distance += blocks[later].chars
            if distance > _HEADING_REACH:
                return False
        return False

    for i, heading in enumerate(headings):
        if heading and classes[i] == _SHORT and good_follows(i):
            classes[i] = _NEAR_GOOD
    before, after = _nearest(classes, _SKIP_SHORT_NEAR)
    near_before, near_after = _nearest(classes, _SKIP_SHORT)
    revised: dict[int, str] = {}
    for i, kind in enumerate(classes):
        if kind != _SHORT:
            continue
        if before[i] == after[i]:
            revised[i] = before[i]
        elif (before[i] == _BAD and near_before[i] == _NEAR_GOOD) or (
                after[i] == _BAD and near_after[i] == _NEAR_GOOD):
            revised[i] = _GOOD
        else:
            revised[i] = _BAD
    for i, kind in revised.items():
        classes[i] = kind
    # near-good blocks become good unless both neighbours are bad; revised in order, so a block sees
    # its left neighbours' new classes and its right neighbours' old ones (as jusText does)
    _, after = _nearest(classes, _SKIP_SHORT_NEAR)
    last = _BAD
    for i, kind in enumerate(classes):
        if kind == _NEAR_GOOD:
            classes[i] = kind = _BAD if last == _BAD and after[i] == _BAD else _GOOD
        if kind not in _SKIP_SHORT_NEAR:
            last = kind
    for i, heading in enumerate(headings):
        if heading and classes[i] == _BAD and first[i] != _BAD and good_follows(i):
            classes[i] = _GOOD
    return classes


def drop_bad_blocks(region: etree._Element, blocks: list[Block]) -> None:
    """Remove, in place, the region's bad blocks that hold no other block (their tails stay).

    A bad block holding other blocks (a div with a stray label beside its paragraphs) stays: its
    children are judged on their own.
    """
    inside = [b for b in blocks if b.element is region or is_inside(b.element, region)]
    if not inside:
        return
    holders: set[etree._Element] = set()
    elements = {b.element for b in inside}
    for block in inside:
        for ancestor in block.element.iterancestors():
            if ancestor is region:
                break
            if ancestor in elements:
                holders.add(ancestor)
    for block, kind in zip(inside, classify(inside)):
        if kind == _BAD and block.element is not region and block.element not in holders:
            drop_tree(block.element)


__all__ = ["classify", "drop_bad_blocks"]
