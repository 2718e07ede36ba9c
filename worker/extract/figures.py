"""Put the article's in-body figures back into what block scoring extracted.

trafilatura runs without images: with them it turns captions and photo credits into paragraphs of
their own, indistinguishable from the text (precision on the benchmark drops by a point). So figures
are placed back afterwards, from the page: a <figure> with an image is the article's own when it sits
between two paragraphs that are both in the extracted text; it goes in right after the first one.
Figures elsewhere (related-story cards, galleries of other articles) have no such neighbours.
"""
from __future__ import annotations

from lxml import etree

from worker.extract.document import drop_tree
from worker.extract.structured_body import tokens

_PREVIOUS_PARAGRAPH = etree.XPath("preceding::p[1]")
_NEXT_PARAGRAPH = etree.XPath("following::p[1]")


def _key(element: etree._Element) -> str:
    return " ".join(tokens("".join(element.itertext())))


def _anchor(body: etree._Element, keys: list[str], before: str, after: str) -> etree._Element | None:
    """The extracted block equal to the figure's previous paragraph, preferring one followed by the
    figure's next paragraph (a page may repeat a short paragraph); None when either is not extracted."""
    if not before or before not in keys or after not in keys:
        return None
    for index, key in enumerate(keys):
        if key == before and after in keys[index + 1:index + 3]:
            return body[index]
    return body[keys.index(before)]


def restore_figures(body: etree._Element, root: etree._Element, leave_out: list[etree._Element]) -> None:
    """Insert into `body` (extracted blocks) the figures of `root` that sit between two of its paragraphs.

    The figures are moved out of `root`: the page is not read after body extraction.
    """
    figures = [f for f in root.iter("figure") if f.find(".//img") is not None and f not in leave_out]
    if not figures:
        return
    keys = [_key(block) for block in body]
    placed: list[tuple[etree._Element, etree._Element]] = []
    for figure in figures:
        if any(a in leave_out for a in figure.iterancestors()):
            continue
        before, after = _PREVIOUS_PARAGRAPH(figure), _NEXT_PARAGRAPH(figure)
        if not before or not after:
            continue
        anchor = _anchor(body, keys, _key(before[0]), _key(after[0]))
        if anchor is not None:
            placed.append((anchor, figure))
    for anchor, figure in reversed(placed):  # reversed: figures after one anchor keep their page order
        drop_tree(figure)
        figure.tail = None
        anchor.addnext(figure)
