"""The feeds outlet: RSS, Atom and JSON Feed that feedparser and the specs' required elements accept,
holding the latest N articles, and never half-written or losing an article under concurrent publishers."""
from __future__ import annotations

import json
import multiprocessing
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import lxml.html
import pytest
from lxml import etree

from worker.errors import OutletUnavailableError
from worker.outlets.base import RemoteRef
from worker.outlets.feeds import FeedsOptions, FeedsOutlet
from worker.schema import Article, Author, Image, SourceRef, make_article
from worker.settings import load_settings

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = datetime(2024, 3, 1, tzinfo=timezone.utc)


def article(n: int = 0, version: int = 1, headline: str | None = None) -> Article:
    return make_article(
        version=version, source=SourceRef(id="partner", name="Partner & Co"), attribution="From Partner & Co",
        url=f"https://partner.example/news/{n}.html?a=1&b=2", headline=headline or f"Story {n} <v{version}>",
        description=f"Summary of story {n}.", authors=[Author(name="Ann Lee"), Author(name="Bo Chan")],
        published=BASE + timedelta(hours=n), updated=BASE + timedelta(hours=n, minutes=version),
        section="World", tags=["Iraq", "Security"], language="en",
        lead_image=Image(url=f"https://partner.example/img/{n}.png", caption="A caption", width=800, height=600),
        body_html=f"<p>Body of story {n}, version {version}.</p>", body_text=f"Body of story {n}, version {version}.",
        fetched_at=BASE + timedelta(days=1),
    )


def outlet(directory: Path, max_items: int = 50, outlet_id: str = "feeds") -> FeedsOutlet:
    options = FeedsOptions(directory=str(directory), title="Outlet News", link="https://outlet.example/",
                           description="Partner stories", max_items=max_items)
    return FeedsOutlet(outlet_id, options, load_settings({}))


def parsed(feeds: FeedsOutlet, kind: str) -> feedparser.FeedParserDict:
    result = feedparser.parse(feeds.feed_paths[kind].read_bytes())
    assert not result.bozo, result.get("bozo_exception")
    return result


def shown(detail: feedparser.FeedParserDict) -> str:
    """What a reader shows of a text value: HTML read as HTML, plain text as it is."""
    if detail.type == "text/html":
        return lxml.html.fragment_fromstring(detail.value, create_parent="div").text_content()
    return detail.value


def check_rss_required(data: bytes) -> list[str]:
    """RSS 2.0 required elements: channel title, link, description; item title or description;
    enclosure url, length and type; source url. Returns the items' guids."""
    channel = etree.fromstring(data).find("channel")
    assert channel is not None and all(channel.findtext(tag) for tag in ("title", "link", "description"))
    guids = []
    for item in channel.findall("item"):
        assert item.findtext("title") or item.findtext("description")
        for enclosure in item.findall("enclosure"):
            assert {"url", "length", "type"} <= set(enclosure.attrib)
        for source in item.findall("source"):
            assert source.get("url") and source.text
        guids.append(item.findtext("guid"))
    return guids


def check_atom_required(data: bytes) -> list[str]:
    """RFC 4287: feed id, title, updated, and an author on the feed or on every entry; entry id, title,
    updated, and content or an alternate link. Returns the entries' ids."""
    feed = etree.fromstring(data)
    assert all(feed.findtext(f"{ATOM}{tag}") for tag in ("id", "title", "updated"))
    feed_author = feed.find(f"{ATOM}author/{ATOM}name") is not None
    ids = []
    for entry in feed.findall(f"{ATOM}entry"):
        assert all(entry.findtext(f"{ATOM}{tag}") for tag in ("id", "title", "updated"))
        assert feed_author or entry.find(f"{ATOM}author/{ATOM}name") is not None
        assert entry.find(f"{ATOM}content") is not None or entry.find(f"{ATOM}link[@rel='alternate']") is not None
        ids.append(entry.findtext(f"{ATOM}id"))
    return ids


