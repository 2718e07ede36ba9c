"""Raw body HTML → the canonical allowlisted body_html and its body_text.

Page markup is first mapped onto the few tags the contract allows (divs holding text become paragraphs,
<b> becomes <strong>, tables become one paragraph per row) so that nh3 — the final, authoritative
sanitizer — drops only what must go, never paragraph boundaries.
"""
from __future__ import annotations


import lxml.html
import nh3
from lxml import etree

from worker.extract.boilerplate import NON_CONTENT_TAGS
from worker.extract.document import collapse, drop_tag, drop_tree
from worker.extract.image import image_source
from worker.http.urls import join_http

ALLOWED_TAGS = frozenset({"p", "h2", "h3", "h4", "blockquote", "ul", "ol", "li", "a", "strong", "em",
                          "figure", "img", "figcaption", "br"})
ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}
BLOCK_TAGS = frozenset({"p", "h2", "h3", "h4", "blockquote", "ul", "ol", "li", "figure", "figcaption"})
_RENAMES = {"b": "strong", "i": "em", "h1": "h2", "h5": "h4", "h6": "h4", "dt": "p", "dd": "p", "pre": "p",
            "address": "p", "caption": "p"}
# containers whose only job is layout: they become a paragraph when they hold just text, else vanish
_CONTAINERS = frozenset({"div", "section", "article", "main", "header", "footer", "aside", "span", "center",
                         "font", "picture", "body", "html", "dl", "nav", "table", "tbody", "thead", "tfoot", "details",
                         "summary", "head", "hgroup"})
_CONTAINER_BLOCKS = BLOCK_TAGS | {"div", "section", "article", "main", "header", "footer", "aside", "table",
                                  "tr", "dl", "dt", "dd", "pre", "h1", "h5", "h6", "hr"}
_DROPPED_WITH_CONTENT = list(NON_CONTENT_TAGS) + ["head", "title", "form"]


def _has_block_child(element: etree._Element) -> bool:
    return any(isinstance(d.tag, str) and d.tag in _CONTAINER_BLOCKS for d in element.iterdescendants())


def _normalize(root: etree._Element, base: str) -> None:
    """Map page markup onto the allowlist in place; URLs made absolute, http(s) only."""
    etree.strip_elements(root, *_DROPPED_WITH_CONTENT, with_tail=False)
    # trafilatura's html output marks bold/italic with <b>/<i> and keeps its own rend attributes
    for element in list(root.iter()):
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag in _RENAMES:
            element.tag = _RENAMES[tag]
        elif tag == "tr":
            element.tag = "p"
            for cell in element.iter("td", "th"):
                cell.tail = " " + (cell.tail or "")
        elif tag == "a":
            href = (element.get("href") or "").strip()
            absolute = join_http(base, href) if not href.startswith("#") else None
            if absolute is not None:
                element.attrib.clear()
                element.set("href", absolute)
            else:
                element.attrib.clear()  # in-page anchors and javascript: links keep their text only
        elif tag == "img":
            src = image_source(element, base)
            if src is None:
                drop_tree(element)
                continue
            alt = element.get("alt")
            element.attrib.clear()
            element.set("src", src)
            if alt:
                element.set("alt", alt)
    for element in list(root.iter(*_CONTAINERS)):
        if element is root:
            continue
        parent = element.getparent()
        in_figure = parent is not None and parent.tag == "figure"
        if element.tag not in ("span", "font", "picture") and not in_figure and not _has_block_child(element):
            element.tag = "p"
            element.attrib.clear()
        elif element.getparent() is not None:
            drop_tag(element)
    for hr in list(root.iter("hr")):
        drop_tree(hr)


