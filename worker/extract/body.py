"""Find the article body: the source's own CSS selector when configured, else generic extraction.

Both paths work on a copy of the shared tree (removal is destructive) and hand back one element whose
content is the body, still as raw page HTML; clean.py turns it into the allowlisted form.
"""
from __future__ import annotations

import copy

import lxml.html
import trafilatura
from lxml import etree

from worker.config import Selectors
from worker import css
from worker.extract.boilerplate import remove_boilerplate


def _counterparts(original: etree._Element, clone: etree._Element, elements: list[etree._Element]) -> list:
    """The clone's copies of `elements` of the original tree (same structure, so same paths)."""
    tree = original.getroottree()
    found = []
    for element in elements:
        if element is None:
            continue
        matches = clone.xpath(tree.getpath(element))
        if matches:
            found.append(matches[0])
    return found


def _prepare(root: etree._Element, leave_out: list[etree._Element]) -> etree._Element:
    """A copy of the page with `leave_out` (lead figure, headline) removed."""
    clone = copy.deepcopy(root)
    for element in _counterparts(root, clone, leave_out):
        if element.getparent() is not None:
            element.drop_tree()
    return clone


def selected_body(
    root: etree._Element, selectors: Selectors, leave_out: list[etree._Element]
) -> etree._Element | None:
    """The body the source's selector names, boilerplate removed; None when the selector finds nothing."""
    if not selectors.body:
        return None
    clone = _prepare(root, leave_out)
    found = css.select(clone, selectors.body)
    if not found:
        return None
    body = found[0]
    if len(found) > 1:
        # several matches (a body split around ads): keep them all, in page order
        body = lxml.html.Element("div")
        for part in found:
            body.append(copy.deepcopy(part))
    remove_boilerplate(body, link_boxes=True)
    return body


def generic_body(root: etree._Element, url: str) -> etree._Element | None:
    """The body by generic extraction: structural clean-up, then trafilatura's block scoring.

    The headline and lead figure are not cut out beforehand: trafilatura's choice of the main block
    depends on its surroundings, and removing them can make it pick the wrong one. They are removed
    from its output instead (repeats.py).
    """
    clone = copy.deepcopy(root)
    # link boxes are left to trafilatura, which judges link density per block in context
    remove_boilerplate(clone, link_boxes=False)
    html = trafilatura.extract(
        clone, url=url, output_format="html", favor_precision=True, include_comments=False,
        include_formatting=True, include_links=True, include_images=False, include_tables=True,
        with_metadata=False, deduplicate=False,
    )
    if not html:
        return None
    document = lxml.html.document_fromstring(html)
    return document.find("body") if document.find("body") is not None else document
