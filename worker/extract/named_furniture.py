"""trafilatura's vocabulary of furniture names (its discard XPaths), applied inside our region by shape.

trafilatura keeps long, maintained lists of the class and id words sites use for comments, share bars,
consent banners, teasers, paywall notices and page chrome. Those lists are the best vocabulary there
is, so we use them rather than write our own; but a name alone may also sit on the article (cause 1
of issue 12), so an element they match goes only when it is furniture-shaped (boilerplate.py: little
prose, link-dense, or a run of like items) and does not hold most of the region's prose weight; and
inline elements are never judged (a span inside a sentence is part of the sentence).
"""
from __future__ import annotations

from typing import Callable

from lxml import etree
from trafilatura.xpaths import (
    COMMENTS_DISCARD_XPATH, OVERALL_DISCARD_XPATH, PRECISION_DISCARD_XPATH, TEASER_DISCARD_XPATH,
)

from worker.extract.boilerplate import INLINE_TAGS, furniture_shaped
from worker.extract.document import drop_tree

_DISCARD = [*OVERALL_DISCARD_XPATH, *TEASER_DISCARD_XPATH, *PRECISION_DISCARD_XPATH, *COMMENTS_DISCARD_XPATH]
# an element holding this share of the region's prose weight is the article, whatever its name
_MOST = 0.5


def drop_named_furniture(region: etree._Element, weight: Callable[[etree._Element], float]) -> None:
    """Remove, in place, the region's elements that trafilatura's discard lists name, unless they hold
    most of the region's prose weight or are inline."""
    whole = max(weight(region), 1.0)
    for xpath in _DISCARD:
        for element in xpath(region):
            if element is region or element.getparent() is None or element.tag in INLINE_TAGS:
                continue
            if weight(element) >= _MOST * whole or not furniture_shaped(element):
                continue
            drop_tree(element)


__all__ = ["drop_named_furniture"]
