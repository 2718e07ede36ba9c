"""Page furniture, one rule a test: each synthetic page holds the article plus one kind of furniture,
and the test fails when the rule that removes that furniture is taken out.

Structural rules (class/id/role words, link density) are exercised on remove_boilerplate directly and
through a source selector (no block scoring behind them to hide a missing rule); shape rules on the
cleaned body (labels, copyright lines, promos, trailing link lists) on filter_blocks.
"""
from __future__ import annotations

import lxml.html
import pytest

from worker.config import Selectors, Source
from worker.extract import extract_article
from worker.extract.boilerplate import remove_boilerplate
from worker.extract.postfilter import filter_blocks

URL = "https://news.example.com/2024/05/story.html"
PROSE = " ".join(f"Sentence {i} of the story gives the reader one more useful and specific fact." for i in range(6))
ARTICLE = f"<p>{PROSE}</p><p>{PROSE} Second paragraph.</p><p>{PROSE} Third paragraph.</p>"
SELECTOR_SOURCE = Source(id="s", name="S", allowed_domains=["example.com"], selectors=Selectors(body=".story"))

# (name, furniture markup, a phrase only the furniture holds)
STRUCTURAL_FURNITURE = [
    ("share bar", '<div class="share-bar"><a href="/fb">Facebook</a> <a href="/tw">Twitter</a> Share this</div>',
     "Share this"),
    ("related box", '<aside class="related-stories"><h3>Related coverage</h3><p>Other stuff happened elsewhere '
     'today and you can read about it.</p></aside>', "Related coverage"),
    ("more stories box", '<div class="more-stories"><a href="/x">More from our reporters on this beat</a></div>',
     "More from our reporters"),
    ("newsletter sign-up", '<div class="newsletter-box"><p>Get the morning briefing in your inbox every '
     'day, free.</p></div>', "morning briefing"),
    ("ad slot", '<div class="ad-slot"><p>Buy the best widgets at the lowest prices in town today.</p></div>',
     "best widgets"),
    ("author bio", '<div class="author-bio"><p>Jo Writer covers city hall and has worked at the paper since '
     '2009.</p></div>', "covers city hall"),
    ("tag line", '<ul class="article-tags"><li><a href="/t/a">Politics</a></li><li><a href="/t/b">Elections</a>'
     '</li></ul>', "Elections"),
    ("comment section", '<section id="comments"><h3>42 Comments</h3><p>Great article, thanks for writing it '
     'and sharing it with us.</p></section>', "Great article"),
    ("most read list", '<div class="most-read"><h3>Most read</h3><ol><li>Celebrity does thing</li>'
     '<li>Weather turns</li></ol></div>', "Celebrity does thing"),
    ("cookie banner", '<div id="cookie-notice"><p>We use cookies to improve your experience on this site, '
     'accept them.</p></div>', "We use cookies"),
    ("in-body promo box", '<div class="promo"><p>Subscribe now for unlimited access.</p></div>', "unlimited access"),
    ("navigation role", '<div role="navigation"><a href="/">Home</a> <a href="/news">News section</a></div>',
     "News section"),
    ("hidden element", '<div hidden><p>Invisible teaser text for crawlers only.</p></div>', "Invisible teaser"),
    ("link list without class", '<ul><li><a href="/a">First other headline here</a></li><li><a href="/b">'
     'Second other headline here</a></li></ul>', "Second other headline"),
]


@pytest.mark.parametrize("name,furniture,phrase", STRUCTURAL_FURNITURE, ids=[f[0] for f in STRUCTURAL_FURNITURE])
def test_remove_boilerplate_rule(name: str, furniture: str, phrase: str) -> None:
    root = lxml.html.fromstring(f"<div>{ARTICLE[:len(ARTICLE) // 2]}</p>{furniture}{ARTICLE}</div>")
    assert phrase in root.text_content()  # the phrase really is on the page before the rule runs
    # link-density judging only where it is the rule under test, so it cannot hide a missing class rule
    remove_boilerplate(root, link_boxes=name.startswith("link list"))
    text = root.text_content()
    assert phrase not in text, name
    assert "Third paragraph." in text  # the article stays


@pytest.mark.parametrize("name,furniture,phrase", STRUCTURAL_FURNITURE, ids=[f[0] for f in STRUCTURAL_FURNITURE])
def test_selected_body_loses_furniture(name: str, furniture: str, phrase: str) -> None:
    html = (f"<html><head><title>Story Title</title></head><body><h1>Story Title</h1>"
            f'<div class="story"><p>{PROSE}</p>{furniture}{ARTICLE}</div></body></html>')
    article = extract_article(html, URL, SELECTOR_SOURCE)
    assert phrase not in article.body_text and phrase not in article.body_html, name
    assert article.body_text.endswith("Third paragraph.")


def test_element_holding_most_of_the_page_is_never_removed() -> None:
    # a wrapper whose class happens to contain a furniture word still holds the article
    root = lxml.html.fromstring(f'<div><div class="post share-enabled">{ARTICLE}</div></div>')
    remove_boilerplate(root)
    assert "Third paragraph." in root.text_content()


def test_layout_region_with_real_paragraphs_stays() -> None:
    root = lxml.html.fromstring(f'<div><div class="widget Blog">{ARTICLE}</div><div class="sidebar">x</div></div>')
    remove_boilerplate(root)
    assert "Third paragraph." in root.text_content()
    assert root.find(".//div[@class='sidebar']") is None


def _blocks(html: str) -> list[str]:
    wrapper = lxml.html.fragment_fromstring(html, create_parent="div")
    filter_blocks(wrapper)
    return [" ".join(" ".join(b.itertext()).split()) for b in wrapper]


@pytest.mark.parametrize("label", ["Advertisement", "ADVERTISEMENT", "Sponsored content", "Story continues below"])
def test_ad_label_alone_on_its_line_is_dropped(label: str) -> None:
    assert _blocks(f"<p>{PROSE}</p><p>{label}</p><p>Last words.</p>") == [PROSE, "Last words."]


def test_word_advertisement_inside_prose_is_kept() -> None:
    prose = "The advertisement ran for weeks before regulators asked the company to withdraw it."
    assert _blocks(f"<p>{prose}</p>") == [prose]


@pytest.mark.parametrize("line", ["© 2024 Example Media Group", "Copyright 2024 Example Daily. All rights reserved."])
def test_copyright_line_is_dropped(line: str) -> None:
    assert _blocks(f"<p>{PROSE}</p><p>{line}</p>") == [PROSE]


def test_in_body_promo_is_dropped_but_a_linked_sentence_stays() -> None:
    linked = 'Officials <a href="https://e.com/r">released the report</a> on Monday after a long delay.'
    blocks = _blocks(f'<p>{PROSE}</p><p><strong>Read more:</strong> <a href="https://e.com/x">Another story '
                     f"about the city</a></p><p>{linked}</p>")
    assert blocks == [PROSE, "Officials released the report on Monday after a long delay."]


def test_trailing_link_lists_are_dropped_but_a_list_inside_the_text_stays() -> None:
    inner = '<ul><li><a href="https://e.com/1">Source one</a></li><li><a href="https://e.com/2">Source two</a></li></ul>'
    more = '<ul><li><a href="https://e.com/3">More stories</a></li><li><a href="https://e.com/4">Other news</a></li></ul>'
    blocks = _blocks(f"<p>{PROSE}</p>{inner}<p>Closing words of the story.</p>{more}")
    assert blocks == [PROSE, "Source one Source two", "Closing words of the story."]
