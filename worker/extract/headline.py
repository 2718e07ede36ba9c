"""The headline as a reader sees it.

Pages declare several titles: the <h1> the reader sees, og:title and JSON-LD headline (often an SEO or
social variant: "Delhi air pollution: The law that's helping..." vs the h1 "The law that's helping fuel
Delhi's deadly air pollution"), and <title> with a " | Site" suffix. The h1 wins when the page's declared
titles confirm it is the article's: most of its words are in one of them and it covers a good part of
that title's own words (a site-name h1 shares all its words with a "Headline | Site" title, but covers
little of it). That rules out h1s holding the site name, "Related stories" and the like; a confirmed
h2 comes next (blogs whose h1 is the blog's name). Otherwise the declared titles are used, JSON-LD
first, with the site suffix removed; a page that declares no title falls back to its first heading,
then to its first line of text.
"""
from __future__ import annotations

import html
import re
from collections.abc import Container

from lxml import etree

from worker.extract.document import collapse, text_of
from worker.extract.pageindex import PageIndex

# headings are found with iter(tag) (walked in C); ".//h1" style XPaths cost several times more
# text nodes a reader sees as the page's first line: not scripts, menus or link lists
_TEXT_NODES = etree.XPath(
    "//body//text()[normalize-space()][not(ancestor::script or ancestor::style or ancestor::noscript or "
    "ancestor::nav or ancestor::header or ancestor::footer or ancestor::a or ancestor::button or "
    "ancestor::select or ancestor::form or ancestor::template)]"
)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s")
_MAX_FIRST_LINE = 120
_HEADLINE_MARK = ("headline",)  # the page index's sieve for itemprop="headline"
# " | The Epoch Times", " - Site", " — Site": the page title's site suffix
_TITLE_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ", " · ", " » ", "|")
_WORD = re.compile(r"\w+")
_MIN_SHARED = 0.6  # of the candidate's words found in the title
_MIN_COVERED = 0.4  # of the words of the title's part that holds them, less the site name's
_MIN_COVERED_H2 = 0.7
_MIN_SHARED_H2 = 1.0  # every word of an h2 is in the title: "Headline: FAQs" is a section
# an h1 that holds (nearly) every word of the title's headline part, with a few more of its own
_TITLE_CONTAINED = 0.9
_MIN_SHARED_CONTAINING = 0.4


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


def _site_part(candidate: str, title: str, declared: set[str], headings: Container[str]) -> bool:
    """True when the candidate is the site-name part of a "Site » Headline" / "Headline | Site" title:
    equal to its first or last part while another part is declared elsewhere (og:title), or is a
    heading of the page with more words than the candidate (the blog's name in h1, the post's in h2)."""
    key = candidate.casefold()
    parts = [p.casefold() for p in _parts(title)]
    if len(parts) < 2 or key not in (parts[0], parts[-1]):
        return False
    size = len(_words(candidate))
    return any(p != key and (p in declared or (p in headings and len(_words(p)) > size)) for p in parts)


def _parts(title: str) -> list[str]:
    """The title cut at its separators ("Site » Section » Headline"), or the whole title."""
    for sep in _TITLE_SEPARATORS:
        if sep in title:
            return [p for p in (part.strip() for part in title.split(sep)) if p]
    return [title]


def confirmed(candidate: str, declared: list[str], site_name: str | None = None,
              evidence: tuple[set[str], Container[str]] = (set(), set()), *, level: int = 1) -> bool:
    """True when a declared title shares most of the candidate's words, and the candidate covers a good
    part of the words of that title's part it shares them with ("Headline" in "Headline | Site"). An h1
    that holds all of a shortened title ("11 things we learned ... - CNN") is confirmed too."""
    words = _words(candidate)
    if not words:
        return False
    site_words = _words(site_name or "")
    min_shared, min_covered = (_MIN_SHARED, _MIN_COVERED) if level == 1 else (_MIN_SHARED_H2, _MIN_COVERED_H2)
    for title in declared:
        if _site_part(candidate, title, *evidence):
            continue
        parts = _parts(title)
        part = max(parts, key=lambda p: len(words & _words(p)))
        longest = part == max(parts, key=len)
        part_words = (_words(part) - site_words) or _words(part)
        shared = len(words & _words(title)) / len(words)
        covered = len(words & _words(part)) / len(part_words) if part_words else 0.0
        if (shared >= min_shared and covered >= min_covered) or (
                level == 1 and longest and covered >= _TITLE_CONTAINED and shared >= _MIN_SHARED_CONTAINING):
            return True
    return False


