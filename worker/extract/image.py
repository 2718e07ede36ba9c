"""The lead image: the page's leading (featured) figure with its caption and credit, else JSON-LD/og:image.

Caption and credit are kept apart because outlets lay them out differently (credit on the photo, caption
below); a credit found inside the caption, as a credit element or a trailing "(Photo by ...)", is moved out.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from worker.config import Selectors
from worker import css
from worker.extract.document import class_tokens, collapse, text_of
from worker.http.urls import join_http
from worker.schema import Image

_SCOPE_TAGS = ("article", "main", "body")
# a featured image is a figure, or a wrapper named like one, met before the article's text begins
_LEADING_CLASSES = ("featured", "hero", "lead-image")
_CAPTION = etree.XPath(".//figcaption | .//*[contains(@class, 'caption')]")
_CREDIT_CLASS = re.compile(r"credit|copyright|byline|photographer")
_CREDIT_WORDS = (
    r"photo|photos|photograph|image|images|picture|getty|reuters|ap|afp|epa|credit|courtesy|shutterstock|"
    r"istock|pool|file|illustration|via|handout|press|associated"
)
# "(Army photo by Sgt. X)", "(Getty Images)" at the end of a caption
_TRAILING_PARENS = re.compile(rf"\s*[(\[]([^()\[\]]*\b(?:{_CREDIT_WORDS})\b[^()\[\]]*)[)\]]\s*\.?\s*$", re.IGNORECASE)
# "... Photo: Jane Doe/Reuters", "... Credit: X", "... Photograph by X" as the caption's last sentence
_TRAILING_LABEL = re.compile(
    r"(?:^|(?<=[.!?\"”])\s+|\s+[|–—-]\s+|\s{2,})((?:photo(?:graph)?s?|image|picture|credit|source|foto)\s*(?::|by\b)\s*[^.]{2,120}?)\.?\s*$",
    re.IGNORECASE,
)
_LABEL_PREFIX = re.compile(r"^(?:photo(?:graph)?s?|image|picture|credit|source|foto)\s*:\s*", re.IGNORECASE)
# a figure holds an image and a caption; an element with more text than this is a wrapper of the article
_MAX_FIGURE_TEXT = 600
_LAZY_ATTRIBUTES = ("data-src", "data-lazy-src", "data-original", "data-url")


def split_credit(caption: str) -> tuple[str | None, str | None]:
    """(caption, credit) from a caption whose end may carry the credit; either may be None."""
    caption = collapse(caption)
    if not caption:
        return None, None
    for pattern in (_TRAILING_PARENS, _TRAILING_LABEL):
        match = pattern.search(caption)
        if match:
            credit = clean_credit(match.group(1))
            rest = caption[: match.start()].strip()
            return (rest or None), credit
    return caption, None


def clean_credit(text: str | None) -> str | None:
    """A credit without its wrapping parentheses and without a bare "Photo:"/"Credit:" label."""
    text = collapse(text).strip("()[] ")
    text = _LABEL_PREFIX.sub("", text).strip()
    return text or None


def image_source(img: etree._Element, base: str) -> str | None:
    """The image URL, preferring real sources over lazy-loading placeholders (data: URIs, 1px gifs)."""
    candidates = [img.get("src")] + [img.get(a) for a in _LAZY_ATTRIBUTES]
    srcset = img.get("srcset") or img.get("data-srcset")
    if srcset:
        candidates.append(srcset.split(",")[-1].strip().split(" ")[0])
    for value in candidates:
        if value and not value.strip().startswith("data:"):
            absolute = join_http(base, value)
            if absolute is not None:
                return absolute
    return None


def _int_attr(img: etree._Element, name: str) -> int | None:
    value = (img.get(name) or "").strip().removesuffix("px")
    return int(value) if value.isdigit() and int(value) > 0 else None


def _text_without(element: etree._Element, skipped: etree._Element | None) -> str:
    """Text of element leaving out one descendant (the credit inside a caption); tails are kept."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if isinstance(node.tag, str):
            parts.append(node.text or "")
        for child in node:
            if child is not skipped:
                walk(child)
            parts.append(child.tail or "")

    walk(element)
    return collapse("".join(parts))


