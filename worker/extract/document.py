"""Turn the fetched bytes (or text) into one lxml tree that every extraction layer shares.

Parsing is the costliest step of extraction, so it happens once here. Layers read the tree in a fixed
order (metadata, lead image, then the body); body extraction is last and may change the tree in place,
so nobody pays for a copy of the whole page.
"""
from __future__ import annotations

import re
import unicodedata

import lxml.html
from lxml import etree

from worker.http.decode import decode_body
from worker.errors import ExtractionError

# zero-width characters count as whitespace: editors leave paragraphs holding only a U+200B
_WHITESPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")


def _html_parser() -> etree.HTMLParser:
    """An HTML parser whose elements are all HtmlElement (drop_tree, text_content: what every layer uses).

    lxml.html's own parser picks each element's class by a Python callback (forms, inputs, labels get
    their own classes); on a 3,000-element page that callback costs more than the parse itself. The
    default-class lookup is done in C, and nothing here needs the form classes.
    """
    parser = etree.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)
    parser.set_element_class_lookup(etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement, comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction, entity=lxml.html.HtmlEntity,
    ))
    return parser


_PARSER = _html_parser()


def collapse(text: str | None) -> str:
    """Every run of whitespace (no-break space included) as one space, NFC, trimmed."""
    if not text:
        return ""
    if not text.isascii():  # ASCII is already NFC; most page text is
        # a soft hyphen only says where a word may break: the reader sees one word ("Mit\xadtel\xadalter")
        text = unicodedata.normalize("NFC", text.replace("\xad", ""))
    return _WHITESPACE.sub(" ", text).strip()


def decode(html: str | bytes) -> str:
    """Text of the page; bytes are decoded the way the fetcher decodes them (worker/http/decode.py)."""
    return html if isinstance(html, str) else decode_body(html)[0]


def parse(html: str | bytes) -> lxml.html.HtmlElement:
    """The page as an lxml tree; raises ExtractionError when there is nothing to parse."""
    text = _XML_DECLARATION.sub("", decode(html), count=1)
    # C0 control characters mean nothing in HTML, and lxml refuses them in any string set on a tree
    # (ValueError "All strings must be XML compatible" when a later layer moves text or sets an href);
    # a form feed is whitespace in HTML, so it becomes a space
    text = _CONTROL_CHARACTERS.sub("", text.replace("\x0c", " "))
    if not text.strip():
        raise ExtractionError("the page is empty")
    try:
        root = lxml.html.document_fromstring(text, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"the page is not parseable HTML ({exc})") from None
    if root is None:
        raise ExtractionError("the page is not parseable HTML")
    return root


def text_of(element: lxml.html.HtmlElement | None) -> str:
    """Visible text of an element with whitespace collapsed ('' for None)."""
    if element is None:
        return ""
    return collapse(element.text_content())


def text_length(element: etree._Element) -> int:
    """Characters of the element's visible text, whitespace runs counted as one space."""
    return len(" ".join(element.text_content().split()))


def is_inside(element: etree._Element, ancestor: etree._Element) -> bool:
    """True when `ancestor` is one of the element's ancestors (the element itself does not count)."""
    return any(a is ancestor for a in element.iterancestors())


def class_tokens(element: etree._Element) -> str:
    """class, id and role of an element in one lowercase string, for structural pattern matching."""
    get = element.get
    return " ".join(filter(None, (get("class"), get("id"), get("role")))).lower()


def drop_tree(element: etree._Element) -> None:
    """Remove the element and its content, keeping its tail text (HtmlElement.drop_tree for any element:
    trafilatura builds its output with plain lxml.etree elements)."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + element.tail
        else:
            previous.tail = (previous.tail or "") + element.tail
    parent.remove(element)


def drop_tag(element: etree._Element) -> None:
    """Remove the tag only: text, children and tail stay in place (HtmlElement.drop_tag for any element)."""
    parent = element.getparent()
    if parent is None:
        return
    previous = element.getprevious()
    if element.text:
        if previous is None:
            parent.text = (parent.text or "") + element.text
        else:
            previous.tail = (previous.tail or "") + element.text
    if element.tail:
        if len(element):
            last = element[-1]
            last.tail = (last.tail or "") + element.tail
        elif previous is None:
            parent.text = (parent.text or "") + element.tail
        else:
            previous.tail = (previous.tail or "") + element.tail
    index = parent.index(element)
    parent[index:index + 1] = element[:]
