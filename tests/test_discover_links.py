"""normalize_link, filter_candidates and parse_listing (selector, pagination, <base href>)."""
from __future__ import annotations

from pathlib import Path

import pytest

from worker.config import Source
from worker.discover import Candidate, filter_candidates, normalize_link, parse_listing
from worker.errors import ExtractionError
from worker.schema import normalize_url

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
BASE = "https://news.example.com/world/index.html"


# --- normalize_link -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("https://news.example.com/a?utm_source=rss&utm_medium=feed&UTM_Campaign=x", "https://news.example.com/a"),
    ("https://news.example.com/a?fbclid=IwAR0abc&id=7", "https://news.example.com/a?id=7"),
    ("https://news.example.com/a?gclid=1&mc_cid=2&mc_eid=3&ref_src=twsrc&igshid=4&_ga=5", "https://news.example.com/a"),
    ("https://news.example.com/a#comments", "https://news.example.com/a"),
    ("HTTPS://News.Example.COM/Path/Case", "https://news.example.com/Path/Case"),  # path case kept
    ("https://news.example.com:443/a", "https://news.example.com/a"),
    ("http://news.example.com:80/a", "http://news.example.com/a"),
    ("http://news.example.com:8080/a", "http://news.example.com:8080/a"),
    ("https://news.example.com", "https://news.example.com/"),
    ("story-2?page=2", "https://news.example.com/world/story-2?page=2"),  # relative → absolute
    ("/politics/x", "https://news.example.com/politics/x"),
    ("//cdn.example.com/x", "https://cdn.example.com/x"),
    # other parameters keep their order and their exact encoding; blank values survive
    ("/s?b=2&utm_term=x&a=1&q=a%20b&flag=", "https://news.example.com/s?b=2&a=1&q=a%20b&flag="),
    ("https://user:pw@news.example.com/a", "https://news.example.com/a"),
    ("http://[2001:db8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
])
def test_normalize_link(raw: str, expected: str) -> None:
    assert normalize_link(raw, BASE) == expected


def test_normalize_link_is_idempotent_and_agrees_with_schema_normalize_url() -> None:
    for raw in ("https://News.Example.com:443/a?x=1&utm_source=y#f", "http://news.example.com/b/?q=%2F"):
        once = normalize_link(raw)
        assert normalize_link(once) == once
        assert normalize_url(once) == once  # the article id of a discovered URL is the id of its canonical form


def test_normalize_link_rejects_an_unparseable_port() -> None:
    with pytest.raises(ValueError):
        normalize_link("http://news.example.com:http/a")


def test_non_http_links_pass_through_for_the_filter_to_drop() -> None:
    assert normalize_link("mailto:desk@example.com", BASE) == "mailto:desk@example.com"
    assert normalize_link("javascript:void(0)#x", BASE) == "javascript:void(0)"


# --- filter_candidates ---------------------------------------------------------------------------

def source(**overrides: object) -> Source:
    fields: dict[str, object] = {"id": "example", "name": "Example Daily", "allowed_domains": ["example.com"]}
    fields.update(overrides)
    return Source(**fields)  # type: ignore[arg-type]


def urls(candidates: list[Candidate]) -> list[str]:
    return [c.url for c in candidates]


def test_filter_keeps_allowed_domains_and_subdomains_only() -> None:
    candidates = [Candidate(url=u) for u in (
        "https://news.example.com/a",
        "https://example.com/b",
        "https://example.com.evil.test/c",  # suffix trick
        "https://notexample.com/d",
        "ftp://example.com/e",
        "mailto:desk@example.com",
        "tag:example.com,2024:f",
    )]
    assert urls(filter_candidates(candidates, source())) == ["https://news.example.com/a", "https://example.com/b"]


def test_filter_include_and_exclude_patterns() -> None:
    candidates = [Candidate(url=f"https://news.example.com/{p}") for p in (
        "world/2024/03/story", "world/2024/03/story/gallery", "video/clip", "opinion/2024/03/column")]
    wanted = source(include=[r"/20\d\d/\d\d/"], exclude=[r"/gallery$", r"^https://news\.example\.com/opinion/"])
    assert urls(filter_candidates(candidates, wanted)) == ["https://news.example.com/world/2024/03/story"]
    assert len(filter_candidates(candidates, source())) == 4  # no patterns: everything on the domain


def test_filter_deduplicates_by_normalized_url_keeping_the_first() -> None:
    first = Candidate(url="https://news.example.com/a", title="from the feed")
    again = Candidate(url="https://NEWS.example.com/a?utm_source=x#top", title="from the sitemap")
    other = Candidate(url="https://news.example.com/b")
    kept = filter_candidates([first, again, other, first], source())
    assert kept == [first, other]


