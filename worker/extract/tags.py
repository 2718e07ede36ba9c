"""The article's tags as the page shows them, else as it declares them.

A page shows its tags as a short run of links: in an element whose class or id says so ("post-tags",
"tags-links", "article__taglist"), after a label ("Tags:", "Themen:", "mot-clé :"), or as links marked
rel="tag" (WordPress and other blog engines). What a reader sees is what the article is filed under;
declared values come after it: article:tag, JSON-LD keywords, news_keywords. The plain
<meta name="keywords"> is left out: it is the one most often the same SEO list on every page of a site.

Site-wide lists look the same as an article's: tag clouds, topic menus, the tags of each teaser in a
"related" rail. They are told apart by where they are (inside navigation, menus, clouds, cards) and by
shape: a tag list is link-dense and each tag is a short phrase.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from lxml import etree

from worker.extract.document import class_tokens, collapse
from worker.extract.pageindex import PageIndex

# a class/id word that names a tag list: tags, post-tags, tags-links, article__taglist, field-name-field-tags
_TAG_CLASS = re.compile(
    r"(?:^|[\s_-])(?:tags?|taglist|tag-list|keywords?|topics|subjects|mots-cles|motscles|schlagw(?:orte|oerter|örter))(?:$|[\s_-])"
)
# the page index's sieve over lowercased class/id words, then this test of class and id as written
_TAG_CLASS_MARK = ("tag", "keyword", "topic", "subject", "cles", "schlagw")
_TAG_CLASS_HINT = re.compile("tag|keyword|topic|subject|cles|schlagw", re.IGNORECASE)  # a cheap test before the full pattern
# a label in front of a tag list, in the languages of our partners' pages; the colon is optional
_LABEL = re.compile(
    r"^\s*(?:tags?|tagged(?:\s+with)?|tagi|keywords?|topics|themen(?:\s+in\s+diesem\s+artikel)?|schlagw(?:orte|örter)|"
    r"stichw(?:orte|örter)|mots?[- ]cl[ée]s?|étiquettes|etiquetas|temas|claves|argomenti|trefwoorden)\s*:?\s*$",
    re.IGNORECASE,
)
# where lists of tags are the site's, not the article's
_SITE_WIDE = re.compile(r"cloud|menu|navbar|navigation|breadcrumb")
# (not <aside>: pages put the article's own keyword box in one beside or below the text)
_SITE_WIDE_TAGS = {"nav", "header"}
# an element repeated this often among its siblings (same tag and class), with this little text, is a
# card in a rail of other stories
_CARD_REPEATS = 3
_CARD_CHARS = 600
_TEASER = etree.XPath(".//*[self::h2 or self::h3 or self::h4 or self::img][1]")
_WORDY = re.compile(r"\w")
# text nodes holding a word a "Tags:" label starts with (lowercased; "étiquettes", "etiquetas": "tiquet"),
# found by the page index's sieve; the label pattern and the tests below decide
_LABEL_WORDS = ("tag", "keyword", "topic", "themen", "schlagw", "stichw", "mot", "tiquet", "temas", "claves", "argomenti",
                "trefwoorden")
# a label is a short text node (XPath's normalize-space: ASCII whitespace only), not in a link or a script
_XML_SPACE = re.compile("[ \t\r\n]+")
_NOT_LABEL_PLACES = ("script", "style", "a", "option")
_LINKS = etree.XPath(".//a")
_SEPARATORS = re.compile(r"[\s,;:|·•/#]+")
_TAGS_WORD = re.compile(r"\btags\b|^(?:show|see|view|load)\s+(?:more|all)\b|^(?:more|mehr|plus|más)$", re.IGNORECASE)
_INLINE = {"span", "strong", "em", "b", "i", "li", "small"}
_MAX_TAGS = 40
_MAX_TAG_WORDS = 6
_MAX_TAG_CHARS = 60
# share of a list's text that its links must hold (the rest is the label and separators)
_MIN_LINK_SHARE = 0.6


def _tag_text(link: etree._Element) -> str:
    return collapse(link.text_content()).lstrip("#").strip(" ,;|·•")


def _is_tag(text: str) -> bool:
    return 2 <= len(text) <= _MAX_TAG_CHARS and len(text.split()) <= _MAX_TAG_WORDS  # "A" … "Z" indexes are not tags


def _card(node: etree._Element) -> bool:
    """One of several like, short siblings holding a heading or a picture: a teaser card in a rail of
    other stories, with its own tags (a grid's rows and columns repeat too, but hold no teaser)."""
    parent = node.getparent()
    if parent is None or node.tag in ("body", "html", "li"):
        return False
    signature = (node.tag, node.get("class"))
    if sum(1 for sibling in parent if (sibling.tag, sibling.get("class")) == signature) < _CARD_REPEATS:
        return False
    return len(collapse(node.text_content())) <= _CARD_CHARS and _TEASER(node) != []


def _site_wide(element: etree._Element, scope: etree._Element | None) -> bool:
    """Inside navigation, a menu, a cloud or a repeated card; the article's own scope ends the search."""
    for node in (element, *element.iterancestors()):
        if node is scope:
            return False
        if node.tag in _SITE_WIDE_TAGS or _SITE_WIDE.search(class_tokens(node)) or _card(node):
            return True
    return False


def _link_texts(links: list[etree._Element]) -> list[str] | None:
    texts = [_tag_text(a) for a in links]
    # "…", "+" and icon links are not tags, nor "All tags" / "Mostrar todos los tags"
    texts = [t for t in texts if _WORDY.search(t) and not _TAGS_WORD.search(t)]
    if not texts or len(texts) > _MAX_TAGS or not all(_is_tag(t) for t in texts):
        return None
    return texts


def _squeezed(text: str) -> int:
    return len(_SEPARATORS.sub("", text))


def _list_tags(container: etree._Element, label: str = "") -> list[str] | None:
    """The tags of a link list, or None when the element is not shaped like one: its links hold most
    of its text (the rest is the label and separators)."""
    if container.tag == "a":
        # a lone tag link, not a link in a sentence of the article ("auto-tag" links in the text)
        parent = container.getparent()
        text, around = collapse(container.text_content()), collapse(parent.text_content()) if parent is not None else ""
        return _link_texts([container]) if len(around) <= 3 * len(text) + 20 else None
    links = list(container.iter("a"))
    # rel="tag" marks the tags among a post's meta links (date, author, category, comments)
    marked = [a for a in links if _rel_tag(a)]
    if marked:
        return _link_texts(marked)
    texts = _link_texts(links)
    if not texts:
        return None
    whole = collapse(container.text_content())
    if label and whole.casefold().startswith(label.casefold()):
        whole = whole[len(label):]
    rest = _squeezed(whole)
    linked = sum(_squeezed(collapse(a.text_content())) for a in links)  # "Show more" is a link too
    return texts if not rest or linked / rest >= _MIN_LINK_SHARE else None


def _label_owners(index: PageIndex) -> list[tuple[str, etree._Element]]:
    """(text, the element it belongs to) of each short text node in <body> that may be a label, in page
    order ("<b>…</b> Tags:" belongs to the <b>'s parent, after the <b>)."""
    found: list[tuple[tuple[int, int], str, etree._Element]] = []
    for text, element, is_text in index.text_nodes(_LABEL_WORDS):
        if not 2 < len(_XML_SPACE.sub(" ", text.strip(" \t\r\n"))) < 40:
            continue
        owner = element if is_text else element.getparent()
        if owner is None:
            continue
        places = {owner.tag, *(a.tag for a in owner.iterancestors())}
        if "body" not in places or places & set(_NOT_LABEL_PLACES):
            continue
        found.append((index.text_order(element, is_text), text, owner))
    found.sort(key=lambda item: item[0])
    return [(text, owner) for _, text, owner in found]


def _labelled_lists(root: etree._Element, index: PageIndex) -> Iterable[tuple[etree._Element, str]]:
    """(list element, label) for each "Tags:" style label: the list is the element the label opens when
    that holds links ("Tags: <a>…"), else the label element's parent when that holds links, else the
    element right after the label."""
    for text, owner in _label_owners(index):
        label = collapse(text)
        if not _LABEL.match(label):
            continue
        if _LINKS(owner):
            yield owner, label
        elif collapse(owner.text_content()) == label:
            # the label's outermost element ("<h3><span>Temas</span></h3>"), then what holds the list
            while (owner.getparent() is not None and owner.getparent().tag != "body"
                   and collapse(owner.getparent().text_content()) == label):
                owner = owner.getparent()
            parent, following = owner.getparent(), owner.getnext()
            if parent is not None and _LINKS(parent):
                yield parent, label
            elif following is not None:
                yield following, ""


def _rel_tag(link: etree._Element) -> bool:
    """rel="tag", not rel="category tag": a category is the section, not a tag."""
    rel = (link.get("rel") or "").lower().split()
    return "tag" in rel and "category" not in rel


def _rel_tag_blocks(root: etree._Element) -> Iterable[etree._Element]:
    """The block holding each run of rel="tag" links."""
    blocks: list[etree._Element] = []
    for link in root.iter("a"):
        if _rel_tag(link):
            block = next((a for a in link.iterancestors() if a.tag not in _INLINE), None)
            if block is not None and block not in blocks:
                blocks.append(block)
    return blocks


def _candidates(root: etree._Element, index: PageIndex) -> dict[etree._Element, tuple[int, str]]:
    """{element: (how many signals say it is a tag list, its label)}: a class word, a label, rel="tag"."""
    found: dict[etree._Element, tuple[int, str]] = {}

    def add(element: etree._Element, label: str = "") -> None:
        signals, known = found.get(element, (0, ""))
        found[element] = (signals + 1, known or label)

    for node in index.marked(_TAG_CLASS_MARK):
        if not (_TAG_CLASS_HINT.search(node.get("class") or "") or _TAG_CLASS_HINT.search(node.get("id") or "")):
            continue  # the sieve also reads role, rel and itemprop
        if node not in found and node.tag not in ("meta", "link", "script", "style", "body", "html") \
                and _TAG_CLASS.search(index.tokens(node)):
            add(node)
    for node, label in _labelled_lists(root, index):
        add(node, label)
    for block in _rel_tag_blocks(root):
        add(block)
    return found


def visible_tags(root: etree._Element, scope: etree._Element | None = None, declared: Iterable[str] = (),
                 index: PageIndex | None = None) -> list[str]:
    """The page's shown tag list: the one that most signals mark as one, then the one that agrees most
    with the declared tags, then the one inside the article's scope, then the longest. [] when the page
    shows none."""
    declared_keys = {t.casefold() for t in declared}
    best: tuple[tuple[int, int, int, int], list[str]] | None = None
    found: dict[etree._Element, tuple[int, list[str]]] = {}
    for container, (signals, label) in _candidates(root, index or PageIndex(root)).items():
        if not _site_wide(container, scope):
            tags = _list_tags(container, label)
            if tags:
                found[container] = (signals, tags)
    for container, (signals, tags) in found.items():
        if len(tags) == 1 and any(ancestor in found for ancestor in container.iterancestors()):
            continue  # one tag of a list that is itself a candidate: the list speaks for it
        inside = scope is not None and any(a is scope for a in container.iterancestors())
        key = (signals, len(declared_keys & {t.casefold() for t in tags}), int(inside), len(tags))
        if best is None or key > best[0]:
            best = (key, tags)
    return unique(best[1]) if best else []


def declared_tags(value: Any) -> list[str]:
    """Tags from a JSON-LD keywords value or meta contents: a comma-separated string, a list of strings,
    or DefinedTerm-like objects with a name."""
    items = value if isinstance(value, list) else [value]
    tags: list[str] = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str):
            tags.extend(collapse(t) for t in item.split(","))
    return unique(tags)


def unique(tags: Iterable[str]) -> list[str]:
    """Non-empty tags, case-insensitively de-duplicated, in the order first seen."""
    seen: set[str] = set()
    return [t for t in tags if t and not (t.casefold() in seen or seen.add(t.casefold()))]


def find_tags(root: etree._Element, scope: etree._Element | None, jsonld_keywords: Any,
              meta: dict[str, list[str]], index: PageIndex | None = None) -> list[str]:
    """What the page shows, else article:tag, else JSON-LD keywords, else news_keywords."""
    declared = (declared_tags(meta.get("article:tag", [])) or declared_tags(jsonld_keywords)
                or declared_tags(meta.get("news_keywords", [])))
    return visible_tags(root, scope, declared, index) or declared
