"""Find the article body: the source's own CSS selector when configured, else generic extraction.

Generic extraction puts candidates side by side and votes (news-please style): trafilatura's block
scoring on the page, the body the page declares in microdata (itemprop="articleBody") and the JSON-LD
articleBody. Each has its failure: block scoring sometimes picks a paywall or reprint notice, or keeps
a caption or teaser next to the article; declarations are sometimes teasers or wrap furniture. The
vote keeps block scoring's structure and uses a declaration as the article's boundary, or as the
body itself when block scoring plainly missed it.

Body extraction runs last and changes the shared tree in place (see document.py); every element it
hands back is raw page HTML that clean.py turns into the allowlisted form.
"""
from __future__ import annotations

from typing import Callable

import lxml.html
from lxml import etree

from worker.config import Selectors
from worker import css
from worker.extract.boilerplate import remove_boilerplate, strip_non_content
from worker.extract.density_body import density_body
from worker.extract.document import drop_tree
from worker.extract.figures import restore_figures
from worker.extract.structured_body import (
    ON_PAGE_SHARE, covered, jsonld_body, jsonld_body_text, microdata_body, microdata_elements, shingles, tokens,
)
from worker.extract.trafilatura_body import trafilatura_body

# block scoring "plainly missed" a declared body when less than this share of its text lies inside it
_MISSED = 0.5
# a declaration bounds the article only when it is at least this long relative to the extracted text:
# a shorter one is a summary, and bounding by it would cut the article
_FULL_TEXT_RATIO = 0.8
# an extracted block is outside the declared article when less than this share of it is in there
_INSIDE = 0.5


def selected_body(
    root: etree._Element, selectors: Selectors, leave_out: list[etree._Element]
) -> etree._Element | None:
    """The body the source's selector names, boilerplate removed; None when the selector finds nothing.

    Nothing in the tree changes when the selector finds nothing, so generic extraction can still run.
    """
    if not selectors.body:
        return None
    found = css.select(root, selectors.body)
    if not found:
        return None
    for element in leave_out:  # the headline and lead figure are carried elsewhere in the article
        drop_tree(element)
    found = [e for e in found if e.getparent() is not None or e is root]
    if not found:
        return None
    body = found[0]
    if len(found) > 1:
        # several matches (a body split around ads): keep them all, in page order
        body = lxml.html.Element("div")
        for part in found:
            part.tail = None
            body.append(part)
    remove_boilerplate(body, link_boxes=True)
    return body


def generic_body(
    root: etree._Element, leave_out: list[etree._Element] | None = None, by_density: bool = False
) -> etree._Element | None:
    """The body by generic extraction: structural clean-up, block scoring, then the vote with declarations.

    Block scoring is trafilatura's by default. `by_density` selects our own one-pass extractor
    (density_body.py): faster, not yet as exact, so it is opt-in while it is measured against the
    default on the benchmarks (bench/extraction.py); trafilatura still runs when it finds no region.

    The headline and lead figure are not cut out beforehand: trafilatura's choice of the main block
    depends on its surroundings, and removing them can make it pick the wrong one. They are removed
    from its output instead (repeats.py); `leave_out` only keeps the lead figure from being put back.
    """
    jsonld_text = jsonld_body_text(root)  # before the clean-up below strips the <script> holding it
    leave_out = leave_out or []
    strip_non_content(root)
    extracted = density_body(root, leave_out) if by_density else None
    from_density = extracted is not None
    if extracted is None:
        # link boxes are left to trafilatura, which judges link density per block in context
        remove_boilerplate(root, link_boxes=False, stripped=True)
        extracted = trafilatura_body(root)
        if not _text(extracted):
            # block scoring found nothing (a page built without the markup it expects): the densest
            # region of the page, when there is one, is the better guess
            region = density_body(root, leave_out)
            if region is not None:
                extracted, from_density = region, True
    extracted_text = _text(extracted)

    chosen = None
    marked = microdata_elements(root)
    if marked:
        marked_text = " ".join(_text(e) for e in marked)
        chosen = _vote(extracted, extracted_text, marked_text, lambda: microdata_body(marked))
    if chosen is None and jsonld_text:
        page = shingles(_text(root.find("body") if root.find("body") is not None else root))
        chosen = _vote(extracted, extracted_text, jsonld_text, lambda: jsonld_body(jsonld_text, page),
                       on_page=page)
    if chosen is None:
        chosen = extracted
    if chosen is not None and chosen is extracted and not from_density:
        # a declared microdata body still holds its figures; trafilatura's output never does
        restore_figures(chosen, root, leave_out)
    return chosen


def _vote(
    extracted: etree._Element | None,
    extracted_text: str,
    declared_text: str,
    declared_body: Callable[[], etree._Element | None],
    on_page: set | None = None,
) -> etree._Element | None:
    """The body given one declaration: the declared body when block scoring missed it, the extracted
    body bounded by the declaration when the declaration is the full text, else None (no opinion)."""
    declared = shingles(declared_text)
    if on_page is not None and covered(declared, on_page) < ON_PAGE_SHARE:
        return None  # declared text that is not on the page: another version or another article
    full_text = len(declared_text) >= _FULL_TEXT_RATIO * len(extracted_text)
    if not full_text:
        return None
    if extracted is None or covered(shingles(extracted_text), declared) < _MISSED:
        return declared_body()
    _drop_blocks_outside(extracted, declared, f" {' '.join(tokens(declared_text))} ")
    return extracted


def _drop_blocks_outside(body: etree._Element, declared: set, declared_tokens: str) -> None:
    """Remove the extracted blocks that are not part of the declared article (captions, teasers, notices)."""
    for block in list(body):
        words = tokens(_text(block))
        if not words:
            continue
        if len(words) < 4:  # too short for word sequences: look for the words in order instead
            inside = f" {' '.join(words)} " in declared_tokens
        else:
            inside = covered(shingles(" ".join(words)), declared) >= _INSIDE
        if not inside:
            drop_tree(block)


def _text(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return " ".join(" ".join(element.itertext()).split())
