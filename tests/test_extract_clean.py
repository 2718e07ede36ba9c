"""body_html is sanitized to the contract's allowlist; body_text is derived from it, one paragraph a block."""
from __future__ import annotations

import re

import lxml.html
import pytest

from worker.config import Selectors, Source
from worker.extract import extract_article
from worker.extract.clean import ALLOWED_TAGS, clean_body, paragraphs, sanitize, serialize

URL = "https://news.example.com/section/story.html"
PROSE = " ".join(f"This is sentence {i} of a long enough paragraph for extraction to keep it." for i in range(5))
SOURCE = Source(id="s", name="S", allowed_domains=["example.com"], selectors=Selectors(body=".body"))

HOSTILE_BODY = f"""
<div class="body">
  <p onclick="steal()">{PROSE} <a href="javascript:alert(1)">bad link</a> and
     <a href="/relative/page" target="_blank" style="color:red">a relative link</a>.</p>
  <script>alert("x")</script>
  <style>p {{ color: red }}</style>
  <iframe src="https://evil.example/frame"></iframe>
  <div>{PROSE} <b>bold</b> <i>italic</i><br>after break</div>
  <h1>Sub heading one</h1><h5>Small heading</h5>
  <table><tr><td>cell one</td><td>cell two</td></tr></table>
  <figure><img src="/inline.png" onerror="x()" alt="inline"><figcaption>Inline caption</figcaption></figure>
  <ul><li>first item</li><li>second <em>item</em></li></ul>
  <blockquote><p>Quoted words.</p></blockquote>
</div>"""


@pytest.fixture(scope="module")
def hostile():
    html = f"<html><head><title>Clean Test</title></head><body><h1>Clean Test</h1>{HOSTILE_BODY}</body></html>"
    return extract_article(html, URL, SOURCE)


def test_nothing_executable_survives(hostile) -> None:
    lowered = hostile.body_html.lower()
    for bad in ("<script", "<style", "<iframe", "onclick", "onerror", "javascript:", "alert(", "style=", "target="):
        assert bad not in lowered


def test_only_allowlisted_tags_and_attributes(hostile) -> None:
    fragment = lxml.html.fragment_fromstring(hostile.body_html, create_parent="div")
    for element in fragment.iterdescendants():
        assert element.tag in ALLOWED_TAGS
        allowed = {"a": {"href"}, "img": {"src", "alt"}}.get(element.tag, set())
        assert set(element.attrib) <= allowed


def test_links_and_images_made_absolute(hostile) -> None:
    assert '<a href="https://news.example.com/relative/page">a relative link</a>' in hostile.body_html
    assert '<img src="https://news.example.com/inline.png" alt="inline">' in hostile.body_html
    assert "bad link" in hostile.body_text  # the text of a dangerous link stays, the link does not


def test_markup_mapped_onto_allowlist(hostile) -> None:
    html = hostile.body_html
    assert "<strong>bold</strong>" in html and "<em>italic</em>" in html
    assert "<h2>Sub heading one</h2>" in html and "<h4>Small heading</h4>" in html
    assert "<li>first item</li>" in html
    assert "<blockquote><p>Quoted words.</p></blockquote>" in html


def test_body_text_one_paragraph_per_block(hostile) -> None:
    blocks = hostile.body_text.split("\n\n")
    assert blocks[0].startswith("This is sentence 0") and blocks[0].endswith("a relative link.")
    assert blocks[1].endswith("bold italic after break")
    # the figure stays in body_html (test above) but its caption is not prose
    assert blocks[2:] == ["Sub heading one", "Small heading", "cell one cell two",
                          "first item", "second item", "Quoted words."]
    for block in blocks:
        assert block == re.sub(r"\s+", " ", block).strip()


def test_sanitize_alone_strips_dangerous_markup() -> None:
    out = sanitize('<p onmouseover="x()">hi<script>evil()</script><a href="javascript:x()">l</a>'
                   '<a href="data:text/html,x">d</a><img src="https://ok.example/i.png" onerror="x"></p>')
    assert out == '<p>hi<a>l</a><a>d</a><img src="https://ok.example/i.png"></p>'


def test_loose_text_becomes_paragraphs() -> None:
    body = lxml.html.fragment_fromstring("first loose text<p>a block</p>tail text <em>inline</em> more",
                                         create_parent="div")
    wrapper = clean_body(body, URL)
    assert serialize(wrapper) == "<p>first loose text</p>\n<p>a block</p>\n<p>tail text <em>inline</em> more</p>"
    assert paragraphs(wrapper) == ["first loose text", "a block", "tail text inline more"]


def test_generic_body_drops_boilerplate_by_structure() -> None:
    html = f"""<html><head><title>Structure Test</title></head><body>
    <nav><a href="/a">Home</a> <a href="/b">World</a></nav>
    <article><h1>Structure Test</h1>
      <div class="social-share-tools"><a href="#">Facebook</a> <a href="#">Twitter</a></div>
      <div class="entry"><p>{PROSE}</p>
        <div id="promo-box-newsletter"><p>Get our daily email, it is really quite good you know.</p></div>
        <p>{PROSE} Second.</p>
        <div class="inline-ad-wrapper"><span>Sponsored content label</span></div>
        <p>{PROSE} Third.</p>
      </div>
      <div class="author-bio"><p>The writer writes about things for a living at this publication.</p></div>
      <div class="comments-area"><p>Leave a reply to this article, we read every comment.</p></div>
    </article>
    <aside class="sidebar"><ol><li><a href="/x">Popular story one</a></li></ol></aside>
    </body></html>"""
    article = extract_article(html, URL)
    text = article.body_text
    assert text.count("This is sentence 0") == 3
    for junk in ("Facebook", "daily email", "Sponsored content", "writes about things", "Leave a reply", "Popular story", "Home"):
        assert junk not in text and junk not in article.body_html


def test_css_selectors_for_sources() -> None:
    from worker.css import select

    tree = lxml.html.fromstring(
        '<div id="x"><div class="a b"><p>1</p><p class="c">2</p></div><p data-k="v">3</p><span>4</span></div>'
    )
    texts = lambda sel: [e.text for e in select(tree, sel)]  # noqa: E731
    assert texts("div.a.b > p") == ["1", "2"]
    assert texts(".c, span") == ["2", "4"]
    assert texts('#x [data-k="v"]') == ["3"]
    assert texts("p + p") == ["2"]
    assert texts(".a p") == ["1", "2"]
    assert [e.text for e in select(tree[0], "p")] == ["1", "2"]  # stays inside the subtree it is given


def test_invalid_css_selector_is_a_named_error() -> None:
    from worker.errors import ExtractionError
    from worker.css import compile_css, select

    with pytest.raises(ExtractionError, match="not a valid CSS selector 'p\\['"):
        compile_css("p[")
    tree = lxml.html.fromstring("<div><p>1</p><p>2</p></div>")
    assert [e.text for e in select(tree, "p:nth-child(2)")] == ["2"]
