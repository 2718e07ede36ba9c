"""Hostile partner XML: entity expansion, external entities, external DTDs, and huge documents must cost
bounded time and memory and never read a local file."""
from __future__ import annotations

import time
import tracemalloc
from pathlib import Path
from typing import Callable, TypeVar

import pytest

from worker.discover import UnsafeXmlError, parse_feed, parse_sitemap
from worker.discover.xmlsafe import screen_feed
from worker.errors import PermanentError

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
URL = "https://news.example.com/feed.xml"
MARKER = "TOP-SECRET-MARKER-7f3a"
T = TypeVar("T")


def measured(call):
    """(exception raised, seconds, peak traced bytes)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        call()
    except Exception as exc:  # the test inspects it
        error = exc
    else:
        error = None
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return error, elapsed, peak


@pytest.mark.parametrize("parse", [parse_feed, parse_sitemap], ids=["feed", "sitemap"])
def test_billion_laughs_refused_fast_with_bounded_memory(parse) -> None:
    data = (FIXTURES / "billion_laughs.xml").read_bytes()  # 10^9 "lol"s = 3 GB if expanded
    error, elapsed, peak = measured(lambda: parse(data, URL))
    assert isinstance(error, UnsafeXmlError) and isinstance(error, PermanentError)
    assert error.code == "unsafe_xml"
    assert elapsed < 2.0
    assert peak < 20 * 1024 * 1024


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(MARKER)
    return path


def _feed_with_entity(system_id: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{system_id}">]>\n'
            '<rss version="2.0"><channel><title>t</title><item><title>&xxe;</title>'
            '<link>https://news.example.com/a</link><description>&xxe;</description></item></channel></rss>').encode()


def _sitemap_with_entity(system_id: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "{system_id}">]>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            '<url><loc>https://news.example.com/&xxe;</loc></url></urlset>').encode()


@pytest.mark.parametrize("build, parse", [(_feed_with_entity, parse_feed), (_sitemap_with_entity, parse_sitemap)],
                         ids=["feed", "sitemap"])
def test_external_entity_refused_and_file_never_read(secret: Path, build, parse) -> None:
    with pytest.raises(UnsafeXmlError) as raised:
        parse(build(secret.as_uri()), URL)
    assert MARKER not in str(raised.value)


def test_passwd_xxe_fixture_refused() -> None:
    with pytest.raises(UnsafeXmlError) as raised:
        parse_sitemap((FIXTURES / "xxe_passwd.xml").read_bytes(), URL)
    assert "root:" not in str(raised.value)


def test_parameter_entity_refused(secret: Path) -> None:
    data = (f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{secret.as_uri()}"> %ext;]>\n'
            '<rss version="2.0"><channel><title>t</title></channel></rss>').encode()
    with pytest.raises(UnsafeXmlError):
        parse_feed(data, URL)
    with pytest.raises(UnsafeXmlError):
        parse_sitemap(data, URL)


def _parsed_unless_refused_without_marker(parse: Callable[[], T]) -> T | None:
    """What `parse` returns; None when it refused the document (either is fine), its message free of the marker."""
    try:
        return parse()
    except PermanentError as exc:
        assert MARKER not in str(exc)
        return None


def test_external_dtd_is_never_loaded(tmp_path: Path, secret: Path) -> None:
    # No entity is declared in the document itself; the DTD it points to declares one. Loading the DTD
    # would put the marker into the title (or the URL).
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY inline "{MARKER}"><!ENTITY file SYSTEM "{secret.as_uri()}">')
    feed = (f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{dtd.as_uri()}">\n'
            '<rss version="2.0"><channel><title>t</title><item><title>A &inline; &file;</title>'
            '<link>https://news.example.com/a</link></item></channel></rss>').encode()
    candidates = _parsed_unless_refused_without_marker(lambda: parse_feed(feed, URL))
    if candidates is not None:
        assert candidates and all(MARKER not in repr(c) for c in candidates)
    sitemap = (f'<?xml version="1.0"?>\n<!DOCTYPE urlset SYSTEM "{dtd.as_uri()}">\n'
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               '<url><loc>https://news.example.com/x&inline;</loc></url></urlset>').encode()
    page = _parsed_unless_refused_without_marker(lambda: parse_sitemap(sitemap, URL))
    if page is not None:
        assert all(MARKER not in c.url for c in page.urls)


def test_entities_in_a_document_expat_cannot_read_are_still_refused() -> None:
    # an encoding expat does not know stops the screen in the prolog; the raw-bytes check takes over
    data = (b'<?xml version="1.0" encoding="x-no-such-encoding"?>\n<!DOCTYPE rss [<!ENTITY a "aaaa">]>\n'
            b'<rss version="2.0"><channel><title>&a;</title></channel></rss>')
    with pytest.raises(UnsafeXmlError):
        parse_feed(data, URL)


# --- huge documents -------------------------------------------------------------------------------

def _items(count: int) -> str:
    return "".join(f"<item><title>Item {i}</title><link>https://news.example.com/a/{i}</link>"
                   f"<guid>g{i}</guid><description>Text {i}</description></item>" for i in range(count))


def test_huge_feed_is_capped_in_bounded_time() -> None:
    data = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{_items(100_000)}</channel></rss>'
    started = time.perf_counter()
    candidates = parse_feed(data.encode(), URL)
    elapsed = time.perf_counter() - started
    assert len(candidates) == 5000  # MAX_FEED_ENTRIES
    assert candidates[0].url == "https://news.example.com/a/0"
    assert candidates[-1].url == "https://news.example.com/a/4999"
    assert elapsed < 15  # ~1 s here; parsing all 100,000 with feedparser takes over a minute


def test_huge_malformed_feed_is_capped_too() -> None:
    # &nbsp; without a DTD is not well-formed XML: feedparser's loose parser reads it, and the byte-level
    # cut must still bound the work
    data = f'<rss version="2.0"><channel><title>a&nbsp;b</title>{_items(20_000)}</channel></rss>'
    candidates = parse_feed(data.encode(), URL, max_entries=300)
    assert len(candidates) == 300
    assert candidates[-1].url == "https://news.example.com/a/299"


def test_cut_document_stays_well_formed_in_utf16() -> None:
    entries = "".join(f'<entry><id>x{i}</id><title>E{i}</title><link href="https://news.example.com/{i}"/></entry>'
                      for i in range(10))
    data = (f'<?xml version="1.0" encoding="utf-16"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            f'{entries}</feed>').encode("utf-16")
    screened = screen_feed(data, max_entries=3)
    assert screened.truncated
    assert [c.url for c in parse_feed(data, URL, max_entries=3)] == [f"https://news.example.com/{i}" for i in range(3)]


def test_small_feed_is_passed_through_untouched() -> None:
    data = (FIXTURES / "rss2_content.xml").read_bytes()
    screened = screen_feed(data, max_entries=5000)
    assert screened.data == data and not screened.truncated
