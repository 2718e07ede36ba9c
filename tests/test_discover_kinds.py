"""Discovery kinds are plug-ins chosen by `kind:` like outlets: a built-in name (feed, sitemap, listing) or
`package.module:Class`. A kind from outside the package (tests/support/json_index_kind.py) is polled through
the real poll stage on loopback and its article stored; a bad entry is refused at load naming file, line and
field, whichever the kind."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.partner_pages import paragraphs
from worker.config import DiscoverEntry, load_sources
from worker.config.kinds import DISCOVERY_KINDS
from worker.discover.feeds import FeedKind, FeedOptions
from worker.discover.kind import discovery_kind
from worker.discover.listing import ListingKind, ListingOptions
from worker.discover.sitemaps import SitemapKind, SitemapOptions
from worker.errors import ConfigError
from worker.flow.ingest import ingest_url
from worker.flow.poll import poll_source
from worker.flow.services import Services
from worker.settings import load_settings

PLUGIN = "tests.support.json_index_kind:JsonIndexKind"


def source_yaml(discover: str) -> str:
    return ("sources:\n  - id: partner\n    name: Partner\n    allowed_domains: [127.0.0.1, localhost]\n"
            "    allow_private_networks: ['127.0.0.1/8', '::1']\n"
            "    ignore_robots: true\n    ignore_robots_reason: a test partner on loopback\n"
            f"    discover:\n{discover}")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def story(headline: str, url: str) -> bytes:
    text = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs(random.Random(7), 5))
    return (f"<!doctype html><html lang='en'><head><title>{headline}</title><link rel='canonical' href='{url}'>"
            f"</head><body><article><h1>{headline}</h1>{text}</article></body></html>").encode()


def test_a_kind_from_outside_the_package_is_polled_through_the_poll_stage_and_its_article_stored(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    story_url = httpserver.url_for("/news/harbour.html")
    index = {"items": [{"url": "/news/harbour.html", "title": "Harbour Budget Passes", "updated": "2024-05-01T10:00:00Z"}]}
    httpserver.expect_request("/api/articles.json").respond_with_data(json.dumps(index), content_type="application/json")
    httpserver.expect_request("/news/harbour.html").respond_with_data(
        story("Harbour Budget Passes", story_url), content_type="text/html")
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(source_yaml(
        f"      - kind: {PLUGIN}\n        url: '{httpserver.url_for('/api/articles.json')}'\n        max_items: 10\n"))
    (config / "outlets.yaml").write_text(f"outlets:\n  - id: files\n    kind: files\n    directory: {tmp_path / 'out'}\n")
    services = Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                       "SYNDICATION_FETCH_TIMEOUT": "5"}))

    to_ingest: list[tuple[str, str]] = []
    report = poll_source(services, "partner", lambda source_id, url: to_ingest.append((source_id, url)), lambda a: None)
    assert report.errors == [] and report.discovered == 1
    assert to_ingest == [("partner", story_url)]
    deliveries: list[tuple[str, int, str]] = []
    ingested = ingest_url(services, "partner", story_url, None, lambda *d: deliveries.append(d))
    assert ingested.outcome == "new"
    [article] = services.store.list_articles()
    assert (article.url, article.headline, article.source.id) == (story_url, "Harbour Budget Passes", "partner")
    assert deliveries == [(article.id, 1, "files")]
    # polled again: the link is known and its entry unchanged, so nothing is queued
    again: list[str] = []
    assert poll_source(services, "partner", lambda source_id, url: again.append(url), lambda a: None).errors == []
    assert again == []


def test_a_plugin_kinds_richer_fingerprint_is_kept_while_a_listing_page_answers_alone(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    # A plug-in kind's name has a colon (package.module:Class), and so has the tag of every fingerprint
    # it stores. The JSON index (a title and a date) is richer than the listing page (link text only):
    # while the index answers 304, the listing's poorer fingerprint must not look like an edit.
    story_url = httpserver.url_for("/news/harbour.html")
    index = {"items": [{"url": "/news/harbour.html", "title": "Harbour Budget Passes", "updated": "2024-05-01T10:00:00Z"}]}

    def index_once(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(json.dumps(index), content_type="application/json", headers={"ETag": '"v1"'})

    httpserver.expect_request("/api/articles.json").respond_with_handler(index_once)
    httpserver.expect_request("/news/").respond_with_data(
        f"<html><body><h1>News</h1><a class='story' href='{story_url}'>Harbour budget</a></body></html>",
        content_type="text/html")
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(source_yaml(
        f"      - {{kind: '{PLUGIN}', url: '{httpserver.url_for('/api/articles.json')}'}}\n"
        f"      - {{kind: listing, url: '{httpserver.url_for('/news/')}', link_selector: a.story}}\n"))
    (config / "outlets.yaml").write_text("outlets: []\n")
    services = Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                       "SYNDICATION_FETCH_TIMEOUT": "5"}))

    first: list[str] = []
    assert poll_source(services, "partner", lambda source_id, url: first.append(url), lambda a: None).errors == []
    assert first == [story_url]
    second: list[str] = []
    report = poll_source(services, "partner", lambda source_id, url: second.append(url), lambda a: None)
    assert report.not_modified == [httpserver.url_for("/api/articles.json")]
    assert second == []  # not re-planned: the listing's link text says less than the index did


def test_a_plugin_kinds_bad_option_is_refused_at_load_with_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, source_yaml(f"      - kind: {PLUGIN}\n        url: https://p.example/api\n"
                                       "        max_items: 0\n"))
    with pytest.raises(ConfigError, match=rf"{path}, line 11, source 'partner', "
                                          rf"field 'discover\.{PLUGIN}\.max_items': Input should be greater than or equal to 1"):
        load_sources(path)


def test_a_plugin_kinds_unknown_option_is_refused_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, source_yaml(f"      - {{kind: '{PLUGIN}', url: 'https://p.example/api', max_iterms: 5}}\n"))
    with pytest.raises(ConfigError, match=rf"line 9, source 'partner', field 'discover\.{PLUGIN}\.max_iterms': "
                                          "Extra inputs are not permitted"):
        load_sources(path)


def test_an_unknown_kind_is_refused_naming_the_built_in_ones(tmp_path: Path) -> None:
    path = write(tmp_path, source_yaml("      - url: https://p.example/feed\n        kind: carrier-pigeon\n"))
    with pytest.raises(ConfigError, match=r"line 10, source 'partner', field 'discover\.kind': unknown discovery kind "
                                          rf"'carrier-pigeon': use one of {', '.join(sorted(DISCOVERY_KINDS))} "
                                          r"or 'package.module:Class'"):
        load_sources(path)


def test_a_class_that_is_no_discovery_kind_is_refused_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, source_yaml("      - {kind: 'tests.support.json_index_kind:NotAKind', url: 'https://p.example/'}\n"
                                       "      - {kind: 'tests.support.no_such_module:Kind', url: 'https://p.example/'}\n"))
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    first, second = caught.value.reason.splitlines()
    assert first.startswith(f"{path}, line 9, source 'partner', field 'discover.kind': ") and "no discover() method" in first
    assert second.startswith(f"{path}, line 10, source 'partner', field 'discover.kind': ") and "cannot be loaded" in second


def test_a_built_in_kinds_bad_option_names_the_line_of_the_option_itself(tmp_path: Path) -> None:
    path = write(tmp_path, source_yaml("      - kind: listing\n        url: https://p.example/news/\n"
                                       "        link_selector: 'a[href'\n        max_pages: 3\n"))
    with pytest.raises(ConfigError, match=r"line 11, source 'partner', field 'discover\.listing\.link_selector': "
                                          r".*not a valid CSS selector"):
        load_sources(path)


def test_the_built_in_entries_load_as_before(tmp_path: Path) -> None:
    path = write(tmp_path, source_yaml(
        "      - {kind: feed, url: 'https://p.example/feed.xml'}\n"
        "      - {kind: sitemap, url: 'https://p.example/sitemap.xml'}\n"
        "      - {kind: listing, url: 'https://p.example/news/', link_selector: a.story, next_selector: a.next}\n"))
    entries = load_sources(path)["partner"].discover
    assert [discovery_kind(e.kind) for e in entries] == [FeedKind, SitemapKind, ListingKind]
    assert [type(k).options_model.model_validate(e.options) for k, e in zip(
        (FeedKind(), SitemapKind(), ListingKind()), entries, strict=True)] == [
        FeedOptions(url="https://p.example/feed.xml"), SitemapOptions(url="https://p.example/sitemap.xml"),
        ListingOptions(url="https://p.example/news/", link_selector="a.story", next_selector="a.next", max_pages=1)]
    assert entries[0] == DiscoverEntry(kind="feed", url="https://p.example/feed.xml")
