"""Where the page shows who wrote the article, and whose names win when sources disagree.

The visible byline is an element marked as one (rel=author, itemprop=author, a class with "byline" or
"author"), else the first short line of the article that reads "By NAME" in one of our partners'
languages ("von …", "par …", "Posted by …"): many pages carry nothing else. Comment threads and story
rails are full of "by" lines about other texts, so those parts of the page are never read.
"""
from __future__ import annotations

import re

from lxml import etree

from worker import css
from worker.extract.authors import ORGANIZATION, byline_authors, to_authors
from worker.extract.document import class_tokens, collapse
from worker.extract.pageindex import PageIndex
from worker.schema import Author

# elements marked as a byline are found through the page index's sieve, then tested exactly
_BYLINE_MARK = ("byline", "author")
# class words that mark an element about an author (bio boxes, avatars) rather than the byline itself
_NOT_BYLINE = re.compile(r"bio|thumb|avatar|image|photo|img|about|box|social|more|follow|comment|form|flyout")
# "By Jane Doe", "Posted by", "von", "par", "por", "door", "di", "av", "af", "przez", then a capital letter
_BY_LINE = re.compile(
    r"^(?:(?:posted|written|published|reported|story|text|publicado)\s+(?:by|por)|by|von|par|por|door|di|av|af|przez)"
    r"\s*:?\s+",
    re.IGNORECASE,
)
# text nodes that may open a byline, found by the page index's sieve over lowercased text; the by-word
# is then checked on the text itself
_BY_SIEVE = re.compile(r"(?<![^\x00])\s*(?:posted|written|published|reported|story|text|publicado|by|von|par|por|door|di|av|af|przez)")
_BY_WORD = re.compile(r"(?:posted|written|published|reported|story|text|publicado|by|von|par|por|door|di|av|af|przez)\b",
                      re.IGNORECASE)
# elements whose text can be a byline line (not the <body> or a whole section)
_LINE_TAGS = {"p", "div", "span", "li", "address", "h4", "h5", "h6", "i", "em", "small", "strong", "b", "time", "a", "td"}
_NOT_ARTICLE = re.compile(r"comment|related|recommend|teaser|sidebar|footer|widget|nav|menu|caption|credit|photo|foto")
_MAX_LINE = 120
_PICTURE = re.compile(r"caption|credit|photo|foto|picture|figure")
_POST_CLASSES = ("tag-", "category-", "format-", "has-", "post-")


def _marked_byline(element: etree._Element) -> bool:
    """rel="author", an itemprop naming the author, or a class with "byline" or "author" (case as written)."""
    cls = element.get("class") or ""
    return (element.get("rel") == "author" or "author" in (element.get("itemprop") or "")
            or "byline" in cls or "author" in cls)


def _in_picture(element: etree._Element, tokens=class_tokens) -> bool:  # noqa: ANN001
    """A photo's credit ("<span class=author>Photo: …</span>" in a caption) names the photographer."""
    for node in [element, *element.iterancestors()][:4]:
        if node.tag in ("figure", "figcaption"):
            return True
        # a WordPress post's own classes ("tag-foto", "format-image") say what the post is about
        if node.tag not in ("article", "main", "body") and any(
                _PICTURE.search(token) for token in tokens(node).split() if not token.startswith(_POST_CLASSES)):
            return True
    return False


def spaced_text(element: etree._Element | None) -> str:
    """Text with a space between elements: "Meg James" + "Staff Writer" must not run together."""
    return collapse(" ".join(element.itertext())) if element is not None else ""


def _outside_article(element: etree._Element) -> bool:
    return any(_NOT_ARTICLE.search(class_tokens(a)) or a.tag in ("figcaption", "nav", "footer", "aside")
               for a in (element, *element.iterancestors()) if isinstance(a.tag, str))


def _line_of(element: etree._Element, is_text: bool) -> etree._Element | None:
    """The element a text node starts: its own element for leading text, for a tail the element it
    follows' parent; "<span>By</span> <a>Jane Doe</a>" is read one level up."""
    owner = element if is_text else element.getparent()
    while owner is not None and owner.tag not in _LINE_TAGS:
        owner = owner.getparent() if owner.tag not in ("body", "html") else None
    return owner


def by_line(scope: etree._Element, index: PageIndex | None = None) -> str:
    """The first short "By NAME" line in the article, the innermost element that holds it; "" if none."""
    index = index or PageIndex(scope)
    for text, owner, is_text in index.texts_within(index.text_nodes(_BY_SIEVE), scope):
        if not text.strip() or not _BY_WORD.match(text.lstrip()):
            continue
        element = _line_of(owner, is_text)
        for candidate in (element, element.getparent() if element is not None else None):
            if candidate is None or not isinstance(candidate.tag, str):
                continue
            text = spaced_text(candidate)
            match = _BY_LINE.match(text) if 4 <= len(text) <= _MAX_LINE else None
            # a name follows, not "by the way"
            if match is None or not text[match.end():match.end() + 1].isupper():
                continue
            if not _outside_article(candidate) and byline_authors(text):
                return text
            break
    return ""


def visible_byline(root: etree._Element, selector: str | None, index: PageIndex | None = None) -> str:
    """The configured byline element, else the first element marked as a byline."""
    chosen = css.select_one(root, selector)
    if chosen is not None:
        return spaced_text(chosen)
    index = index or PageIndex(root)
    for element in index.marked(_BYLINE_MARK):
        if element.tag in ("meta", "link", "img", "script", "body", "html") or not _marked_byline(element):
            continue
        if _NOT_BYLINE.search(index.tokens(element)) or _in_picture(element, index.tokens):
            continue
        text = spaced_text(element)
        if 2 <= len(text) <= 200 and byline_authors(text):
            return text
    return ""


def choose_authors(selected: list[Author], declared: list[Author], meta_named: list[Author],
                   visible: list[Author], site_name: str | None, by_line: list[Author] = ()) -> list[Author]:
    """Configured byline > JSON-LD > meta author > marked byline > a "By NAME" line, except that a marked
    byline naming people wins over declared organisations ("AppleInsider") and over a declared list it
    extends. The "By NAME" line is read only from pages that name nobody anywhere else."""
    if selected:
        return selected
    if not (declared or meta_named or visible):
        return list(by_line)
    declared = to_authors(declared or meta_named, site_name)
    people = [a for a in visible if a.role != ORGANIZATION]
    if declared and people:
        declared_keys = {a.name.casefold() for a in declared}
        visible_keys = {a.name.casefold() for a in visible}
        if all(a.role == ORGANIZATION for a in declared) or declared_keys < visible_keys:
            return visible
    return declared or visible
