"""The headline as a reader sees it.

Pages declare several titles: the <h1> the reader sees, og:title and JSON-LD headline (often an SEO or
social variant: "Delhi air pollution: The law that's helping..." vs the h1 "The law that's helping fuel
Delhi's deadly air pollution"), and <title> with a " | Site" suffix. The h1 wins when the page's declared
titles confirm it is the article's (it shares most of its words with one of them): that rules out h1s
holding the site name, "Related stories" and the like. Otherwise the declared titles are used, JSON-LD
first, with the site suffix removed.
"""
from __future__ import annotations

import html
import re

from lxml import etree

from worker.extract.document import collapse, text_of

_H1 = etree.XPath(".//h1")
_ITEMPROP_HEADLINE = etree.XPath(".//*[@itemprop='headline' and not(self::meta)]")
# " | The Epoch Times", " - Site", " — Site": the page title's site suffix
_TITLE_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ", " · ", " » ")
_WORD = re.compile(r"\w+")
_MIN_SHARED = 0.6


def strip_site_suffix(title: str, site_name: str | None) -> str:
    """The headline without " | Site" style suffixes (or prefixes) that page titles carry."""
    title = collapse(title)
    if site_name:
        site = site_name.casefold()
        for sep in _TITLE_SEPARATORS:
            head, _, tail = title.rpartition(sep)
            if head and (tail.casefold() == site or tail.casefold() in site.split(" | ")):
                return head.strip()
            first, _, rest = title.partition(sep)
            if rest and first.casefold() == site:
                return rest.strip()
    # " | " is almost never part of a real headline; hyphens and dashes are, so they need the site name
    head, _, tail = title.rpartition(" | ")
    if head and len(head) >= len(tail):
        return head.strip()
    return title


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def confirmed(candidate: str, declared: list[str]) -> bool:
    """True when a declared title shares most of the candidate's words (or contains it)."""
    words = _words(candidate)
    if not words:
        return False
    for title in declared:
        other = _words(title)
        if other and len(words & other) / min(len(words), len(other)) >= _MIN_SHARED:
            return True
    return False


def choose_headline(
    root: etree._Element, scope: etree._Element, site_name: str | None, *, selected: str, declared: list[str | None],
) -> str:
    """The configured headline, else the confirmed h1, else the best declared title without its suffix."""
    if selected:
        return selected
    titles = [collapse(html.unescape(t)) for t in declared if t and collapse(t)]
    page_title = text_of(root.find(".//title"))
    confirmers = titles + ([page_title] if page_title else [])
    site_key = (site_name or "").casefold()
    microdata = [text_of(e) for e in _ITEMPROP_HEADLINE(root)]
    seen: set[int] = set()
    for h1 in [*_H1(scope), *_H1(root)]:
        if id(h1) in seen:
            continue
        seen.add(id(h1))
        text = text_of(h1)
        if not text or len(text) > 300 or text.casefold() == site_key:
            continue
        # with no og:/JSON-LD title, the article's own h1 is more telling than a <title> full of SEO
        if text in microdata or confirmed(text, confirmers) or (not titles and h1 in _H1(scope)):
            return text
    for title in titles + ([page_title] if page_title else []):
        stripped = strip_site_suffix(title, site_name)
        if stripped:
            return stripped
    # a page that declares no title at all: its first heading is all there is
    return next((text_of(h) for h in [*_H1(scope), *_H1(root)] if text_of(h)), "")
