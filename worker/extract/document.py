"""Turn the fetched bytes (or text) into one lxml tree that every extraction layer shares.

Parsing is the costliest step of extraction, so it happens once here; layers that need to change
the tree (body extraction) work on their own copy of it.
"""
from __future__ import annotations

import codecs
import re
import unicodedata

import lxml.html
from lxml import etree

from worker.errors import ExtractionError

# zero-width characters count as whitespace: editors leave paragraphs holding only a U+200B
_WHITESPACE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff]+")
# Only the head of the document is searched: a charset declared further down is not one browsers obey.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))

_PARSER = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, collect_ids=False)


def collapse(text: str | None) -> str:
    """Every run of whitespace (no-break space included) as one space, NFC, trimmed."""
    if not text:
        return ""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def detect_encoding(raw: bytes) -> str:
    """BOM first (it cannot lie), then <meta charset>, then utf-8, the web's default."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    match = _META_CHARSET.search(raw[:4096])
    if match:
        name = match.group(1).decode("ascii", "ignore").lower()
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            return "utf-8"
        # Pages labelled latin-1 are in practice windows-1252 (browsers treat them so: curly quotes in 0x80-0x9f).
        return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec
    return "utf-8"


def decode(html: str | bytes) -> str:
    if isinstance(html, str):
        return html
    encoding = detect_encoding(html)
    text = html.decode(encoding, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def parse(html: str | bytes) -> lxml.html.HtmlElement:
    """The page as an lxml tree; raises ExtractionError when there is nothing to parse."""
    text = _XML_DECLARATION.sub("", decode(html), count=1)
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


def class_tokens(element: etree._Element) -> str:
    """class, id and role of an element in one lowercase string, for structural pattern matching."""
    get = element.get
    return " ".join(filter(None, (get("class"), get("id"), get("role")))).lower()
