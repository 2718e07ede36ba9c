"""Headline: an h1 holding the site name is not "confirmed" by the <title>'s site suffix; a blog's post
title in h2 is found when the h1 is the blog's name; and a page with an article but no <title> or h1
still gets a headline (og:title, JSON-LD, twitter:title, the first heading, the first line)."""
from __future__ import annotations

import json

import pytest

from tests.support.article_html import prose
from worker.errors import ExtractionError
from worker.extract import extract_article
from worker.extract.document import parse
from worker.extract.metadata import extract_metadata

URL = "https://www.example.com/2020/02/03/story"
PROSE = prose("story")


def headline(head: str, body: str) -> str:
    return extract_metadata(parse(f"<html><head>{head}</head><body>{body}</body></html>"), URL).headline


H1 = "The royal split and family struggles: 11 things we learned from the explosive interview"


@pytest.mark.parametrize(("head", "body", "expected"), [
    pytest.param("<title>Apple unveils a smaller iPhone for spring - Gadgeteer</title>"
                 '<meta property="og:title" content="Apple unveils a smaller iPhone for spring">',
                 f"<h1>Gadgeteer</h1><article>{PROSE}</article>", "Apple unveils a smaller iPhone for spring",
                 id="a_site_name_h1_is_not_confirmed_by_the_title_suffix_when_og_title_disagrees"),
    pytest.param("<title>Four Seasons Left » Blog Archive » Interning of Small Integers in Python</title>",
                 f"<h1>Four Seasons Left</h1><div><h2>Interning of Small Integers in Python</h2>{PROSE}</div>",
                 "Interning of Small Integers in Python", id="a_blogs_name_in_h1_gives_way_to_the_post_title_in_h2"),
    pytest.param("<title>About bugs – Vortex Toy Entertainment Company</title>",
                 f"<article><h1>About bugs</h1>{PROSE}</article>", "About bugs",
                 id="a_short_h1_before_a_long_site_suffix_is_still_the_headline"),
    pytest.param("<title>11 things we learned from the interview - Newsnet</title>"
                 '<meta property="og:title" content="What we learned from the explosive interview">',
                 f"<article><h1>{H1}</h1>{PROSE}</article>", H1,
                 id="an_h1_holding_all_of_a_shortened_title_is_the_headline"),
    pytest.param("<title>How to Grow a Lemon Tree from Seed</title>",
                 f"<article>{PROSE}<h2>How to Grow a Lemon Tree from Seed: FAQs</h2>{PROSE}</article>",
                 "How to Grow a Lemon Tree from Seed", id="a_section_h2_that_extends_the_title_is_not_the_headline"),
    pytest.param('<title>NEWS EASY|Schools reopen in May</title><meta property="og:site_name" content="NEWS EASY">',
                 f"<div>{PROSE}</div>", "Schools reopen in May", id="a_site_prefix_without_spaces_around_the_bar"),
])
def test_the_headline_among_title_h1_h2_and_site_name(head: str, body: str, expected: str) -> None:
    assert headline(head, body) == expected


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        ('<meta property="og:title" content="Social Title">', "", "Social Title"),
        (f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", "headline": "Declared Title"})}</script>',
         "", "Declared Title"),
        ('<meta name="twitter:title" content="Card Title">', "", "Card Title"),
        ("", "<h3>A Third-Level Heading</h3>", "A Third-Level Heading"),
        ("", "<h2>A Second-Level Heading</h2>", "A Second-Level Heading"),
    ],
)
def test_a_page_without_title_or_h1_is_not_refused(head: str, body: str, expected: str) -> None:
    html = f"<html><head>{head}</head><body><div>{body}{PROSE}</div></body></html>"
    article = extract_article(html, URL)
    assert article.headline == expected
    assert article.body_text.startswith("Sentence number 0")


def test_the_first_line_of_text_is_the_last_resort() -> None:
    html = (f"<html><body><nav><a href='/'>Home</a></nav><div><p>Council votes to keep the old bridge open. "
            f"The vote was close.</p>{PROSE}</div></body></html>")
    assert extract_metadata(parse(html), URL).headline == "Council votes to keep the old bridge open."
    long_line = "word " * 60
    cut = extract_metadata(parse(f"<html><body><p>{long_line}</p></body></html>"), URL).headline
    assert cut.endswith("…") and len(cut) <= 121


def test_a_page_with_no_text_at_all_is_still_refused() -> None:
    with pytest.raises(ExtractionError, match="no headline"):
        extract_article("<html><body><div><img src='/a.jpg'></div></body></html>", URL)
