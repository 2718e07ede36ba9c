"""The metadata layer's shared page walk: its sieves must find exactly what a walk of each field's own would."""
from __future__ import annotations

import re

from worker.extract.document import class_tokens, parse
from worker.extract.pageindex import PageIndex

PAGE = """<html><head><title>T</title></head><body>
<div class="Post-Tags" id="x"><b>Tags:</b> <a href="/t/a">A</a></div>
<article id="main-story"><p class="byline">By <span>Jane <i>Q.</i> doe-tail</span> tail-of-span</p>
<p>Body text</p><span itemprop="datePublished">2019-01-02</span></article>
<footer class="site-TAGS">Tags</footer></body></html>"""


def test_word_sieves_find_elements_in_page_order_case_blind_and_by_rel_or_itemprop() -> None:
    root = parse(PAGE)
    index = PageIndex(root)
    found = index.marked(("tags",))
    assert [e.tag for e in found] == ["div", "footer"]
    assert [e.tag for e in index.marked(("datepublished",))] == ["span"]
    # a pattern sieve gives the same elements as the words
    assert index.marked(re.compile("tags")) == found


def test_tokens_are_class_id_and_role_lowercased() -> None:
    root = parse(PAGE)
    index = PageIndex(root)
    for element in root.iter():
        assert index.tokens(element) == class_tokens(element)


def test_text_nodes_come_back_in_page_order_tails_after_their_subtree() -> None:
    root = parse(PAGE)
    index = PageIndex(root)
    article = next(root.iter("article"))
    nodes = index.texts_within(index.text_nodes(("by", "tail", "body")), article)
    assert [text.strip() for text, _, _ in nodes] == ["By", "doe-tail", "tail-of-span", "Body text"]
    # the "Tags:" label outside the article is not within it
    assert all("Tags" not in text for text, _, _ in nodes)


def test_within_keeps_the_scope_and_its_descendants_only() -> None:
    root = parse(PAGE)
    index = PageIndex(root)
    article = next(root.iter("article"))
    everything = list(root.iter())
    inside = index.within(everything, article)
    assert inside[0] is article
    assert inside == [article, *article.iterdescendants()]