def _scope(root: etree._Element) -> etree._Element:
    """The first <article>, <main>, role="main" or <body> in page order (so nearly always <body>)."""
    for element in root.iterdescendants(etree.Element):
        if element.tag in _SCOPE_TAGS or element.get("role") == "main":
            return element
    return root


def _leading(scope: etree._Element) -> Iterator[etree._Element]:
    """Figures, paragraphs and featured-image wrappers in page order, read lazily: the search ends at
    the first paragraph of text, long before the end of the page."""
    for element in scope.iterdescendants(etree.Element):
        tag = element.tag
        if tag == "figure" or tag == "p":
            yield element
        else:
            cls = element.get("class")
            if cls and any(word in cls for word in _LEADING_CLASSES):
                yield element


def _leading_figure(root: etree._Element) -> etree._Element | None:
    for element in _leading(_scope(root)):
        if element.tag == "p":
            if len(text_of(element)) > 80:
                return None  # the article text has begun: a later figure is an inline one
            continue
        if element.find(".//img") is not None and not _text_longer_than(element, _MAX_FIGURE_TEXT):
            return element
    return None


def _text_longer_than(element: etree._Element, limit: int) -> bool:
    """Whether the element holds more than `limit` characters of text, without collecting all of it:
    the candidates include page-wide containers, whose whole text would be read for nothing."""
    total = 0
    for piece in element.itertext():
        total += len(piece.strip())
        if total > limit:
            return True
    return False


def lead_image_declared(base: str, declared: dict[str, Any]) -> tuple[Image | None, None]:
    """The image the page declares in its metadata, when no figure on the page shows it."""
    url = join_http(base, declared.get("url"))
    if url is None:
        return None, None
    caption, credit = split_credit(declared.get("caption") or "")
    return Image(
        url=url, caption=caption, credit=clean_credit(declared.get("credit")) or credit,
        alt=declared.get("alt"), width=declared.get("width"), height=declared.get("height"),
    ), None


def lead_image(
    root: etree._Element, base: str, declared: dict[str, Any] | None, selectors: Selectors | None = None
) -> tuple[Image | None, etree._Element | None]:
    """The lead image and the page element it came from (so the body can leave that element out)."""
    selectors = selectors or Selectors()
    container = css.select_one(root, selectors.lead_image) or _leading_figure(root)
    declared = declared or {}
    # only an http(s) URL can stand in for the figure's own (og:image may say `javascript:...`)
    declared_url = join_http(base, declared.get("url"))
    if container is None:
        return lead_image_declared(base, declared)

    img = container if container.tag == "img" else container.find(".//img")
    figure_url = image_source(img, base) if img is not None else None
    if figure_url is None:
        return lead_image(root, base, declared, None) if selectors.lead_image else lead_image_declared(base, declared)
    # The declared image (og:image / JSON-LD) is the publisher's chosen full-size rendition of the lead
    # picture; the figure's own src is often a small responsive one. A configured selector means the
    # figure's own picture is wanted.
    url = figure_url if selectors.lead_image or not declared_url else declared_url
    figure = container
    if container.tag == "img":
        parent = container.getparent()
        figure = parent if parent is not None and parent.tag == "figure" else container

    caption_el = css.select_one(root, selectors.caption) if selectors.caption else None
    if caption_el is None:
        found = _CAPTION(figure)
        caption_el = found[0] if found else None
    credit_el = css.select_one(root, selectors.credit) if selectors.credit else None
    if credit_el is None:
        credit_el = next((e for e in figure.iter() if isinstance(e.tag, str) and e is not figure
                          and _CREDIT_CLASS.search(class_tokens(e))), None)

    caption_text = _text_without(caption_el, credit_el) if caption_el is not None else ""
    caption, trailing_credit = split_credit(caption_text)
    credit = clean_credit(text_of(credit_el)) if credit_el is not None else trailing_credit
    same_as_declared = declared_url == url
    own_size = url == figure_url
    width = (_int_attr(img, "width") if own_size else None) or (declared.get("width") if same_as_declared else None)
    height = (_int_attr(img, "height") if own_size else None) or (declared.get("height") if same_as_declared else None)
    if same_as_declared:
        caption = caption or split_credit(declared.get("caption") or "")[0]
        credit = credit or clean_credit(declared.get("credit"))
    alt = collapse(img.get("alt")) or declared.get("alt") or None
    return Image(url=url, caption=caption, credit=credit, alt=alt, width=width, height=height), figure