def check_json_feed_required(data: bytes) -> list[str]:
    """JSON Feed 1.1: version URL, title, items; each item an id and content_html or content_text."""
    feed = json.loads(data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list)
    for item in feed["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_html") or item.get("content_text")
        assert all(isinstance(a.get("name"), str) for a in item.get("authors", []))
        assert all({"url", "mime_type"} <= set(a) for a in item.get("attachments", []))
    return [item["id"] for item in feed["items"]]


def test_rss_and_atom_read_back_every_field(tmp_path: Path) -> None:
    feeds = outlet(tmp_path / "out")
    item = article(1)
    ref = feeds.publish(item, None)
    assert ref == RemoteRef(item.id, item.url)
    attribution = '<p class="attribution"><a href="https://partner.example/news/1.html?a=1&amp;b=2" rel="nofollow">From Partner &amp; Co</a></p>'
    for kind in ("rss", "atom"):
        feed = parsed(feeds, kind)
        assert feed.feed.title == "Outlet News" and feed.feed.link == "https://outlet.example/"
        [entry] = feed.entries
        # HTML-escaped in the feed, declared (Atom) or taken (RSS) as HTML: shown exactly as written
        assert entry.title_detail.type == "text/html" and shown(entry.title_detail) == "Story 1 <v1>"
        assert entry.link == item.url
        assert entry.id == f"urn:syndication-worker:article:{item.id}"
        content = entry.content[0].value
        assert content.startswith("<p>Body of story 1, version 1.</p>") and content.endswith(attribution)
        assert [a.name for a in entry.authors] == ["Ann Lee", "Bo Chan"]
        assert [t.term for t in entry.tags] == ["World", "Iraq", "Security"]
        [enclosure] = entry.enclosures
        assert enclosure.href == "https://partner.example/img/1.png" and enclosure.type == "image/png"
        assert entry.summary == "Summary of story 1."
        assert entry.published_parsed[:4] == (2024, 3, 1, 1)
    rss_entry = parsed(feeds, "rss").entries[0]
    assert rss_entry.source == {"href": item.url, "title": "Partner & Co"}
    assert rss_entry.enclosures[0].length == "0"  # unknown size, said the way RSS allows
    atom_source = parsed(feeds, "atom").entries[0].source
    assert shown(atom_source.title_detail) == "Partner & Co" and atom_source.id == "urn:syndication-worker:source:partner"
    assert atom_source.link == item.url
    assert check_rss_required(feeds.feed_paths["rss"].read_bytes()) == [f"urn:syndication-worker:article:{item.id}"]
    assert check_atom_required(feeds.feed_paths["atom"].read_bytes()) == [f"urn:syndication-worker:article:{item.id}"]


def test_json_feed_has_the_required_keys_and_the_content(tmp_path: Path) -> None:
    feeds = outlet(tmp_path)
    item = article(2)
    feeds.publish(item, None)
    data = feeds.feed_paths["json"].read_bytes()
    assert check_json_feed_required(data) == [f"urn:syndication-worker:article:{item.id}"]
    [entry] = json.loads(data)["items"]
    assert entry["url"] == item.url and entry["title"] == item.headline
    assert entry["content_html"].endswith("From Partner &amp; Co</a></p>")
    assert entry["content_text"].endswith(f"From Partner & Co: {item.url}")
    assert entry["authors"] == [{"name": "Ann Lee"}, {"name": "Bo Chan"}]
    assert entry["attachments"] == [{"url": "https://partner.example/img/2.png", "mime_type": "image/png"}]
    assert entry["_syndication"]["source"] == {"id": "partner", "name": "Partner & Co", "url": item.url}
    assert entry["date_published"] == "2024-03-01T02:00:00Z"


