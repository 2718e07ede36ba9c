"""Inputs that once crashed a parser, kept so they never do again.

regressions/*.bin are the fuzzer's own finds (tests/hostile/fuzz_long.py saves them as
<target>-<sha1>.bin; the target is the file name's prefix). The cases below are the same bugs written
out small, each naming what used to happen.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile import corpus
from worker.discover import DiscoveryParseError, parse_feed, parse_listing
from worker.extract import extract_article

FOUND = sorted(corpus.REGRESSIONS.glob("*.bin"))
PROSE = ("The harbour board approved the new ferry timetable on Monday after months of talks with residents "
         "and the two operators, who will share the crossings from next spring. ") * 3


@pytest.mark.parametrize("path", FOUND, ids=[p.name for p in FOUND])
def test_a_fuzzer_find_no_longer_crashes(path: Path) -> None:
    corpus.TARGETS[path.name.split("-", 1)[0]](path.read_bytes())


def article_page(head: str = "", body: str = "") -> str:
    return (f"<html><head><title>Ferry timetable</title>{head}</head><body><article><h1>Ferry timetable</h1>"
            f"<figure><img src='https://partner.test/ferry.jpg'><figcaption>The ferry</figcaption></figure>"
            f"<p>{PROSE}</p>{body}<p>{PROSE}</p></article><aside>Related: <a href='/x'>x</a></aside></body></html>")


@pytest.mark.parametrize("html", [
    # ValueError "All strings must be XML compatible" when boilerplate removal moved this text
    article_page(body="<div class='share'>Share\x0b\x1b this</div>tail\x01 text"),
    # the same ValueError when clean_body set the href
    article_page(body="<p>See <a href='https://partner.test/a\x01b'>this</a>.</p>"),
], ids=["control-characters-in-moved-text", "control-character-in-href"])
def test_control_characters_in_a_page(html: str) -> None:
    article = extract_article(html.encode("utf-8"), corpus.PAGE_URL)
    corpus.assert_article_safe(article)
    assert "\x01" not in article.body_html and "\x0b" not in article.body_text


def test_a_javascript_og_image_never_replaces_the_lead_figure() -> None:
    """lead_image took og:image over the figure's src without checking its scheme: javascript: got through."""
    article = extract_article(article_page(head="<meta property='og:image' content='javascript:alert(1)'>"),
                              corpus.PAGE_URL)
    assert article.lead_image is not None and article.lead_image.url == "https://partner.test/ferry.jpg"


@pytest.mark.parametrize("head,body", [
    ("<link rel='canonical' href='https://partner.test:99999/ferry.html'>", ""),
    ("<link rel='canonical' href='http://[::1/ferry.html'>", ""),
    ("<base href='http://[::1/'>", "<p><a href='relative.html'>relative</a></p>"),
    ("<meta property='og:image' content='http://[::1/x.jpg'>", "<p><img src='http://[::1/y.jpg'></p>"),
    ("", "<p><a href='http://[::1/z'>bad ipv6</a> <a href='http://partner.test:99999/'>bad port</a></p>"),
], ids=["canonical-port-out-of-range", "canonical-unclosed-ipv6", "base-unclosed-ipv6", "image-unclosed-ipv6",
        "links-bad-host-and-port"])
def test_urls_urllib_cannot_parse_are_skipped(head: str, body: str) -> None:
    article = extract_article(article_page(head=head, body=body), corpus.PAGE_URL)
    corpus.assert_article_safe(article)


def test_a_listing_page_with_an_unparseable_base_href() -> None:
    page = parse_listing(b"<html><head><base href='http://[::1/'></head><body><a href='/a.html'>A</a></body></html>",
                         "https://partner.test/news/", "a")
    assert [c.url for c in page.links] == ["https://partner.test/a.html"]


@pytest.mark.parametrize("reference", [b"&#xD800;", b"&#x110000;", b"&#99999999999999999999;", b"&#0;"],
                         ids=["surrogate", "past-unicode", "too-big-for-chr", "nul"])
def test_invalid_character_references_in_a_feed(reference: bytes) -> None:
    """feedparser raised UnicodeEncodeError / ValueError / OverflowError on these."""
    feed = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T' + reference + b"</title><item><title>A "
            + reference + b"</title><link>https://partner.test/a.html</link></item></channel></rss>")
    assert [c.url for c in parse_feed(feed, corpus.FEED_URL)] == ["https://partner.test/a.html"]


def test_control_characters_in_an_html_feed_title() -> None:
    """_plain handed a type="html" title with a control character to lxml, which raised ValueError."""
    feed = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title><entry>'
            b'<title type="html">&lt;b&gt;Ferry&lt;/b&gt; &#x1B;times</title><link href="https://partner.test/a.html"/>'
            b"<id>a</id></entry></feed>")
    [candidate] = parse_feed(feed, corpus.FEED_URL)
    assert candidate.title == "Ferry times"


def test_feed_bytes_feedparser_cannot_decode_are_refused_by_name() -> None:
    for found in (p for p in FOUND if p.name.startswith("feed-")):
        try:
            parse_feed(found.read_bytes(), corpus.FEED_URL)
        except DiscoveryParseError:
            pass