def first_line(root: etree._Element) -> str:
    """The first line of text a reader sees: its first sentence, at most ~120 characters, cut at a word."""
    for node in _TEXT_NODES(root):
        text = collapse(str(node))
        if len(text) < 3 or not any(ch.isalpha() for ch in text):
            continue
        text = _SENTENCE_END.split(text, maxsplit=1)[0]
        if len(text) > _MAX_FIRST_LINE:
            text = text[:_MAX_FIRST_LINE].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
        return text
    return ""


def _descendants(element: etree._Element, *tags: str) -> list[etree._Element]:
    return list(element.iterdescendants(*tags))


class _HeadingTexts:
    """The casefolded texts of the page's h1–h3, read only when a title's site part must be told apart:
    most pages never ask, and a page can hold a hundred teaser headings."""

    def __init__(self, root: etree._Element) -> None:
        self._root = root
        self._texts: set[str] | None = None

    def __contains__(self, text: object) -> bool:
        if self._texts is None:
            self._texts = {text_of(h).casefold() for h in _descendants(self._root, "h1", "h2", "h3")}
        return text in self._texts


def _unique(elements: list[etree._Element]) -> list[etree._Element]:
    kept: list[etree._Element] = []
    for element in elements:
        if element not in kept:
            kept.append(element)
    return kept


def choose_headline(
    root: etree._Element, scope: etree._Element, site_name: str | None, *, selected: str, declared: list[str | None],
    index: PageIndex | None = None,
) -> str:
    """The configured headline, else the confirmed h1 (then h2), else the best declared title without its
    suffix, else the first heading, else the first line of text."""
    if selected:
        return selected
    titles = [collapse(html.unescape(t)) for t in declared if t and collapse(t)]
    page_title = text_of(root.find(".//title"))
    confirmers = titles + ([page_title] if page_title else [])
    site_key = (site_name or "").casefold()
    index = index or PageIndex(root)
    microdata = [text_of(e) for e in index.marked(_HEADLINE_MARK)
                 if e.get("itemprop") == "headline" and e.tag != "meta" and e is not root]
    scoped_h1 = _descendants(scope, "h1")
    evidence = ({t.casefold() for t in titles}, _HeadingTexts(root))
    for level, headings in ((1, [*scoped_h1, *_descendants(root, "h1")]),
                            (2, [*_descendants(scope, "h2"), *_descendants(root, "h2")])):
        for heading in _unique(headings):
            text = text_of(heading)
            if not text or len(text) > 300 or text.casefold() == site_key:
                continue
            # with no og:/JSON-LD title, the article's own h1 is more telling than a <title> full of SEO
            # an h2 is more often a section's title: it must cover more of the title to be the headline
            if text in microdata or confirmed(text, confirmers, site_name, evidence, level=level) or (
                    level == 1 and not titles and heading in scoped_h1 and not _site_part(text, page_title, *evidence)):
                return text
    for title in confirmers:
        stripped = strip_site_suffix(title, site_name)
        if stripped:
            return stripped
    # a page that declares no title at all: its first heading, else its first line, is all there is
    heading = next((text_of(h) for h in _unique([*_descendants(scope, "h1", "h2", "h3"),
                                                   *_descendants(root, "h1", "h2", "h3")]) if text_of(h)), "")
    return heading or first_line(root)