def test_keeps_the_latest_n_newest_first(tmp_path: Path) -> None:
    feeds = outlet(tmp_path, max_items=3)
    for n in (4, 1, 5, 2, 3):
        feeds.publish(article(n), None)
    expected = [f"urn:syndication-worker:article:{article(n).id}" for n in (5, 4, 3)]
    assert [e.id for e in parsed(feeds, "rss").entries] == expected
    assert [e.id for e in parsed(feeds, "atom").entries] == expected
    assert check_json_feed_required(feeds.feed_paths["json"].read_bytes()) == expected


def test_a_new_version_replaces_the_item_and_an_old_one_does_not(tmp_path: Path) -> None:
    feeds = outlet(tmp_path)
    feeds.publish(article(1, version=1), None)
    feeds.publish(article(1, version=2, headline="Second"), RemoteRef(article(1).id))
    feeds.publish(article(1, version=1, headline="Late first"), None)  # a late retry of v1
    for kind in ("rss", "atom"):
        [entry] = parsed(feeds, kind).entries
        assert entry.title == "Second" and "version 2." in entry.content[0].value
    assert [a.version for a in feeds.articles()] == [2]


def test_withdraw_removes_the_item_and_is_idempotent(tmp_path: Path) -> None:
    feeds = outlet(tmp_path)
    for n in (1, 2):
        feeds.publish(article(n), None)
    feeds.withdraw(RemoteRef(article(1).id), "withdrawn by the partner")
    feeds.withdraw(RemoteRef(article(1).id), "withdrawn by the partner")
    remaining = [f"urn:syndication-worker:article:{article(2).id}"]
    assert [e.id for e in parsed(feeds, "rss").entries] == remaining
    assert [e.id for e in parsed(feeds, "atom").entries] == remaining
    assert check_json_feed_required(feeds.feed_paths["json"].read_bytes()) == remaining


def test_check_reports_an_unwritable_directory(tmp_path: Path) -> None:
    assert "can write" in outlet(tmp_path / "feeds").check()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OutletUnavailableError, match="cannot write"):
        outlet(blocker / "feeds").check()
    with pytest.raises(OutletUnavailableError, match="cannot write feeds"):
        outlet(blocker / "feeds").publish(article(), None)


def publish_range(directory: str, numbers: list[int]) -> None:
    """Runs in a child process: another worker process publishing to the same feeds outlet."""
    feeds = outlet(Path(directory), max_items=1000)
    for n in numbers:
        feeds.publish(article(n), None)


