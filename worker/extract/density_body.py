"""Our own body extractor: the densest region of the page, cleaned inside by shape and context.

One parse, no copy of the page and no second serialization: density.py picks the region, then, in
that region only, captions become figures (captions.py), teaser grids go (cards.py), what precedes
the headline goes, blocks are kept or dropped by context (block_filter.py), and named furniture goes
when it is furniture-shaped (boilerplate.py). What is left is raw page HTML for clean.py.
"""
from __future__ import annotations

from lxml import etree

from worker.extract.block_filter import drop_bad_blocks
from worker.extract.boilerplate import prose_length, remove_boilerplate
from worker.extract.captions import figure_captions
from worker.extract.cards import drop_cards
from worker.extract.density import measure
from worker.extract.named_furniture import drop_named_furniture
from worker.extract.document import drop_tree, is_inside

# a region with less prose than this (characters in sentence-sized runs) is not an article
_MIN_REGION_PROSE = 200


def density_body(root: etree._Element, leave_out: list[etree._Element]) -> etree._Element | None:
    """The article region, cleaned in place; None when the page has no region of prose.

    `leave_out` (the headline's h1, the lead figure) is removed from the region: the article carries
    them in their own fields. The tree is changed in place even when None comes back (only furniture
    is removed), so a fallback extractor still sees the article.
    """
    density = measure(root)
    region = density.best_region()
    if region is None:
        return None
    figure_captions(region)
    drop_named_furniture(region, lambda e: density.gain.get(e, 0.0))
    drop_cards(region)
    headline = next((e for e in leave_out if e.tag == "h1" and is_inside(e, region)), None)
    if headline is not None:
        drop_before(headline, region)
    drop_bad_blocks(region, density.blocks)
    remove_boilerplate(region, link_boxes=True, weight=lambda e: density.gain.get(e, 0.0),
                       stripped=True)
    if prose_length(region) < _MIN_REGION_PROSE:
        return None
    for element in leave_out:
        if element.getparent() is not None and is_inside(element, region):
            drop_tree(element)
    return region


def drop_before(marker: etree._Element, region: etree._Element) -> None:
    """Remove everything in `region` before `marker` (the article starts at its headline: what comes
    before it in the same region is a breadcrumb, a kicker, a notice or the previous story)."""
    node = marker
    while node is not region and node is not None:
        for sibling in list(node.itersiblings(preceding=True)):
            drop_tree(sibling)
        parent = node.getparent()
        if parent is not None:
            parent.text = None
        node = parent


__all__ = ["density_body", "drop_before"]
