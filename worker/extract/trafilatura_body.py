"""trafilatura's block scoring on our parsed tree, its result handed back as an element tree.

trafilatura's own HTML output would be serialized to a string and parsed again, and extract() also
fingerprints the text (a hash over every word) for deduplication we do not use: bare_extraction()
with XML output returns the element tree it built, which we map onto HTML tags in place.
"""
from __future__ import annotations

import trafilatura
from lxml import etree

# trafilatura's internal XML vocabulary → HTML (clean.py maps the HTML onto the allowlist)
_TAGS = {"item": "li", "quote": "blockquote", "lb": "br", "graphic": "img", "ref": "a", "row": "tr",
         "code": "pre", "del": "span", "doc": "div", "body": "div", "main": "div", "note": "p", "label": "p"}
_HI = {"#b": "strong", "#i": "em"}
# a private-use character standing for a space at an inline element's edge while trafilatura runs
_BOUNDARY = "\ue000"
_INLINE = etree.XPath(
    "//body//*[self::a or self::em or self::i or self::b or self::strong or self::span or self::u"
    " or self::small or self::sup or self::sub or self::mark or self::abbr or self::cite or self::q"
    " or self::code or self::time or self::font or self::s or self::del or self::ins]"
)


def trafilatura_body(tree: etree._Element) -> etree._Element | None:
    """The main text trafilatura finds (precision-first, comments off) as an HTML element, or None.

    trafilatura copies the tree before changing it, so `tree` comes back as it went in. No URL is
    passed: trafilatura would resolve every link itself, and clean.py already makes them absolute
    against the page (and its <base>) once, for every layer.
    """
    marked = _mark_word_boundaries(tree)
    try:
        document = trafilatura.bare_extraction(
            tree, url=None, output_format="xml", favor_precision=True, include_comments=False,
            include_formatting=True, include_links=True, include_images=False, include_tables=True,
            with_metadata=False, deduplicate=False,
        )
    except RecursionError:  # a pathologically nested page: no body by block scoring, not a crash
        return None
    finally:
        _unmark(marked)
    if document is None or document.body is None or not len(document.body):
        return None
    body = document.body
    _to_html(body)
    _unmark(body.iter())
    return body


def _mark_word_boundaries(tree: etree._Element) -> list[etree._Element]:
    """Make the spaces at the edges of inline elements survive trafilatura.

    trafilatura trims every text and tail it copies, so the space in `<a><em>HBO Go</em></a> <em>and</em>`
    or `the <b>best </b>deal` is lost and the words fuse ("HBO Goand"). Every word boundary of the
    source must reach body_text, so each such edge space is replaced by a private-use character that
    trimming keeps and that no page means as text; it becomes a space again afterwards, in the page
    and in trafilatura's output. Returns the elements changed.
    """
    changed = []
    for element in _INLINE(tree):
        text, tail = element.text, element.tail
        touched = False
        if text and text != text.strip():
            element.text = _mark_edges(text)
            touched = True
        if tail and tail != tail.strip() and (tail.strip() or element.getnext() is not None):
            element.tail = _mark_edges(tail)
            touched = True
        if text and not text.strip() and not len(element):
            # an element holding only a space (<strong>&nbsp;</strong>) is dropped as empty: its space
            # goes into its tail, which is kept
            element.tail = _BOUNDARY + (element.tail or "")
            touched = True
        if touched:
            changed.append(element)
    return changed


def _mark_edges(text: str) -> str:
    core = text.strip()
    if not core:
        return _BOUNDARY
    return (_BOUNDARY if text[0].isspace() else "") + core + (_BOUNDARY if text[-1].isspace() else "")


def _unmark(elements) -> None:
    for element in elements:
        if not isinstance(element.tag, str):
            continue
        if element.text and _BOUNDARY in element.text:
            element.text = element.text.replace(_BOUNDARY, " ")
        if element.tail and _BOUNDARY in element.tail:
            element.tail = element.tail.replace(_BOUNDARY, " ")


def _to_html(body: etree._Element) -> None:
    for element in body.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if tag == "head":
            level = (element.get("rend") or "h3").lstrip("h")
            element.tag = f"h{level}" if level in ("2", "3", "4") else ("h2" if level == "1" else "h4")
        elif tag == "list":
            element.tag = "ol" if element.get("rend") == "ol" else "ul"
        elif tag == "hi":
            element.tag = _HI.get(element.get("rend") or "", "span")
        elif tag == "cell":
            element.tag = "td"
        elif tag in _TAGS:
            element.tag = _TAGS[tag]
        if element.tag == "a":
            href = element.get("target")
            element.attrib.clear()
            if href:
                element.set("href", href)
        elif element.tag == "img":
            src, alt = element.get("src"), element.get("alt")
            element.attrib.clear()
            if src:
                element.set("src", src)
            if alt:
                element.set("alt", alt)
        else:
            element.attrib.clear()
    body.tag = "div"