def sanitize(html: str) -> str:
    """nh3 with exactly the contract's allowlist: the guarantee that nothing executable gets through."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style", "iframe", "noscript", "template", "object", "embed", "svg",
                            "math", "form", "textarea", "select", "button"},
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes={"http", "https"},
        link_rel=None,
        strip_comments=True,
    )


def _fragment(html: str) -> etree._Element:
    wrapper = lxml.html.fragment_fromstring(html or "", create_parent="div")
    return wrapper


def clean_body_fragment(body_html: str) -> etree._Element:
    """body_html parsed back, so body_text is derived from exactly what body_html says."""
    return _fragment(body_html)


def _append_text(paragraph: etree._Element, text: str) -> None:
    if len(paragraph):
        paragraph[-1].tail = (paragraph[-1].tail or "") + text
    else:
        paragraph.text = (paragraph.text or "") + text


def _wrap_loose_inline(wrapper: etree._Element) -> None:
    """Text or inline elements lying directly in the body become paragraphs of their own."""
    blocks: list[etree._Element] = []
    current: etree._Element | None = None

    def open_paragraph() -> etree._Element:
        nonlocal current
        if current is None:
            current = lxml.html.Element("p")
            blocks.append(current)
        return current

    if wrapper.text and wrapper.text.strip():
        _append_text(open_paragraph(), wrapper.text)
    wrapper.text = None
    for child in list(wrapper):
        tail, child.tail = child.tail, None
        wrapper.remove(child)
        if child.tag in BLOCK_TAGS:
            current = None
            blocks.append(child)
        else:
            open_paragraph().append(child)
        if tail and (tail.strip() or current is not None):
            _append_text(open_paragraph(), tail)
    for block in blocks:
        wrapper.append(block)


def _is_empty(element: etree._Element) -> bool:
    if element.tag in ("img", "br"):
        return False
    return not collapse(element.text_content()) and element.find(".//img") is None


def block_text(element: etree._Element) -> str:
    """The block's text, a <br> counting as a space (text_content() would glue the lines together)."""
    parts: list[str] = []
    for event, node in etree.iterwalk(element, events=("start", "end")):
        if event == "start":
            parts.append(" " if node.tag == "br" else (node.text or ""))
        elif node is not element:
            parts.append(node.tail or "")
    return collapse("".join(parts))


def paragraphs(wrapper: etree._Element) -> list[str]:
    """One string per text block: leaf blocks as they are, loose text around nested blocks on its own.

    Figures (image and caption) are left out: body_text is the article's prose, and captions read as
    stray sentences in it (the benchmark's reference texts leave them out too). body_html keeps them.
    """
    out: list[str] = []

    def walk(element: etree._Element) -> None:
        if element.tag == "figure":
            return
        if not any(isinstance(c.tag, str) and c.tag in BLOCK_TAGS for c in element.iterdescendants()):
            text = block_text(element)
            if text:
                out.append(text)
            return
        pending = [element.text or ""]
        for child in element:
            if child.tag in BLOCK_TAGS:
                loose = collapse("".join(pending))
                if loose:
                    out.append(loose)
                pending = []
                walk(child)
            else:
                pending.append(block_text(child) + " ")
            pending.append(child.tail or "")
        loose = collapse("".join(pending))
        if loose:
            out.append(loose)

    for child in wrapper:
        walk(child)
    return out


def clean_body(body: etree._Element, base: str) -> etree._Element:
    """The body as a <div> whose children are allowlisted blocks; URLs absolute; nothing executable.

    `body` is consumed (changed in place): the body layers hand over elements nobody else reads, so
    there is no copy to pay for.
    """
    working = body
    working.tail = None
    _normalize(working, base)
    inner = (working.text or "") + "".join(
        etree.tostring(child, encoding="unicode", method="html") for child in working
    )
    wrapper = _fragment(sanitize(inner))
    _wrap_loose_inline(wrapper)
    for element in list(wrapper.iter()):
        if element is not wrapper and element.getparent() is not None and _is_empty(element):
            if element.tag not in BLOCK_TAGS and element.text and element.text.isspace():
                drop_tag(element)  # <strong>&nbsp;</strong> between two words: the space stays
            else:
                element.drop_tree()
    return wrapper


def serialize(wrapper: etree._Element) -> str:
    """The wrapper's children as HTML, one block per line; sanitized once more so the output is exact."""
    html = "\n".join(etree.tostring(child, encoding="unicode", method="html").strip() for child in wrapper)
    return sanitize(html)
