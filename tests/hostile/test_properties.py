"""Property-based: mutated real pages, feeds, sitemaps and listing pages never crash the parsers.

For every mutant, a parser either returns a result that passes the safety checks of corpus.py (body
allowlisted, only http(s) URLs, UTF-8 clean, nothing executable in what an outlet renders) or refuses
with a named worker.errors.SyndicationError. Any other exception is a crash and fails the test; so
does an input slower than the profile's deadline (a hang) or memory growing past the bound.

CI profile: `hostile-ci` in conftest.py (derandomized, modest example counts). For a longer run:
tests/hostile/fuzz_long.py, or HOSTILE_PROFILE=hostile-dev pytest tests/hostile.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import corpus
from tests.hostile.memory import RSS_BOUND_BYTES, peak_rss_growth

PROFILE = settings.get_profile(os.environ.get("HOSTILE_PROFILE", "hostile-ci"))


@pytest.fixture(scope="module", autouse=True)
def memory_stays_bounded():
    with peak_rss_growth() as growth:
        yield
    assert growth() < RSS_BOUND_BYTES, f"peak RSS grew by {growth() / 2**20:.0f} MB during the property tests"


@settings(PROFILE)
@given(seed=st.sampled_from(corpus.page_seeds()), edits=corpus.edits_strategy)
def test_mutated_article_pages_extract_safely_or_fail_by_name(seed: bytes, edits: list[corpus.Edit]) -> None:
    corpus.run_extract(corpus.apply_edits(seed, edits))


@settings(PROFILE)
@given(seed=st.sampled_from(corpus.page_seeds()[:12]), edits=corpus.edits_strategy, url=st.sampled_from([
    corpus.PAGE_URL, "http://[::1]/x.html", "https://partner.test:8443/a/b/../c.html?utm_source=x#frag",
    "https://xn--bcher-kva.test/ä.html", "https://partner.test/" + "a/" * 200]))
def test_extraction_under_odd_page_urls(seed: bytes, edits: list[corpus.Edit], url: str) -> None:
    corpus.run_extract(corpus.apply_edits(seed, edits), url)


@settings(PROFILE, max_examples=PROFILE.max_examples * 2)
@given(seed=st.sampled_from(corpus.feed_seeds()), edits=corpus.edits_strategy)
def test_mutated_feeds_parse_or_fail_by_name(seed: bytes, edits: list[corpus.Edit]) -> None:
    corpus.run_feed(corpus.apply_edits(seed, edits))


@settings(PROFILE, max_examples=PROFILE.max_examples * 2)
@given(seed=st.sampled_from(corpus.sitemap_seeds()), edits=corpus.edits_strategy)
def test_mutated_sitemaps_parse_or_fail_by_name(seed: bytes, edits: list[corpus.Edit]) -> None:
    corpus.run_sitemap(corpus.apply_edits(seed, edits))


@settings(PROFILE)
@given(seed=st.sampled_from(corpus.listing_seeds()), edits=corpus.edits_strategy)
def test_mutated_listing_pages_parse_or_fail_by_name(seed: bytes, edits: list[corpus.Edit]) -> None:
    corpus.run_listing(corpus.apply_edits(seed, edits))


@settings(PROFILE, max_examples=PROFILE.max_examples * 3)
@given(data=st.binary(max_size=4096), content_type=st.one_of(
    st.just(""), st.sampled_from(["text/html; charset=utf-8", "text/html; charset=bogus", "text/html; charset=",
                                  "text/html; charset=utf-16", "application/xhtml+xml; charset=\"latin1\"",
                                  "text/html; charset=utf-8; charset=koi8-r"]),
    st.text(max_size=60)))
def test_arbitrary_bytes_always_decode(data: bytes, content_type: str) -> None:
    corpus.run_decode(data, content_type)


@settings(PROFILE, max_examples=PROFILE.max_examples * 3)
@given(data=st.binary(max_size=2048))
def test_arbitrary_bytes_in_every_parser(data: bytes) -> None:
    for target in corpus.TARGETS.values():
        target(data)


@settings(PROFILE, max_examples=PROFILE.max_examples * 3)
@given(link=st.text(max_size=200), base=st.sampled_from([None, corpus.PAGE_URL, "http://[::1]:80/", "https://a.test/x?y#z"]))
def test_normalize_link_refuses_only_with_value_error(link: str, base: str | None) -> None:
    """links.normalize_link's contract: a normalized http(s)/other URL, or ValueError (callers skip those)."""
    from worker.http.urls import normalize_link

    try:
        normalize_link(link, base)
    except ValueError:
        pass


def test_the_safety_checks_can_fail() -> None:
    """The properties above are only as strong as the checks; each check must catch what it is for."""
    for unsafe in ('<p onclick="x()">a</p>', '<script>x()</script>', '<a href="javascript:x()">a</a>',
                   '<img src="data:image/png;base64,AA==">', '<iframe src="https://e.test/"></iframe>', '<div>a</div>'):
        with pytest.raises(AssertionError):
            corpus.assert_body_allowlisted(unsafe)
    for unsafe in ('<p><a href="javascript:x()">a</a></p>', '<svg><script>x()</script></svg>', '<img src="data:text/html,x">',
                   '<p style="background:url(x)">a</p>', '<form action="https://e.test/"><input></form>'):
        with pytest.raises(AssertionError):
            corpus.assert_no_active_content(f"<html><body>{unsafe}</body></html>", "a page")
    with pytest.raises(AssertionError):
        corpus.assert_no_active_content('<html><body onload="x()"><p>a</p></body></html>', "a page")
    with pytest.raises(AssertionError):
        corpus.assert_utf8("\udc80", "text")
    corpus.assert_body_allowlisted('<p>ok <a href="https://a.test/">a</a></p><figure><img src="https://a.test/i.jpg" alt="x"></figure>')