# --- parse_listing --------------------------------------------------------------------------------

LISTING_URL = "https://news.example.com/world"


def listing(name: str, url: str, link_selector: str = "article.card h2 a", next_selector: str | None = "a.next"):
    return parse_listing((FIXTURES / name).read_bytes(), url, link_selector, next_selector)


def test_listing_links_by_selector() -> None:
    page = listing("listing_page1.html", LISTING_URL)
    assert urls(page.links) == [
        "https://news.example.com/world/first-story",  # relative, utm stripped
        "https://news.example.com/world/second-story",  # host case, :443 and fragment gone
        "https://elsewhere.example.org/partner-story",  # kept here; the domain filter is the source's call
    ]  # the nav links are not selected and href="#" (this page) is skipped
    assert page.links[0].title == "First story héadline"  # utf-8 decoded
    assert page.next_url == "https://news.example.com/world?page=2"


def test_listing_selector_may_name_the_box_around_the_link() -> None:
    page = listing("listing_page1.html", LISTING_URL, link_selector="article.card")
    assert urls(page.links)[:2] == ["https://news.example.com/world/first-story",
                                    "https://news.example.com/world/second-story"]
    # the card's first anchor is the image link (no text): the title comes from the card's text
    assert page.links[0].title == "First story héadline"


def test_listing_pagination_until_the_last_page() -> None:
    pages = {
        LISTING_URL: "listing_page1.html",
        "https://news.example.com/world?page=2": "listing_page2.html",
    }
    seen: list[str] = []
    url: str | None = LISTING_URL
    for _ in range(5):  # the poller's max_pages
        if url is None:
            break
        page = listing(pages[url], url)
        seen.extend(urls(page.links))
        url = page.next_url
    assert url is None  # page 2 only has a "previous" link
    # page 2 declares <base href="/archive/">: its relative link resolves against that
    assert seen[-1] == "https://news.example.com/archive/third-story"
    assert len(seen) == 4


def test_listing_next_link_back_to_itself_is_no_next_page() -> None:
    html = '<html><body><a class="s" href="/x">X</a><a class="next" href="#">Next</a></body></html>'
    assert parse_listing(html, LISTING_URL, "a.s", "a.next").next_url is None


def test_listing_without_next_selector_and_with_str_input() -> None:
    html = '<html><body><ul><li><a href="/x">X</a></li><li><a href="javascript:go()">Y</a></li></ul></body></html>'
    page = parse_listing(html, LISTING_URL, "li a")
    assert urls(page.links) == ["https://news.example.com/x"]
    assert page.next_url is None


def test_listing_empty_page_and_bad_selector_are_named_errors() -> None:
    with pytest.raises(ExtractionError):
        parse_listing(b"", LISTING_URL, "a")
    with pytest.raises(ExtractionError):
        parse_listing("<html><body><a href='/x'>x</a></body></html>", LISTING_URL, "a[[")


# --- operator patterns run in linear time -----------------------------------------------------------

#: matching runs in a child process: Python's backtracking `re` holds the GIL for the whole match, so a
#: hang could not be timed out from a thread of this process
_MATCH_A_HOSTILE_LINK = """
import json, sys, time
from worker.config import Source
from worker.discover import Candidate, filter_candidates
source = Source(id="p", name="P", allowed_domains=["news.example.com"], include=[r"/([a-z0-9]+-?)+\\.html$"])
# almost matches, then fails on the last character: a backtracking engine tries every way of splitting
# the run into groups (2**n); 36 characters took Python's re about half an hour
hostile = Candidate(url="https://news.example.com/story-" + "a1" * 4500 + "!html")
fine = Candidate(url="https://news.example.com/world/some-story-2024.html")
started = time.monotonic()
kept = filter_candidates([hostile, fine], source)
print(json.dumps({"kept": [c.url for c in kept], "seconds": time.monotonic() - started}))
"""


def test_a_backtracking_include_pattern_on_a_hostile_link_finishes_in_linear_time() -> None:
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    try:
        result = subprocess.run([sys.executable, "-c", _MATCH_A_HOSTILE_LINK], capture_output=True, text=True,
                                cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("one include pattern against one 9000-character link was still matching after 120 s")
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["kept"] == ["https://news.example.com/world/some-story-2024.html"]
    assert outcome["seconds"] < 5  # microseconds in RE2; a generous bound for a loaded machine
