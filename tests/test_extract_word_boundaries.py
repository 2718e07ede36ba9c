"""Every word boundary of the source survives into body_html and body_text (issue 12, cause 2).

trafilatura trims the texts it copies, so spaces at the edges of inline elements vanished and words
fused: `<a><em>HBO Go</em></a> <em>and</em>` read "HBO Goand". The pages are minimal and of the kinds
that fuse: adjacent inline elements separated by a space only, a space inside an element's edge,
an element holding only a no-break space. Both extractors are checked.
"""
from __future__ import annotations

import re

import lxml.html
import pytest

from worker.extract import extract_article
from worker.extract.structured_body import jsonld_body_text

URL = "https://news.example.org/2024/05/streaming.html"
PROSE = " ".join(["The service is reachable on many devices and the company keeps adding more of them."] * 3)
CASES = [
    ("<a href='/x'><em>HBO Go</em></a> <em>and</em> <a href='/y'>HBO Now</a>", "HBO Go and HBO Now"),
    ("the <b>best </b>deal<i> this</i> year", "the best deal this year"),
    ("the closed<strong>&nbsp;</strong><a href='/g'>Facebook</a> group", "the closed Facebook group"),
    ("<span>one</span> <span>two</span> <code>three</code>", "one two three"),
]


def _page(sentence: str) -> str:
    return (f"<html><head><title>Streaming</title></head><body><h1>Streaming</h1><article><p>{PROSE}</p>"
            f"<p>You can watch it: {sentence}, the company says in a statement today.</p><p>{PROSE}</p>"
            "</article></body></html>")


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text))


@pytest.mark.parametrize("by_density", [False, True], ids=["trafilatura", "density"])
@pytest.mark.parametrize("markup,expected", CASES, ids=[c[1] for c in CASES])
def test_inline_elements_keep_the_spaces_between_words(markup: str, expected: str, by_density: bool) -> None:
    article = extract_article(_page(markup), URL, by_density=by_density)
    assert _words(expected) in _words(article.body_text)
    # body_html as a browser reads it says the same words
    html_text = lxml.html.fromstring(f"<div>{article.body_html}</div>").text_content()
    assert _words(expected) in _words(html_text)
    assert "\ue000" not in article.body_html + article.body_text


def test_links_around_formatting_are_kept() -> None:
    article = extract_article(_page(CASES[0][0]), URL)
    assert '<a href="https://news.example.org/x"><em>HBO Go</em></a>' in article.body_html


def test_a_declared_html_body_keeps_paragraph_breaks_as_word_breaks() -> None:
    html = ('<html><head><script type="application/ld+json">{"@type": "NewsArticle", "articleBody": '
            '"<p>Der</p><p>elektrische Hund</p>"}</script></head><body></body></html>')
    assert _words(jsonld_body_text(lxml.html.fromstring(html))) == "Der elektrische Hund"


def test_soft_hyphens_do_not_split_words_in_the_text() -> None:
    article = extract_article(_page("the Mit&shy;tel&shy;al&shy;ter and its wine"), URL)
    assert "the Mittelalter and its wine" in article.body_text
