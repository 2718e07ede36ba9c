"""Captions and photo credits that pages write as plain blocks: made figures, or dropped.

Many sites never use <figure>: the picture sits in a div with a sibling div class="caption" or
span class="credit". Read as blocks, a caption is a good sentence and lands in the article's text.
"caption" and "credit" are the web's common names for exactly this job (WordPress' wp-caption-text,
image-credit, media-caption), so the class word is trusted here, but only on short text: a caption is
a sentence or two, never the story. A caption beside an image becomes that image's <figcaption> (so
body_html keeps it with its picture and body_text leaves it out, as for real figures); a caption whose
picture did not come with the page (lazy loading without a src) has nothing to caption and goes.
"""
from __future__ import annotations

from lxml import etree

from worker.extract.document import drop_tree, text_length

_CANDIDATES = etree.XPath(
    ".//*[@class and (contains(translate(@class, 'CAPTIONREDIHG', 'captionredihg'), 'caption')"
    " or contains(translate(@class, 'CAPTIONREDIHG', 'captionredihg'), 'credit')"
    " or contains(translate(@class, 'CAPTIONREDIHG', 'captionredihg'), 'photographer')"
    " or contains(translate(@class, 'CAPTIONREDIHG', 'captionredihg'), 'copyright'))]"
)
# longer than this (characters) and it is not a caption whatever its class says
_MAX_CAPTION = 500
# how far up from a caption to look for its picture, and how much text that container may hold
_PICTURE_REACH = 3
_MAX_FIGURE_TEXT = 800


def _picture_holder(caption: etree._Element, region: etree._Element) -> etree._Element | None:
    node = caption
    for _ in range(_PICTURE_REACH):
        parent = node.getparent()
        if parent is None or parent is region:
            return None
        node = parent
        if node.find(".//img") is not None:
            return node if text_length(node) <= _MAX_FIGURE_TEXT else None
    return None


def figure_captions(region: etree._Element) -> None:
    """In place: short caption/credit blocks become figcaptions of their picture's figure, or go."""
    for element in _CANDIDATES(region):
        if element.getparent() is None or element.tag in ("figure", "figcaption", "img", "body", "html"):
            continue
        if any(a.tag == "figure" for a in element.iterancestors()):
            continue  # already a figure's part: clean.py and paragraphs() know what to do with it
        if element.find(".//p") is not None and text_length(element) > _MAX_CAPTION:
            continue
        if text_length(element) > _MAX_CAPTION:
            continue
        if element.find(".//img") is not None:
            element.tag = "figure"  # the picture and its caption in one wrapper named for the caption
            continue
        holder = _picture_holder(element, region)
        if holder is None:
            drop_tree(element)
            continue
        holder.tag = "figure"
        element.tag = "figcaption"


__all__ = ["figure_captions"]
