"""parse_feed on RSS 0.91 / 1.0 / 2.0 and Atom 1.0 fixtures: links, guids, dates in UTC, people, categories,
content hints, withdrawals, and the change fingerprint."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from worker.discover import Candidate, DiscoveryParseError, parse_feed

FIXTURES = Path(__file__).parent / "fixtures" / "discovery"
FEED_URL = "https://news.example.com/feeds/world.xml"


def feed(name: str) -> list[Candidate]:
    return parse_feed((FIXTURES / name).read_bytes(), FEED_URL)


def by_url(candidates: list[Candidate]) -> dict[str, Candidate]:
    return {c.url: c for c in candidates}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_rss2_item_fields_with_content_encoded() -> None:
    first = feed("rss2_content.xml")[0]
    # link normalized: host lowercased, utm_* and fragment gone, the id parameter kept
    assert first.url == "https://news.example.com/world/floods-close-port?id=42"
    assert first.guid == "example-42"
    assert first.title == "Floods close the river port"
    assert first.published == utc(2024, 3, 4, 14, 30)  # 09:30 -0500
    assert first.published.tzinfo == timezone.utc
    assert first.updated is None  # RSS has no updated date; feedparser's published fallback must not leak in
    assert first.authors == ("Ana Ruiz", "Ben Okafor")
    assert first.categories == ("World", "Weather")  # the repeated category once
    assert first.summary == "The port closed on Monday."
    assert first.content_hint is not None and "<strong>Monday</strong>" in first.content_hint
    assert first.withdrawn is False


def test_rss2_guid_is_the_link_only_when_it_is_a_permalink() -> None:
    items = feed("rss2_content.xml")
    permalink = items[1]
    assert permalink.url == "https://news.example.com/world/guid-is-the-link"
    assert permalink.published == utc(2024, 3, 5, 22, 15)  # 23:15 +0100
    # isPermaLink="false": the guid is an id, the link comes from <link> (relative → absolute on the feed's host)
    relative = items[2]
    assert relative.guid == "example-44"
    assert relative.url == "https://news.example.com/world/relative-story"


def test_rss2_pubstatus_canceled_marks_withdrawn() -> None:
    items = by_url(feed("rss2_content.xml"))
    assert items["https://news.example.com/world/retracted"].withdrawn is True
    assert items["https://news.example.com/world/relative-story"].withdrawn is False


def test_rss1_rdf_items() -> None:
    items = feed("rss1_rdf.xml")
    assert [c.url for c in items] == ["https://rdf.example.org/2024/first", "https://rdf.example.org/2024/second"]
    first = items[0]
    assert first.title == "First RDF item"
    assert first.updated == utc(2024, 2, 1, 8, 0)  # dc:date 10:00+02:00
    assert first.last_changed == first.updated
    assert first.authors == ("Carla Diaz",)
    assert first.categories == ("Science",)


def test_rss091_with_netscape_doctype_is_accepted() -> None:
    # a DOCTYPE with an external DTD but no entity declarations is ordinary RSS 0.91, not an attack
    items = feed("rss091.xml")
    assert [c.url for c in items] == [
        "http://oldschool.example.net/news/cafe.html",
        "http://oldschool.example.net/news/second.html",
    ]
    assert items[0].title == "Café opens downtown"  # ISO-8859-1 document, character reference decoded


def test_atom_entry_fields() -> None:
    items = feed("atom.xml")
    entry = items[0]
    # xml:base resolves the relative alternate link; fbclid dropped, page kept
    assert entry.url == "https://atom.example.com/blog/2024/03/markets-rally?page=2"
    assert entry.guid == "tag:atom.example.com,2024:entry-1"
    assert entry.title == "Markets rally on rate news"  # type="html" title as text
    assert entry.published == utc(2024, 3, 9, 16, 0)  # 08:00 -08:00
    assert entry.updated == utc(2024, 3, 9, 20, 0)  # 01:30 +05:30 next day
    assert entry.authors == ("Dee Li", "Eli Stone")
    assert entry.categories == ("Business", "markets")
    assert entry.summary == "Stocks rose."
    assert entry.content_hint == "<p>Stocks rose sharply.</p>"


def test_atom_entry_without_any_http_link_is_skipped() -> None:
    urls = [c.url for c in feed("atom.xml")]
    assert all(url.startswith("https://") for url in urls)
    assert not any("entry-2" in url for url in urls)


def test_atom_tombstone_becomes_a_withdrawn_candidate() -> None:
    withdrawn = [c for c in feed("atom.xml") if c.withdrawn]
    assert len(withdrawn) == 1  # the tombstone without a URL cannot be matched to an article
    tombstone = withdrawn[0]
    assert tombstone.url == "https://atom.example.com/blog/2024/03/pulled-story"
    assert tombstone.guid == "tag:atom.example.com,2024:entry-0"
    assert tombstone.updated == utc(2024, 3, 10, 11, 0)


def test_partner_fixture_feed() -> None:
    items = feed("epochtimes_feed.xml")
    assert len(items) == 1
    item = items[0]
    assert item.url == ("http://partner.test/theepochtimes/"
                        "coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html")
    assert item.guid == "et-2302211"
    assert item.authors == ("Henry Bevington",)
    assert item.published == utc(2017, 9, 22, 18, 5)


def test_gzipped_feed_is_read() -> None:
    import gzip

    data = gzip.compress((FIXTURES / "rss1_rdf.xml").read_bytes())
    assert [c.title for c in parse_feed(data, FEED_URL)] == ["First RDF item", "Second RDF item"]


# --- fingerprint ------------------------------------------------------------------------------------

ATOM = (FIXTURES / "atom.xml").read_text(encoding="utf-8")


def first_fingerprint(text: str) -> str:
    return parse_feed(text.encode("utf-8"), FEED_URL)[0].fingerprint


def test_fingerprint_changes_when_title_or_updated_or_content_change() -> None:
    base = first_fingerprint(ATOM)
    assert first_fingerprint(ATOM.replace("on rate news", "on rate cut")) != base
    assert first_fingerprint(ATOM.replace("2024-03-10T01:30:00+05:30", "2024-03-10T02:30:00+05:30")) != base
    assert first_fingerprint(ATOM.replace("Stocks rose sharply.", "Stocks fell sharply.")) != base
    assert first_fingerprint(ATOM.replace("<summary>Stocks rose.", "<summary>Stocks fell.")) != base


def test_fingerprint_ignores_fields_that_are_not_edits() -> None:
    base = first_fingerprint(ATOM)
    assert len(base) == 16
    same = [
        ATOM.replace("fbclid=abc123", "fbclid=other"),  # tracking noise in the link
        ATOM.replace('<category term="markets"/>', ""),  # re-labelled
        ATOM.replace("<name>Eli Stone</name>", "<name>E. Stone</name>"),
        ATOM.replace("2024-03-09T08:00:00-08:00", "2024-03-09T09:00:00-08:00"),  # published only
        ATOM.replace("Stocks rose.", "Stocks   rose.\n"),  # whitespace
        # the same instant written in another zone
        ATOM.replace("2024-03-10T01:30:00+05:30", "2024-03-09T20:00:00Z"),
    ]
    for text in same:
        assert first_fingerprint(text) == base


def test_fingerprint_follows_the_fields_and_cannot_be_passed_in() -> None:
    candidate = Candidate(url="https://a.example/x", title="One")
    assert replace(candidate, title="Two").fingerprint != candidate.fingerprint
    assert replace(candidate, withdrawn=True).fingerprint != candidate.fingerprint
    assert Candidate(url="https://a.example/other", title="One").fingerprint == candidate.fingerprint
    with pytest.raises(TypeError):
        Candidate(url="https://a.example/x", fingerprint="forged")  # type: ignore[call-arg]


# --- not a feed -----------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"   ", b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                                  b"just some text"])
def test_not_a_feed_is_a_named_error(data: bytes) -> None:
    with pytest.raises(DiscoveryParseError):
        parse_feed(data, FEED_URL)


def test_empty_channel_is_an_empty_list_not_an_error() -> None:
    data = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    assert parse_feed(data, FEED_URL) == []


def test_feed_bytes_are_never_taken_for_a_file_name(tmp_path: Path) -> None:
    # feedparser.parse(bytes) would open a file of that name; parse_feed must only ever read the bytes
    secret = tmp_path / "secret.xml"
    secret.write_text('<rss version="2.0"><channel><item><title>SECRET-MARKER</title>'
                      '<link>https://a.example/secret</link></item></channel></rss>')
    with pytest.raises(DiscoveryParseError) as raised:
        parse_feed(str(secret).encode(), FEED_URL)
    assert "SECRET-MARKER" not in str(raised.value)


def test_feedburner_original_link_wins_over_the_redirector() -> None:
    data = b'''<?xml version="1.0"?><rss version="2.0" xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">
    <channel><title>t</title><item><title>A</title><link>https://feeds.example.net/~r/x/~3/abc/</link>
    <feedburner:origLink>https://news.example.com/world/a</feedburner:origLink></item></channel></rss>'''
    assert [c.url for c in parse_feed(data, FEED_URL)] == ["https://news.example.com/world/a"]


@pytest.mark.parametrize("marker, withdrawn", [
    ("<pubstatus>withheld</pubstatus>", True),
    ("<pubstatus>usable</pubstatus>", False),
    ('<media:status state="deleted"/>', True),
    ('<media:status state="active"/>', False),
])
def test_withdrawal_signals(marker: str, withdrawn: bool) -> None:
    data = (f'<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
            f'<title>t</title><item><title>A</title><link>https://news.example.com/a</link>{marker}</item>'
            '</channel></rss>').encode()
    assert parse_feed(data, FEED_URL)[0].withdrawn is withdrawn
