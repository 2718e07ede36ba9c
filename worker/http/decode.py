"""Which character encoding a partner's bytes are in: BOM, then the HTTP header, then the document's own
declaration (<meta charset>, http-equiv, <?xml encoding?>), then utf-8 when the bytes are valid utf-8,
then detection with charset-normalizer.

That is the HTML standard's order, minus its "default to windows-1252" guess: partners in Cyrillic or
Greek who declare nothing are common, and detection gets them right where a fixed default would not.
Valid utf-8 is taken before detection because it almost never happens by accident and detection is
slow. The fetcher and the extractor both decode through here.
"""
from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)", re.IGNORECASE)
# the WHATWG encoding standard decodes these labels as windows-1252, and so do browsers; partners that
# say latin-1 almost always mean it (curly quotes in 0x80-0x9F)
_WHATWG_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
                   "ascii": "cp1252", "l1": "cp1252", "iso8859-1": "cp1252"}


def _known(label: str | None) -> str | None:
    """A Python codec name for `label`, or None for labels Python does not know (partners invent some)."""
    if not label:
        return None
    label = _WHATWG_ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def sniff_encoding(body: bytes, content_type: str = "") -> str:
    """The encoding to decode `body` with (a Python codec name). Never fails: utf-8 is the last resort."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    header = _HEADER_CHARSET.search(content_type or "")
    declared = _known(header.group(1)) if header else None
    if declared:
        return declared
    head = body[:4096]
    for pattern in (_XML_ENCODING, _META_CHARSET):
        match = pattern.search(head)
        declared = _known(match.group(1).decode("ascii", "replace")) if match else None
        # a document that was decoded to text and saved again may still say utf-16; its bytes are not
        if declared and not declared.startswith("utf-16"):
            return declared
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # the first 256 KiB are plenty to tell the script apart and keep the guess cheap on huge pages
    best = from_bytes(body[:256 * 1024]).best()
    return _known(best.encoding if best else None) or "utf-8"


def decode_body(body: bytes, content_type: str = "") -> tuple[str, str]:
    """(text, encoding). Undecodable bytes become U+FFFD rather than failing the article."""
    encoding = sniff_encoding(body, content_type)
    for bom, _ in _BOMS:
        if body.startswith(bom):
            body = body[len(bom):]  # the codec would keep it as U+FEFF at the start of the text
            break
    return body.decode(encoding, errors="replace"), encoding
