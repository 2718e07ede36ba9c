"""Structure survives generic extraction: subheadings, lists, quotes, absolute links, emphasis and the
article's in-body figures; the declared body (microdata, JSON-LD) rescues or bounds block scoring."""
from __future__ import annotations

import json

import lxml.html
import pytest

from worker.extract import extract_article

URL = "https://news.example.com/world/2024/story.html"
PROSE = " ".join(f"Sentence {i} of this paragraph reports one more specific detail of the event." for i in range(5))


def page(body: str, head: str = "", around: str = "") -> str:
    return (f"<html><head><title>Harbour Reopens</title>{head}</head><body><header><nav><a href='/'>Home</a>"
            f"</nav></header><h1>Harbour Reopens</h1>{around}<article>{body}</article>"
            "<footer><p>Example News, 1 Main Street.</p></footer></body></html>")


@pytest.fixture(scope="module")
def structured():
    body = (
        f"<p>{PROSE} <a href='/related/report.html'>the port report</a> said, with <strong>strong words</strong>"
        " and <em>a careful tone</em>.</p>"
        f"<h2>What changes for shipping</h2><p>Second. {PROSE}</p>"
        "<ul><li>Night arrivals resume in June for all vessels.</li><li>Pilot fees fall by a tenth next year.</li></ul>"
        f"<p>Third. {PROSE}</p>"
        '<figure><img src="/img/crane.jpg" alt="Crane"><figcaption>The new crane at the east quay.</figcaption></figure>'
        f"<p>Fourth. {PROSE}</p>"
        "<blockquote><p>We have waited ten long years for this day to finally come, said the harbour master.</p></blockquote>"
        f"<h3>Next steps</h3><p>{PROSE} Final paragraph.</p>"
    )
    return extract_article(page(body), URL)


def test_subheadings_lists_and_quotes_survive(structured) -> None:
    html = structured.body_html
    assert "<h2>What changes for shipping</h2>" in html
    assert "<h3>Next steps</h3>" in html
    assert "<li>Night arrivals resume in June for all vessels.</li>" in html
    assert "<blockquote>" in html and "harbour master" in html


def test_links_absolute_and_emphasis_kept(structured) -> None:
    html = structured.body_html
    assert '<a href="https://news.example.com/related/report.html">the port report</a>' in html
    assert "<strong>strong words</strong>" in html
    assert "<em>a careful tone</em>" in html


def test_in_body_figure_with_caption_kept_in_place(structured) -> None:
    fragment = lxml.html.fragment_fromstring(structured.body_html, create_parent="div")
    figures = fragment.findall("figure")
    assert len(figures) == 1
    figure = figures[0]
    assert figure.find("img").get("src") == "https://news.example.com/img/crane.jpg"
    assert figure.findtext("figcaption") == "The new crane at the east quay."
    # between the paragraphs it sat between on the page
    assert figure.getprevious().text_content().startswith("Third.")
    assert figure.getnext().text_content().startswith("Fourth.")
    # captions are not prose: body_text leaves them out
    assert "east quay" not in structured.body_text


def test_headline_and_furniture_not_in_body(structured) -> None:
    assert "Harbour Reopens" not in structured.body_text
    assert "Main Street" not in structured.body_text
    assert structured.body_text.endswith("Final paragraph.")
    assert structured.body_text.count("\n\n") >= 8  # one paragraph a block


def test_figure_outside_the_article_text_is_not_put_in() -> None:
    card = '<div class="teaser"><figure><img src="/img/other.jpg"><figcaption>Other story</figcaption></figure></div>'
    article = extract_article(page(f"<p>{PROSE}</p><p>{PROSE} End.</p>", around=card), URL)
    assert "other.jpg" not in article.body_html


def test_microdata_article_body_keeps_a_notice_out() -> None:
    # block scoring takes the reprint notice next to the article; the page says where the article is
    notice = " ".join(f"Reprint notice clause {i} restricts copying and distribution of this material." for i in range(6))
    body = "".join(f"<p>Marked paragraph {i}: {PROSE}</p>" for i in range(2))
    html = page(f'<div class="notice"><p>{notice}</p></div><div itemprop="articleBody">{body}</div>')
    article = extract_article(html, URL)
    assert "Marked paragraph 0" in article.body_text and "Marked paragraph 1" in article.body_text
    assert "Reprint notice" not in article.body_text


def test_microdata_article_body_bounds_the_extracted_text() -> None:
    body = "".join(f"<p>Marked paragraph {i}: {PROSE}</p>" for i in range(4))
    stray = "<p>Viewers also watched a video about seven unrelated things that happened on another day.</p>"
    article = extract_article(page(f'<div itemprop="articleBody">{body}</div>{stray}'), URL)
    assert "Marked paragraph 3" in article.body_text
    assert "unrelated things" not in article.body_text


def _jsonld(body: str) -> str:
    data = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Harbour Reopens",
            "articleBody": body}
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_jsonld_article_body_used_when_block_scoring_misses_the_text() -> None:
    paragraphs = [f"Declared paragraph {i}. {PROSE}" for i in range(3)]
    # the text is on the page, but as loose lines block scoring will not take as an article
    loose = "".join(f'<span class="x">{p}</span><br>' for p in paragraphs)
    notice = " ".join(f"Reprint notice clause {i} restricts copying of this material here." for i in range(10))
    html = page(f"<p>{notice}</p>", head=_jsonld("\n\n".join(paragraphs)), around=f"<div>{loose}</div>")
    article = extract_article(html, URL)
    assert article.body_text.split("\n\n")[:3] == paragraphs


def test_jsonld_article_body_not_on_the_page_is_ignored() -> None:
    stale = "\n\n".join(f"An older version of the story said thing number {i} at some length here." for i in range(12))
    html = page(f"<p>{PROSE}</p><p>{PROSE} End.</p>", head=_jsonld(stale))
    article = extract_article(html, URL)
    assert "older version" not in article.body_text
    assert article.body_text.endswith("End.")


def test_jsonld_teaser_does_not_cut_the_article() -> None:
    html = page("".join(f"<p>Paragraph {i}. {PROSE}</p>" for i in range(6)), head=_jsonld(f"Paragraph 0. {PROSE}"))
    article = extract_article(html, URL)
    assert "Paragraph 5." in article.body_text
