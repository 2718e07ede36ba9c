"""Take out of the body what the article carries elsewhere: the headline, the byline, the dateline and
the lead image. Generic extractors keep them because they sit next to the text; a reader of the
canonical article would see them twice.
"""
from __future__ import annotations

import re

from lxml import etree

from worker.extract.dates import parse_date
from worker.extract.document import collapse
from worker.extract.metadata import Metadata
from worker.extract.republished import drop_attribution
from worker.schema import Image

_BY = re.compile(r"^(?:written\s+)?by\b", re.IGNORECASE)
_DATE_LABEL = re.compile(r"^(?:last\s+)?(?:updated|published|posted|modified)\b", re.IGNORECASE)
# a block of more than this many words is prose: the header zone (byline, dateline) is over
_HEADER_ZONE_WORDS = 25


def _key(text: str) -> str:
    return collapse(text).casefold().strip(" .:")


def _is_byline(text: str, meta: Metadata) -> bool:
    words = len(text.split())
    if words > 20:
        return False
    if meta.byline_text and _key(text) == _key(meta.byline_text):
        return True
    names = [str(a).casefold() for a in meta.authors]
    mentions = bool(names) and all(n in text.casefold() for n in names)
    return (bool(_BY.match(text)) and (mentions or words <= 6)) or (mentions and words <= 3 * len(names) + 3)


def _is_dateline(text: str, meta: Metadata) -> bool:
    if len(text.split()) > 12:
        return False
    if any(_key(text) == _key(d) for d in meta.dateline_texts):
        return True
    return bool(_DATE_LABEL.match(text)) or (parse_date(text) is not None and not re.search(r"[.!?]$", text))


def _figure_texts(image: Image | None, figure: etree._Element | None) -> list[str]:
    """What the lead figure says (its caption as shown, caption and credit apart) in any form."""
    texts = [image.caption or "", image.credit or ""] if image is not None else []
    if figure is not None:
        texts.append(figure.text_content())
        texts.extend(c.text_content() for c in figure.iter("figcaption"))
    return texts


def drop_repeats(
    wrapper: etree._Element, meta: Metadata, image: Image | None, figure: etree._Element | None
) -> None:
    """Remove, in place, body blocks that repeat the headline, byline, dateline or lead image, and a
    closing "From X" / "Originally published by X" line (the attribution is rendered by the outlet)."""
    drop_attribution(wrapper)
    headline = _key(meta.headline)
    figure_texts = {_key(t) for t in _figure_texts(image, figure)} - {""}
    in_header_zone = True
    for block in list(wrapper):
        text = collapse(block.text_content())
        if headline and _key(text) == headline:
            block.drop_tree()
            continue
        if _key(text) in figure_texts:
            block.drop_tree()
            continue
        if in_header_zone and text:
            if _is_byline(text, meta) or _is_dateline(text, meta):
                block.drop_tree()
                continue
            if len(text.split()) > _HEADER_ZONE_WORDS:
                in_header_zone = False
    if image is not None:
        for img in list(wrapper.iter("img")):
            if img.get("src") == image.url:
                figure = next((a for a in img.iterancestors("figure")), None)
                target = figure if figure is not None else img
                if target.getparent() is not None:
                    target.drop_tree()
