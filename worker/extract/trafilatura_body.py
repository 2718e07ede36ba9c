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


def trafilatura_body(tree: etree._Element) -> etree._Element | None:
    """The main text trafilatura finds (precision-first, comments off) as an HTML element, or None.

    trafilatura copies the tree before changing it, so `tree` comes back as it went in. No URL is
    passed: trafilatura would resolve every link itself, and clean.py already makes them absolute
    against the page (and its <base>) once, for every layer.
    """
    try:
        document = trafilatura.bare_extraction(
            tree, url=None, output_format="xml", favor_precision=True, include_comments=False,
            include_formatting=True, include_links=True, include_images=False, include_tables=True,
            with_metadata=False, deduplicate=False,
        )
    except RecursionError:  # a pathologically nested page: no body by block scoring, not a crash
        return None
    if document is None or document.body is None or not len(document.body):
        return None
    body = document.body
    _to_html(body)
    return body


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
