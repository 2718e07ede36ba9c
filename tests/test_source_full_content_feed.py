"""Full-content feeds (`body_from:` on a feed entry): the entry's content is the article, no page fetched.

Polled and ingested through the real poll and ingest stages, against a feed and pages served on loopback;
every request the partner gets is counted, so "0 page fetches" is what the server saw, not what the code
says it did.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from tests.support.partner_pages import paragraphs
from worker.config import load_sources
from worker.discover.feeds import is_whole_article, parse_feed
from worker.errors import ConfigError
from worker.flow.ingest import ingest_url
from worker.flow.poll import poll_source
from worker.flow.services import Services
from worker.settings import load_settings


def _body(seed: int, count: int = 5) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs(random.Random(seed), count))


def _feed(server: HTTPServer, items: list[tuple[str, str, str]]) -> bytes:
    """An RSS 2.0 feed: (path, title, content html) per item, with authors, a category and a picture."""
    entries = "".join(
        f"<item><title>{title}</title><link>{server.url_for(path)}</link><guid>{path}</guid>"
        f"<dc:creator>Ana Lima</dc:creator><category>Harbour</category>"
        f"<pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate><description>A short summary.</description>"
        f"<media:content url='{server.url_for('/img' + path + '.jpg')}' medium='image' width='800' height='600'>"
        f"<media:credit>Photo: Ben Ode</media:credit></media:content>"
        f"<content:encoded><![CDATA[{content}]]></content:encoded></item>"
        for path, title, content in items)
    return ("<?xml version='1.0'?><rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/' "
            "xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:media='http://search.yahoo.com/mrss/'>"
            f"<channel><title>Partner</title><link>{server.url_for('/')}</link>{entries}</channel></rss>").encode()


def _services(tmp_path: Path, server: HTTPServer, body_from: str) -> Services:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - id: partner\n    name: Harbour Times\n    allowed_domains: [127.0.0.1, localhost]\n"
        "    allow_private_networks: ['127.0.0.1/8', '::1']\n"
        "    ignore_robots: true\n    ignore_robots_reason: a test partner on loopback\n"
        f"    discover:\n      - kind: feed\n        url: '{server.url_for('/feed.xml')}'\n"
        f"        body_from: {body_from}\n")
    (config / "outlets.yaml").write_text(f"outlets:\n  - id: files\n    kind: files\n    directory: {tmp_path / 'out'}\n")
    return Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                   "SYNDICATION_FETCH_TIMEOUT": "5"}))


def _poll_and_ingest(services: Services) -> list[str]:
    queued: list[str] = []
    report = poll_source(services, "partner", lambda _source, url: queued.append(url), lambda _a: None)
    assert report.errors == []
    for url in queued:
        ingest_url(services, "partner", url, None, lambda *_d: None)
    return queued


def _page_requests(server: HTTPServer) -> list[str]:
    """Article pages the partner served: not the feed, not the pictures (images travel with the article)."""
    return [request.path for request, _ in server.log
            if request.path != "/feed.xml" and not request.path.startswith("/img/")]


def test_body_from_feed_stores_each_entry_as_its_article_without_fetching_a_page(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    items = [(f"/news/{n}.html", f"Harbour story {n}", _body(n)) for n in range(3)]
    httpserver.expect_request("/feed.xml").respond_with_data(_feed(httpserver, items), content_type="application/rss+xml")
    services = _services(tmp_path, httpserver, "feed")

    assert len(_poll_and_ingest(services)) == 3
    assert _page_requests(httpserver) == []
    articles = {a.url: a for a in services.store.list_articles()}
    article = articles[httpserver.url_for("/news/1.html")]
    assert article.headline == "Harbour story 1"
    assert [a.name for a in article.authors] == ["Ana Lima"]
    assert article.tags == ["Harbour"] and article.attribution == "From Harbour Times"
    assert article.lead_image is not None and article.lead_image.credit == "Photo: Ben Ode"
    assert article.lead_image.url == httpserver.url_for("/img/news/1.html.jpg")
    assert article.body_text.split("\n\n") == paragraphs(random.Random(1), 5)
    assert article.description == "A short summary."


def test_an_edited_entry_makes_one_new_version_and_an_unchanged_feed_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    path = "/news/0.html"
    served = {"feed": _feed(httpserver, [(path, "Harbour story", _body(0))])}
    httpserver.expect_request("/feed.xml").respond_with_handler(
        lambda _request: Response(served["feed"], content_type="application/rss+xml"))
    services = _services(tmp_path, httpserver, "feed")

    assert _poll_and_ingest(services) == [httpserver.url_for(path)]
    assert _poll_and_ingest(services) == []  # same entry: nothing to ingest
    served["feed"] = _feed(httpserver, [(path, "Harbour story", _body(0) + "<p>A correction was added to this story.</p>")])
    assert _poll_and_ingest(services) == [httpserver.url_for(path)]
    [article] = services.store.list_articles()
    assert article.version == 2 and article.body_text.endswith("A correction was added to this story.")
    assert _page_requests(httpserver) == []


def test_body_from_feed_falls_back_to_the_page_for_an_entry_without_content(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    path = "/news/teaser.html"
    feed = _feed(httpserver, [(path, "Harbour story", "")]).replace(b"<content:encoded><![CDATA[]]></content:encoded>", b"")
    httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request(path).respond_with_data(
        f"<html><head><title>Harbour story</title></head><body><article><h1>Harbour story</h1>{_body(4)}"
        "</article></body></html>", content_type="text/html")
    services = _services(tmp_path, httpserver, "feed")

    _poll_and_ingest(services)
    assert _page_requests(httpserver) == [path]
    [article] = services.store.list_articles()
    assert article.body_text.split("\n\n") == paragraphs(random.Random(4), 5)


def test_body_from_auto_reads_whole_entries_from_the_feed_and_fetches_the_page_for_teasers(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    whole, teaser = "/news/whole.html", "/news/teaser.html"
    teaser_content = (f"<p>{paragraphs(random.Random(9), 1)[0]}</p>"
                      f"<p><a href='{httpserver.url_for(teaser)}'>Lire la suite</a></p>")
    httpserver.expect_request("/feed.xml").respond_with_data(
        _feed(httpserver, [(whole, "Whole story", _body(5)), (teaser, "Teaser story", teaser_content)]),
        content_type="application/rss+xml")
    httpserver.expect_request(teaser).respond_with_data(
        f"<html><head><title>Teaser story</title></head><body><article><h1>Teaser story</h1>{_body(9)}"
        "</article></body></html>", content_type="text/html")
    services = _services(tmp_path, httpserver, "auto")

    _poll_and_ingest(services)
    assert _page_requests(httpserver) == [teaser]
    assert len(services.store.list_articles()) == 2


@pytest.mark.parametrize(("content", "whole"), [
    (_body(1), True),
    (f"<p>{paragraphs(random.Random(2), 1)[0]}</p>", False),                      # one paragraph
    (_body(3).replace("</p>", " [&#8230;]</p>"), False),                           # closes on [...]
    (_body(3) + "<p><a href='https://p.example/story#more'>Continue</a></p>", False),  # links to itself
])
def test_whole_article_is_judged_by_shape(content: str, whole: bool) -> None:
    assert is_whole_article(content, "A short summary.", "https://p.example/story") is whole


def test_body_from_page_keeps_feeds_as_they_were() -> None:
    feed = (b"<?xml version='1.0'?><rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
            b"<channel><title>P</title><item><title>A</title><link>https://p.example/a</link>"
            b"<content:encoded><![CDATA[" + _body(1).encode() + b"]]></content:encoded></item></channel></rss>")
    [page_candidate] = parse_feed(feed, "https://p.example/feed")
    [feed_candidate] = parse_feed(feed, "https://p.example/feed", body_from="feed")
    assert page_candidate.item is None and feed_candidate.item is not None
    assert page_candidate.fingerprint != feed_candidate.fingerprint


def test_a_bad_body_from_is_refused_at_load_naming_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - id: partner\n    name: Partner\n    allowed_domains: [p.example]\n    discover:\n"
                    "      - kind: feed\n        url: https://p.example/feed.xml\n        body_from: everything\n")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(path))}, line 8, source 'partner', "
                                          r"field 'discover\.feed\.body_from': Input should be 'feed', 'page' or 'auto'"):
        load_sources(path)
