"""One walk over the page that every metadata field shares: element order, class/id/role words, short texts.

Bylines, tag lists, datelines and the rails they must not be read from are found by the words in class,
id and role, and tag lists also by a "Tags:" label. libxml2's XPath is slow at those tests
(contains(@class, …) costs about 1 µs per element, translate() for case-folding ten times more) and each
field walking the page again multiplied the cost. So the page is walked once: each element's words are
lowercased and joined into one string, and a field runs a pattern over that string in C (finditer),
mapping the hits back to elements. The pattern is only a sieve (a superset); each field still applies its
exact rule to the few elements it returns, so results are the same as a walk of its own.
"""
from __future__ import annotations

import re
from typing import Union

from lxml import etree

# a sieve: a pattern, or literal lowercase words (much faster, found with str.find)
Sieve = Union[re.Pattern, tuple]


# lines are joined with NUL, which no attribute value or text node of a parsed page holds
_SEPARATOR = "\x00"


class PageIndex:
    """Every element of the page in document order, with its class/id/role words and its text nodes.

    Built before the body layer changes the tree; valid as long as the tree is unchanged.
    """

    def __init__(self, root: etree._Element) -> None:
        elements = list(root.iter(etree.Element))
        words: list[str] = []  # class, id and role, lowercased (document.class_tokens)
        marks: list[str] = []  # the same with rel and itemprop: what the sieves search
        texts: list[str] = []
        # per text node its element and whether it is the element's .text (else its tail); two flat lists,
        # not tuples: fewer objects for the garbage collector to track on a page of thousands of nodes
        owners: list[etree._Element] = []
        kinds: list[bool] = []
        add_word, add_mark, add_text = words.append, marks.append, texts.append
        add_owner, add_kind = owners.append, kinds.append
        for element in elements:
            get = element.get
            cls, ident, role, rel, itemprop = get("class"), get("id"), get("role"), get("rel"), get("itemprop")
            tokens = " ".join(filter(None, (cls, ident, role))).lower() if cls or ident or role else ""
            add_word(tokens)
            add_mark(f"{tokens}\t{rel or ''} {itemprop or ''}".lower() if rel or itemprop else tokens)
            text = element.text
            if text and element.tag not in ("script", "style"):
                add_text(text)
                add_owner(element)
                add_kind(True)
            tail = element.tail
            if tail:
                add_text(tail)
                add_owner(element)
                add_kind(False)
        self.elements = elements
        self.root = root
        self._position = {element: index for index, element in enumerate(elements)}
        self._words = words
        self._marks = _SEPARATOR.join(marks)
        # lowercased so that case-blind sieves run as plain ones (re.IGNORECASE is several times slower);
        # soft hyphens are not there for a reader ("Ta\xadgs" reads "Tags")
        lowered = _SEPARATOR.join(texts).lower()
        self._texts = lowered.replace("\xad", "")
        self._text_nodes = texts
        self._owners = owners
        self._kinds = kinds

    def position(self, element: etree._Element) -> int:
        """Document order of an element (-1 for one not in the tree)."""
        return self._position.get(element, -1)

    def tokens(self, element: etree._Element) -> str:
        """class, id and role of an element in one lowercase string (document.class_tokens)."""
        index = self._position.get(element)
        if index is None:
            return " ".join(filter(None, (element.get("class"), element.get("id"), element.get("role")))).lower()
        return self._words[index]

    def marked(self, sieve: Sieve) -> list[etree._Element]:
        """Elements, in document order, whose lowercased class, id, role, rel or itemprop the sieve finds."""
        return [self.elements[i] for i in self._lines(sieve, "marks")]

    def _lines(self, sieve: Sieve, which: str) -> list[int]:
        text = self._marks if which == "marks" else self._texts
        return _word_lines(sieve, text) if isinstance(sieve, tuple) else _pattern_lines(sieve, text)

    def text_nodes(self, sieve: Sieve) -> list[tuple[str, etree._Element, bool]]:
        """(text, element, is_text) of the text nodes (not in script or style) whose lowercased text the
        sieve finds: the element's .text when is_text, else its .tail. Tails come with their element, not
        in page order: sort by text_order when order matters."""
        return [(self._text_nodes[i], self._owners[i], self._kinds[i]) for i in self._lines(sieve, "texts")]

    def text_order(self, element: etree._Element, is_text: bool) -> tuple[int, int]:
        """Where a text node is in page order: an element's text right after its start; its tail after
        its whole subtree, before the next element, a deeper element's tail first."""
        if is_text:
            return 2 * self._position.get(element, -1) + 1, 0
        return 2 * self._subtree_end(element), -sum(1 for _ in element.iterancestors())

    def _subtree_end(self, element: etree._Element) -> int:
        """Position of the first element after the element's subtree (a subtree is a run of positions)."""
        node = element
        while node is not None:
            following = node.getnext()
            while following is not None and following not in self._position:
                following = following.getnext()
            if following is not None:
                return self._position[following]
            node = node.getparent()
        return len(self.elements)

    def texts_within(self, nodes: list[tuple[str, etree._Element, bool]], scope: etree._Element,
                     ) -> list[tuple[str, etree._Element, bool]]:
        """The text nodes inside the scope (a tail of the scope itself is outside it), in page order."""
        inside = set(self.within([element for _, element, _ in nodes], scope))
        kept = [n for n in nodes if n[1] in inside and (n[2] or n[1] is not scope)]
        return sorted(kept, key=lambda n: self.text_order(n[1], n[2]))

    def within(self, elements: list[etree._Element], scope: etree._Element) -> list[etree._Element]:
        """The elements that are the scope or inside it."""
        first = self._position.get(scope)
        if first is None:
            return [e for e in elements if e is scope or any(a is scope for a in e.iterancestors())]
        end = self._subtree_end(scope)
        return [e for e in elements if first <= self._position.get(e, -1) < end]


def _word_lines(words: tuple[str, ...], text: str) -> list[int]:
    """Indexes of the lines of `text` holding one of the words, in order: str.find runs in C at memory
    speed, where a regex alternation tries each word at every character."""
    hits: list[int] = []
    for word in words:
        at = text.find(word)
        while at != -1:
            hits.append(at)
            end = text.find(_SEPARATOR, at)  # the rest of this line is known to match
            at = text.find(word, end) if end != -1 else -1
    found: list[int] = []
    line, last = 0, 0
    for at in sorted(hits):  # line numbers by counting separators between hits, in C
        line += text.count(_SEPARATOR, last, at)
        last = at
        if not found or found[-1] != line:
            found.append(line)
    return found


def _pattern_lines(sieve: re.Pattern[str], text: str) -> list[int]:
    """Indexes of the lines of `text` the sieve matches, each once, in order (one count over the text)."""
    found: list[int] = []
    line, last = 0, 0
    # once a line matches, the search resumes at the next line: one match per line, however many words
    for match in re.finditer(f"(?:{sieve.pattern})[^{_SEPARATOR}]*", text):
        line += text.count(_SEPARATOR, last, match.start())
        last = match.start()
        if not found or found[-1] != line:
            found.append(line)
    return found
