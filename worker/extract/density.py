"""The article region by text density: one pass over the page's text, no second parser.

Every text node is credited to its block (the nearest ancestor that is not inline markup) as plain or
linked characters. A block's weight says how much it looks like prose: long runs of unlinked text weigh
positive, links and short labels negative. Each element's score is the sum of the weights below it, and
the article region is the element with the highest score: it holds the most prose for the least
furniture, so it grows to take in an article split around an ad and stops short of the sidebar.

Class and id words (comments, sidebar, related) only discount a region here, they never delete text:
a word in a class says little when the element holds the article (WordPress puts "share" and category
names on the post itself). Removal is for block_filter.py, inside the chosen region, by shape.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from worker.extract.boilerplate import FRAME_TAGS, INLINE_TAGS, boilerplate_kind

_TEXT = etree.XPath("//body//text()")
# links beyond _PROSE_LINKS of a block weigh against it this many times their length: prose is what a
# reader reads, links are what a reader leaves by, so a list of links costs any region holding it
_LINK_COST = 3.0
_PROSE_LINKS = 0.4
# discount on the prose of blocks under an element whose class/id names furniture (comments, sidebars)
_FURNITURE_DISCOUNT = 0.3
# an element holding this share of the page's prose is not discounted, whatever its class says
_MOST_PROSE = 0.5
# climbing from the densest element to its parent: the parent must hold this much more positive weight
# and keep this share of the score
_CLIMB_GAIN = 1.2
_CLIMB_KEEP = 0.75


# the end of a sentence in most scripts: a stop, a question or exclamation mark, maybe a closing quote
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f\u0964\u061f\u2026][\"'\u201d\u2019\u00bb)]*\s*$")


@dataclass
class Block:
    element: etree._Element
    chars: int = 0
    linked: int = 0
    sentences: int = 0  # unlinked text runs that end a sentence: prose, not a label or a date

    @property
    def weight(self) -> float:
        # links inside prose (up to _PROSE_LINKS of a block) are neither for nor against it; beyond that
        # the block is a list of links and weighs against any region holding it
        excess = max(0.0, self.linked - _PROSE_LINKS * self.chars)
        return self.chars - self.linked - _LINK_COST * excess

    @property
    def link_density(self) -> float:
        return self.linked / self.chars if self.chars else 0.0


@dataclass
class Density:
    """Blocks in page order and each element's score (sum of block weights beneath it)."""
    blocks: list[Block] = field(default_factory=list)
    score: dict[etree._Element, float] = field(default_factory=dict)
    prose: dict[etree._Element, int] = field(default_factory=dict)
    gain: dict[etree._Element, float] = field(default_factory=dict)

    def best_region(self) -> etree._Element | None:
        if not self.score:
            return None
        region = max(self.score, key=self.score.__getitem__)
        if self.score[region] <= 0:
            return None
        # the densest element is sometimes one long paragraph, or the story without its second half
        # behind a share bar: climb while the parent holds clearly more prose at a modest cost
        while True:
            parent = region.getparent()
            if parent is None or parent not in self.score:
                return region
            if not (self.gain[parent] >= _CLIMB_GAIN * self.gain[region]
                    and self.score[parent] >= _CLIMB_KEEP * self.score[region]):
                return region
            region = parent


def measure(root: etree._Element) -> Density:
    """The blocks of the page and the score of every element that contains one."""
    blocks: dict[etree._Element, Block] = {}
    owners: dict[etree._Element, tuple[etree._Element, bool]] = {}
    in_link: dict[etree._Element, bool] = {}
    order: list[Block] = []
    for text in _TEXT(root):
        length = len(text.strip())
        if not length:
            continue
        parent = text.getparent()
        if parent is None:
            continue
        if text.is_tail:
            # a tail belongs to the element around its element; it is linked only if that one is in a link
            parent = parent.getparent()
            if parent is None:
                continue
        found = owners.get(parent)
        if found is None:
            found = _owner(parent, in_link)
            owners[parent] = found
        element, linked = found
        block = blocks.get(element)
        if block is None:
            block = blocks[element] = Block(element)
            order.append(block)
        block.chars += length
        if linked:
            block.linked += length
        elif _SENTENCE_END.search(text):
            block.sentences += 1
    density = Density(blocks=order)
    _score(density)
    return density


def _owner(element: etree._Element, in_link: dict[etree._Element, bool]) -> tuple[etree._Element, bool]:
    """The block an inline element's text belongs to, and whether the text is inside a link (a link
    may wrap whole blocks: a teaser card is one <a> around a heading and a summary)."""
    linked = False
    while element.tag in INLINE_TAGS or not isinstance(element.tag, str):
        if element.tag == "a":
            linked = True
        parent = element.getparent()
        if parent is None:
            break
        element = parent
    return element, linked or _inside_link(element, in_link)


def _inside_link(element: etree._Element, memo: dict[etree._Element, bool]) -> bool:
    path = []
    found = False
    node = element.getparent()
    while node is not None:
        known = memo.get(node)
        if known is not None:
            found = known
            break
        path.append(node)
        if node.tag == "a":
            found = True
            break
        node = node.getparent()
    for visited in path:
        memo[visited] = found
    return found


def _score(density: Density) -> None:
    """Each element's prose, then its score and gain, with furniture discounted.

    Two passes: a class word marks furniture only on an element that does not hold most of the page's
    prose (a template may wrap the whole story in "above-footer" or "post share-enabled"), and that is
    known only once all prose is counted.
    """
    score, prose, gain = density.score, density.prose, density.gain
    paths: list[list[etree._Element]] = []
    total = 0
    for block in density.blocks:
        path: list[etree._Element] = []
        element = block.element
        while element is not None and element.tag not in ("body", "html"):
            path.append(element)
            element = element.getparent()
        paths.append(path)
        unlinked = block.chars - block.linked
        total += unlinked
        for element in path:
            prose[element] = prose.get(element, 0) + unlinked
    most = _MOST_PROSE * total
    framing: dict[etree._Element, bool] = {}
    for block, path in zip(density.blocks, paths):
        discounted = False
        for element in path:
            seen = framing.get(element)
            if seen is None:
                seen = framing[element] = prose[element] < most and _is_framing(element)
            if seen:
                discounted = True
                break
        weight = block.weight
        if discounted and weight > 0:
            # prose inside a comment section or a sidebar counts little for any region, not even the
            # page's (its links count in full: a region swallowing the menus pays for them)
            weight *= _FURNITURE_DISCOUNT
        positive = max(weight, 0.0)
        for element in path:
            score[element] = score.get(element, 0.0) + weight
            gain[element] = gain.get(element, 0.0) + positive


def _is_framing(element: etree._Element) -> bool:
    # a <header> frames the page or the article: neither is where the article's prose is
    return element.tag in FRAME_TAGS or element.tag == "header" or boilerplate_kind(element) is not None


__all__ = ["Block", "Density", "measure"]