def test_concurrent_publishers_lose_nothing_and_readers_never_see_half_a_file(tmp_path: Path) -> None:
    directory = tmp_path / "feeds"
    feeds = outlet(directory, max_items=1000)
    feeds.publish(article(0), None)
    stop = threading.Event()
    reads: list[int] = []
    problems: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                check_rss_required(feeds.feed_paths["rss"].read_bytes())
                check_atom_required(feeds.feed_paths["atom"].read_bytes())
                check_json_feed_required(feeds.feed_paths["json"].read_bytes())
            except Exception as exc:
                problems.append(repr(exc))
            reads.append(1)

    def publish_in_thread(numbers: list[int]) -> None:
        own = outlet(directory, max_items=1000)  # its own outlet object, like its own worker
        for n in numbers:
            own.publish(article(n), None)

    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=publish_range, args=(str(directory), list(range(start, start + 60))))
                 for start in (1, 61)]
    threads = [threading.Thread(target=publish_in_thread, args=(list(range(start, 200, 4)),))
               for start in (121, 122, 123, 124)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for worker in (*processes, *threads):
        worker.start()
    for thread in threads:
        thread.join(timeout=120)
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    stop.set()
    watcher.join()
    assert problems == []
    assert len(reads) > 20  # the reader really did read while the files were being replaced
    expected = {f"urn:syndication-worker:article:{article(n).id}" for n in range(200)}
    assert set(check_rss_required(feeds.feed_paths["rss"].read_bytes())) == expected
    assert set(check_atom_required(feeds.feed_paths["atom"].read_bytes())) == expected
    assert set(check_json_feed_required(feeds.feed_paths["json"].read_bytes())) == expected
    assert not list(directory.glob(".*.tmp"))


# --- each field encoded for the reader ------------------------------------------------------------

def active_elements(markup: str) -> list[str]:
    """Elements and attributes of an HTML value that would run: what a reader without a sanitizer renders."""
    found = []
    for element in lxml.html.fragment_fromstring(markup, create_parent="div").iter():
        if element.tag in ("script", "img", "svg", "iframe"):
            found.append(element.tag)
        found += [name for name in element.attrib if name.startswith("on")]
    return found


def test_plain_text_in_html_slots_is_escaped_for_html_so_readers_show_it_as_text(tmp_path: Path) -> None:
    """RSS <description> used to get plain text escaped once (for XML only), which a reader decodes
    and then renders as HTML: `Summary <img src=x onerror=...>` ran the script."""
    feeds = outlet(tmp_path)
    summary = "Summary <img src=x onerror=alert(1)> & <script>alert(2)</script>"
    headline = "<svg onload=alert(3)> Breaking & <b onclick=alert(4)>news</b>"
    item = article(1).recomputed(description=summary, headline=headline)
    feeds.publish(item, None)
    for kind in ("rss", "atom"):
        raw = feedparser.parse(feeds.feed_paths[kind].read_bytes(), sanitize_html=False)  # no sanitizer
        [entry] = raw.entries
        for detail, text in ((entry.summary_detail, summary), (entry.title_detail, headline)):
            assert detail.type == "text/html"
            assert active_elements(detail.value) == [], (kind, detail.value)
            assert shown(detail) == text  # the reader shows exactly what the partner wrote
    [json_item] = json.loads(feeds.feed_paths["json"].read_bytes())["items"]
    assert (json_item["title"], json_item["summary"]) == (headline, summary)  # plain text by the JSON Feed spec


def test_an_author_link_that_is_not_http_never_reaches_atom_or_json_feed(tmp_path: Path) -> None:
    feeds = outlet(tmp_path)
    # the way the extractor attaches a JSON-LD author url: model_copy, which runs no validator
    sneaked = Author(name="Ann Lee").model_copy(update={"url": "javascript:alert(1)"})
    feeds.publish(article(1).recomputed(authors=[sneaked, Author(name="Bo Chan", url="https://partner.example/bo")]),
                  None)
    [entry] = parsed(feeds, "atom").entries
    assert [(a.name, a.get("href")) for a in entry.authors] == [("Ann Lee", None), ("Bo Chan", "https://partner.example/bo")]
    assert b"javascript:" not in feeds.feed_paths["atom"].read_bytes()
    [item] = json.loads(feeds.feed_paths["json"].read_bytes())["items"]
    assert item["authors"] == [{"name": "Ann Lee"}, {"name": "Bo Chan", "url": "https://partner.example/bo"}]


def test_a_body_that_skipped_validation_is_sanitized_on_its_way_into_the_feeds(tmp_path: Path) -> None:
    """model_copy runs no validator: the outlet allowlists the body itself where it leaves the worker."""
    from worker.outlets.feed_render import render_atom, render_json_feed, render_rss

    unchecked = article(1).model_copy(update={"body_html": '<p onclick="alert(1)">Hi<script>alert(2)</script>'
                                                           '<a href="javascript:alert(3)">x</a></p>'})
    for data in (render_rss([unchecked], "T", "https://outlet.example/", "D"),
                 render_atom([unchecked], "T", "https://outlet.example/", "D", "urn:feed")):
        [entry] = feedparser.parse(data, sanitize_html=False).entries
        assert entry.content[0].value.startswith("<p>Hi<a>x</a></p>")
    [item] = json.loads(render_json_feed([unchecked], "T", "https://outlet.example/", "D"))["items"]
    assert item["content_html"].startswith("<p>Hi<a>x</a></p>")
