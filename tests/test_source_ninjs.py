"""`kind: ninjs`: a partner's ninjs endpoint read whole, every item stored as its article, no page fetched.

Polled and ingested through the real poll and ingest stages against an endpoint served on loopback
(pytest-httpserver); every request the partner gets is in the server's log, so "0 page fetches" is what
the server saw. Every document the endpoint serves is validated against IPTC's official ninjs 2.1 schema
when tests/fixtures/ninjs/ holds it, and IPTC's own example documents are read through the kind.
"""
from __future__ import annotations

import json
import logging
import random
import re
import struct
import zlib
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.partner_pages import paragraphs
from worker.config import Source, load_sources
from worker.discover.ninjs import NINJS_ACCEPT, NinjsDocumentError, parse_document, parse_ninjs
from worker.errors import ConfigError, PermanentError
from worker.extract.declared import article_from_declared
from worker.flow.ingest import ingest_url
from worker.flow.poll import PollReport, poll_source
from worker.flow.services import Services
from worker.schema import Article, Image, to_ninjs
from worker.schema.declared import DeclaredArticle, DeclaredImage
from worker.settings import load_settings

ENDPOINT = "/api/ninjs"
NINJS_FIXTURES = Path(__file__).parent / "fixtures" / "ninjs"
SCHEMA = NINJS_FIXTURES / "ninjs-schema_2.1.json"


# --- the official schema, when it is there ------------------------------------------------------


@cache
def _validator(formats: bool = True) -> Any:
    """IPTC's ninjs 2.1 validator (draft 2020-12; `formats`: uri, date-time... asserted too), the GeoJSON
    schema it refers to given under its $id so nothing is fetched; None while tests/fixtures/ninjs/ does
    not hold it."""
    if not SCHEMA.exists():
        return None
    from jsonschema.validators import validator_for
    from referencing import Registry, Resource

    schema = json.loads(SCHEMA.read_text("utf-8"))
    geojson = json.loads((NINJS_FIXTURES / "GeoJSON.json").read_text("utf-8"))
    cls = validator_for(schema)
    registry = Registry().with_resource(geojson["$id"], Resource.from_contents(geojson))
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER if formats else None)


def schema_violations(item: dict[str, Any], formats: bool = True) -> list[str]:
    validator = _validator(formats)
    return [] if validator is None else [f"{e.json_path}: {e.message}" for e in validator.iter_errors(item)]


# --- the partner ---------------------------------------------------------------------------------


def _png() -> bytes:
    """A real 2x2 PNG, so the image the ingest may fetch for the lead picture is one."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80\x40\x20" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _body(seed: int, count: int = 5) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs(random.Random(seed), count))


def item(server: HTTPServer, path: str, headline: str, body: str, *, version: str = "1",
         versioncreated: str = "2024-05-01T10:00:00Z", **extra: Any) -> dict[str, Any]:
    """A ninjs 2.1 text item as an agency writes one: its uri its web page, authors as people and in
    `by`, subjects, a genre, and a picture association with renditions, caption and credit."""
    doc: dict[str, Any] = {
        "uri": server.url_for(path),
        "standard": {"name": "ninjs", "version": "2.1",
                     "schema": "http://www.iptc.org/std/ninjs/ninjs-schema_2.1.json"},
        "type": "text",
        "representationtype": "full",
        "version": version,
        "firstcreated": "2024-05-01T09:00:00Z",
        "versioncreated": versioncreated,
        "pubstatus": "usable",
        "language": "en",
        "headlines": [{"role": "main", "value": headline}, {"role": "short", "value": headline[:10]}],
        "descriptions": [{"role": "summary", "contenttype": "text/plain", "value": "A short summary."}],
        "bodies": [{"role": "main", "contenttype": "text/html", "value": body}],
        "by": "Ana Lima and Ben Ode",
        "people": [{"name": "Ana Lima", "rel": "author"}, {"name": "Ben Ode", "rel": "author"},
                   {"name": "Mayor Cruz", "rel": "mentioned"}],
        "subjects": [{"name": "Harbour", "rel": "about"}, {"name": "Budget", "rel": "about"}],
        "genres": [{"name": "Local"}],
        "associations": [{
            "name": "mainpicture", "uri": f"urn:partner:picture:{path}", "type": "picture",
            "headlines": [{"role": "main", "value": "The harbour at dawn."}],
            "descriptions": [{"role": "alt", "value": "Boats in a harbour"}],
            "by": "Photo: Carla Dias",
            "renditions": [
                {"name": "print", "href": server.url_for(f"/img{path}-print.png"), "contenttype": "image/png",
                 "width": 6000, "height": 4000},
                {"name": "web", "href": server.url_for(f"/img{path}.png"), "contenttype": "image/png",
                 "width": 1200, "height": 800},
                {"name": "thumbnail", "href": server.url_for(f"/img{path}-thumb.png"), "contenttype": "image/png",
                 "width": 120, "height": 80},
            ],
        }],
    }
    doc.update(extra)
    return doc


def serve(server: HTTPServer, *documents: Any, check_schema: bool = True) -> None:
    """Serve the endpoint's answers, one a request in turn (the last one from then on), each item in them
    checked against the official schema first: what the tests feed the kind is ninjs, not our idea of it."""
    if check_schema:
        for document in documents:
            items = document if isinstance(document, list) else document.get("items", [document])
            for entry in items:
                assert schema_violations(entry) == [], entry.get("uri")
    answers = [json.dumps(d) for d in documents]

    def answer(_request: Request) -> Response:
        return Response(answers.pop(0) if len(answers) > 1 else answers[0], content_type="application/json")

    server.expect_request(ENDPOINT).respond_with_handler(answer)


def _services(tmp_path: Path, server: HTTPServer, options: str = "") -> Services:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - id: partner\n    name: Harbour Times\n    allowed_domains: [127.0.0.1, localhost]\n"
        "    allow_private_networks: ['127.0.0.1/8', '::1']\n"
        "    ignore_robots: true\n    ignore_robots_reason: a test partner on loopback\n"
        f"    discover:\n      - kind: ninjs\n        url: '{server.url_for(ENDPOINT)}'\n{options}")
    (config / "outlets.yaml").write_text(
        f"outlets:\n  - id: files\n    kind: files\n    directory: {tmp_path / 'out'}\n")
    server.expect_request(re.compile(r"^/img/.*")).respond_with_data(_png(), content_type="image/png")
    return Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                   "SYNDICATION_FETCH_TIMEOUT": "5"}))


def poll(services: Services) -> tuple[PollReport, list[str]]:
    queued: list[str] = []
    withdrawn: list[str] = []
    report = poll_source(services, "partner", lambda _source, url: queued.append(url), withdrawn.append)
    return report, queued


def poll_and_ingest(services: Services) -> list[str]:
    report, queued = poll(services)
    assert report.errors == []
    for url in queued:
        ingest_url(services, "partner", url, None, lambda *_d: None)
    return queued


def page_requests(server: HTTPServer) -> list[str]:
    """What the partner served besides the endpoint and the pictures: article pages."""
    return [r.path for r, _ in server.log if r.path != ENDPOINT and not r.path.startswith("/img/")]


# --- items stored as articles --------------------------------------------------------------------


def test_a_list_endpoint_stores_each_item_as_its_article_without_fetching_a_page(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    items = [item(httpserver, f"/news/{n}.html", f"Harbour story {n}", _body(n)) for n in range(3)]
    serve(httpserver, items)
    services = _services(tmp_path, httpserver)

    assert len(poll_and_ingest(services)) == 3
    assert page_requests(httpserver) == []
    [endpoint_request] = [r for r, _ in httpserver.log if r.path == ENDPOINT]
    assert endpoint_request.headers["Accept"] == NINJS_ACCEPT
    articles = {a.url: a for a in services.store.list_articles()}
    article = articles[httpserver.url_for("/news/1.html")]
    assert article.headline == "Harbour story 1"
    assert [a.name for a in article.authors] == ["Ana Lima", "Ben Ode"]  # people related as authors, not "mentioned"
    assert article.body_text.split("\n\n") == paragraphs(random.Random(1), 5)
    assert article.description == "A short summary."
    assert article.published == datetime(2024, 5, 1, 9, tzinfo=timezone.utc)
    assert article.updated == datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    assert (article.tags, article.section, article.language) == (["Harbour", "Budget"], "Local", "en")
    assert article.lead_image == Image(url=httpserver.url_for("/img/news/1.html.png"), caption="The harbour at dawn.",
                                       credit="Photo: Carla Dias", alt="Boats in a harbour", width=1200, height=800)
    assert article.attribution == "From Harbour Times" and article.source.id == "partner"


@pytest.mark.parametrize("envelope", ["single", "items", "data", "_items"])
def test_a_single_item_endpoint_and_the_envelopes_apis_use_are_read(
    tmp_path: Path, httpserver: HTTPServer, envelope: str
) -> None:
    one = item(httpserver, "/news/only.html", "The only story", _body(3))
    assert schema_violations(one) == []
    document: Any = one if envelope == "single" else {envelope: [one], "_meta": {"total": 1}}
    httpserver.expect_request(ENDPOINT).respond_with_data(json.dumps(document), content_type="application/json")
    services = _services(tmp_path, httpserver)

    assert poll_and_ingest(services) == [httpserver.url_for("/news/only.html")]
    [article] = services.store.list_articles()
    assert article.headline == "The only story" and page_requests(httpserver) == []


def test_ap_style_feed_entries_and_a_picture_item_in_the_list(tmp_path: Path, httpserver: HTTPServer) -> None:
    story = item(httpserver, "/news/ap.html", "Wrapped story", _body(4))
    picture = {"uri": httpserver.url_for("/media/photo-1"), "type": "picture",
               "renditions": [{"name": "main", "href": httpserver.url_for("/img/photo-1.png")}]}
    document = {"api_version": "2", "data": {"current_item_count": 2, "items": [
        {"meta": {"score": 1}, "item": story}, {"meta": {"score": 1}, "item": picture}]}}
    httpserver.expect_request(ENDPOINT).respond_with_data(json.dumps(document), content_type="application/json")
    services = _services(tmp_path, httpserver)

    assert poll_and_ingest(services) == [httpserver.url_for("/news/ap.html")]  # the picture is no article


def test_an_unchanged_endpoint_costs_one_conditional_request_and_parses_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    document = json.dumps([item(httpserver, "/news/0.html", "Harbour story", _body(0))])

    def answer(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(document, content_type="application/json", headers={"ETag": '"v1"'})

    httpserver.expect_request(ENDPOINT).respond_with_handler(answer)
    services = _services(tmp_path, httpserver)

    assert len(poll_and_ingest(services)) == 1
    report, queued = poll(services)
    assert (report.errors, queued, report.not_modified) == ([], [], [httpserver.url_for(ENDPOINT)])
    assert [r.headers.get("If-None-Match") for r, _ in httpserver.log if r.path == ENDPOINT] == [None, '"v1"']


# --- versions and withdrawals --------------------------------------------------------------------


def test_a_new_version_makes_one_new_version_and_an_unchanged_item_nothing(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    path = "/news/0.html"
    first = item(httpserver, path, "Harbour story", _body(0))
    edited = item(httpserver, path, "Harbour story", _body(0) + "<p>A correction was added to this story.</p>",
                  version="2", versioncreated="2024-05-02T08:00:00Z")
    serve(httpserver, [first], [first], [edited], [edited])
    services = _services(tmp_path, httpserver)

    assert poll_and_ingest(services) == [httpserver.url_for(path)]
    assert poll_and_ingest(services) == []  # the same item again: nothing to ingest
    assert poll_and_ingest(services) == [httpserver.url_for(path)]
    assert poll_and_ingest(services) == []
    [article] = services.store.list_articles()
    assert article.version == 2 and article.body_text.endswith("A correction was added to this story.")
    assert article.updated == datetime(2024, 5, 2, 8, tzinfo=timezone.utc)
    assert page_requests(httpserver) == []


def test_a_version_bump_alone_is_re_read_and_the_store_keeps_the_article_as_it_was(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    path = "/news/0.html"
    serve(httpserver, [item(httpserver, path, "Harbour story", _body(0))],
          [item(httpserver, path, "Harbour story", _body(0), version="2")])
    services = _services(tmp_path, httpserver)

    assert poll_and_ingest(services) == [httpserver.url_for(path)]
    report, queued = poll(services)
    assert queued == [httpserver.url_for(path)]  # `version` alone is in the fingerprint
    assert ingest_url(services, "partner", queued[0], None, lambda *_d: None).outcome == "unchanged"
    [article] = services.store.list_articles()
    assert article.version == 1


@pytest.mark.parametrize("status", ["canceled", "withheld"])
def test_pubstatus_canceled_or_withheld_withdraws_the_article(
    tmp_path: Path, httpserver: HTTPServer, status: str
) -> None:
    path = "/news/0.html"
    serve(httpserver, [item(httpserver, path, "Harbour story", _body(0)),
                       item(httpserver, "/news/1.html", "Other story", _body(1))],
          [item(httpserver, path, "Harbour story", _body(0), version="2",
                versioncreated="2024-05-02T08:00:00Z", pubstatus=status),
           item(httpserver, "/news/1.html", "Other story", _body(1))])
    services = _services(tmp_path, httpserver)
    assert len(poll_and_ingest(services)) == 2
    articles = {a.url: a for a in services.store.list_articles()}

    withdrawals: list[str] = []
    report = poll_source(services, "partner", lambda *_a: None, withdrawals.append)
    assert report.errors == [] and report.withdrawn == [httpserver.url_for(path)]
    assert withdrawals == [articles[httpserver.url_for(path)].id]
    assert services.store.is_withdrawn(articles[httpserver.url_for(path)].id)
    assert not services.store.is_withdrawn(articles[httpserver.url_for("/news/1.html")].id)


def test_an_embargoed_item_waits_for_a_later_poll(tmp_path: Path, httpserver: HTTPServer) -> None:
    serve(httpserver, [
        item(httpserver, "/news/later.html", "Embargoed story", _body(2), embargoed="2999-01-01T00:00:00Z"),
        item(httpserver, "/news/now.html", "Story for now", _body(3), embargoed="2000-01-01T00:00:00Z")])
    services = _services(tmp_path, httpserver)

    assert poll_and_ingest(services) == [httpserver.url_for("/news/now.html")]


def test_a_teaser_item_without_a_body_is_read_from_its_page(tmp_path: Path, httpserver: HTTPServer) -> None:
    teaser = item(httpserver, "/news/teaser.html", "Teaser story", "", representationtype="partial")
    del teaser["bodies"]
    serve(httpserver, [teaser, item(httpserver, "/news/whole.html", "Whole story", _body(1))])
    httpserver.expect_request("/news/teaser.html").respond_with_data(
        f"<html><head><title>Teaser story</title></head><body><article><h1>Teaser story</h1>{_body(9)}"
        "</article></body></html>", content_type="text/html")
    services = _services(tmp_path, httpserver)

    assert len(poll_and_ingest(services)) == 2
    assert page_requests(httpserver) == ["/news/teaser.html"]
    articles = {a.url: a for a in services.store.list_articles()}
    assert articles[httpserver.url_for("/news/teaser.html")].body_text.split("\n\n") == paragraphs(random.Random(9), 5)


# --- the URL an item is stored under -------------------------------------------------------------


def test_an_item_whose_uri_is_no_web_url_is_stored_under_its_web_link_or_skipped_saying_so(
    tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    by_link = item(httpserver, "/x", "Story with a web link", _body(5), uri="urn:partner:item:1",
                   altids=[{"role": "originaltransmissionreference", "value": "abc"}])
    by_link_json = {**by_link, "links": [{"rel": "canonical", "href": "/news/linked.html", "contenttype": "text/html"}]}
    by_altid = item(httpserver, "/x", "Story with a web altid", _body(6), uri="urn:partner:item:2",
                    altids=[{"role": "canonical-url", "value": httpserver.url_for("/news/altid.html")}])
    script = item(httpserver, "/x", "Story with a script uri", _body(7), uri="javascript:alert(1)")
    elsewhere = item(httpserver, "/x", "Story on another site", _body(8), uri="https://elsewhere.example/story")
    assert [schema_violations(i) for i in (by_link, by_altid, script, elsewhere)] == [[]] * 4
    # `links` is no ninjs 2.1 property: that item is served as the APIs that add one do
    serve(httpserver, [by_link_json, by_altid, script, elsewhere], check_schema=False)
    services = _services(tmp_path, httpserver)

    with caplog.at_level(logging.WARNING, logger="worker.discover.ninjs"):
        queued = poll_and_ingest(services)
    assert queued == [httpserver.url_for("/news/linked.html"), httpserver.url_for("/news/altid.html")]
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 2
    assert "'javascript:alert(1)'" in skipped[0] and "'https://elsewhere.example/story'" in skipped[1]
    assert "allowed domains" in skipped[0]
    assert page_requests(httpserver) == []


# --- hostile JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "says"), [
    (b"<html><body>Log in</body></html>", "not JSON"),
    (b"{\"items\": [", "not JSON"),
    (b"[" * 200_000 + b"]" * 200_000, "nests too deeply"),
    (b"\"a string\"", "not a ninjs item"),
    (b"42", "not a ninjs item"),
    (b"{\"status\": \"ok\", \"count\": 3}", "neither a ninjs item"),
    (b"{\"n\": 1" + b"0" * 5000 + b"}", "not JSON"),  # past int's digit limit
], ids=["html", "truncated", "nesting", "string", "number", "object", "huge-number"])
def test_an_answer_that_is_not_ninjs_is_refused_by_name(
    tmp_path: Path, httpserver: HTTPServer, answer: bytes, says: str
) -> None:
    httpserver.expect_request(ENDPOINT).respond_with_data(answer, content_type="application/json")
    services = _services(tmp_path, httpserver)

    with pytest.raises(PermanentError, match="every discovery entry") as refused:
        poll(services)
    assert f"ninjs_invalid: {httpserver.url_for(ENDPOINT)}: " in refused.value.reason and says in refused.value.reason
    assert services.store.list_articles() == []


def test_an_answer_sent_as_html_is_refused_by_its_content_type(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request(ENDPOINT).respond_with_data(json.dumps([]), content_type="text/html")
    services = _services(tmp_path, httpserver)

    with pytest.raises(PermanentError, match=r"ninjs_invalid: .*the endpoint sent 'text/html', not JSON"):
        poll(services)


def test_the_document_is_refused_by_name_before_any_item_is_looked_at() -> None:
    with pytest.raises(NinjsDocumentError, match="nests too deeply"):
        parse_document(b"[" * 100_000, "https://p.example/api")
    with pytest.raises(NinjsDocumentError, match="not JSON"):
        parse_document(b"\xff\xfe\x00", "https://p.example/api")
    assert parse_document(b"[]", "https://p.example/api") == []
    many = json.dumps([{"uri": f"urn:x:{n}"} for n in range(50)]).encode()
    assert len(parse_document(many, "https://p.example/api", max_items=7)) == 7


def test_items_of_the_wrong_shape_are_skipped_or_read_for_what_they_hold(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    good = item(httpserver, "/news/good.html", "Good story", _body(1))
    wrong_types = {
        "uri": httpserver.url_for("/news/wrong.html"), "type": "text", "version": [1], "versioncreated": 7,
        "headlines": "not a list", "headline": "Wrong types story",  # ninjs 1.x's headline is read too
        "bodies": [5, None, {"value": ["x"]}, {"contenttype": "text/html", "value": _body(2)}],
        "people": {"name": 3}, "by": {"x": 1}, "subjects": [{"name": None}, "Harbour", {"name": "Port"}],
        "descriptions": [{"role": 1, "value": 2}], "associations": [{"type": "picture", "uri": "javascript:x",
                                                                      "renditions": [{"href": "javascript:alert(1)"}]}],
        "language": ["en"], "pubstatus": 0, "embargoed": {"at": "never"}, "firstcreated": "not a date",
    }
    deep = {"uri": httpserver.url_for("/news/deep.html"), "headlines": [{"value": "Deep story"}],
            "bodies": [{"contenttype": "text/html", "value": _body(3)}], "subjects": [[[[[[[[[["deep"]]]]]]]]]]}
    first = paragraphs(random.Random(4), 1)[0]
    scripted = item(httpserver, "/news/scripted.html", "Scripted story",
                    f"<script>alert(1)</script><p onclick='x()'>{first}</p>{_body(5)}")
    httpserver.expect_request(ENDPOINT).respond_with_data(
        json.dumps([1, "two", None, [good], good, wrong_types, deep, scripted, {"type": "text"}]),
        content_type="application/json")
    services = _services(tmp_path, httpserver)

    queued = poll_and_ingest(services)
    assert queued == [httpserver.url_for(p) for p in ("/news/good.html", "/news/wrong.html", "/news/deep.html",
                                                      "/news/scripted.html")]
    articles = {a.url: a for a in services.store.list_articles()}
    wrong = articles[httpserver.url_for("/news/wrong.html")]
    assert wrong.headline == "Wrong types story"
    assert wrong.tags == ["Port"] and wrong.lead_image is None and wrong.authors == []
    assert wrong.body_text.split("\n\n") == paragraphs(random.Random(2), 5)
    scripted_article = articles[httpserver.url_for("/news/scripted.html")]
    assert "<script" not in scripted_article.body_html and "alert(1)" not in scripted_article.body_html
    assert "onclick" not in scripted_article.body_html


def test_a_plain_text_body_is_escaped_paragraphs_and_other_systems_shapes_are_read() -> None:
    """A text/plain body (markup in it is text), Superdesk's `authors` objects, a picture credited by its
    copyrightholder, renditions and associations keyed by name (AP), ninjs 1.x's flat fields."""
    source = Source(id="partner", name="Partner", allowed_domains=["p.example"])
    plain = {
        "uri": "https://p.example/news/plain", "version": "4",
        "headlines": [{"value": "Plain story"}],
        "bodies": [{"role": "main", "contenttype": "text/plain",
                    "value": "First <b>line</b> & more\nstill the first.\n\nSecond paragraph."}],
        "authors": [{"name": "Dee Desk", "role": "writer"}, "Eli Ward", 7],
        "associations": {"featuremedia": {"type": "picture", "uri": "urn:x", "copyrightholder": "Agency",
                                          "renditions": {"baseImage": {"href": "/img/base.jpg", "width": 1400}}}},
    }
    legacy = {"uri": "https://p.example/news/legacy", "headline": "Legacy story", "byline": "By Fay Gu",
              "body_html": "<p>Legacy body.</p>", "description_text": "Legacy summary."}
    document = json.dumps({"_items": [plain, legacy], "_meta": {"total": 2}}).encode()
    first, second = parse_ninjs(document, "https://p.example/api/items", source)
    assert first.item is not None and second.item is not None
    assert first.item.body_html == ("<p>First &lt;b&gt;line&lt;/b&gt; &amp; more still the first.</p>"
                                    "<p>Second paragraph.</p>")
    assert first.item.authors == ["Dee Desk", "Eli Ward"]
    assert first.item.lead_image is not None
    assert (first.item.lead_image.url, first.item.lead_image.credit) == ("https://p.example/img/base.jpg", "Agency")
    article = article_from_declared(first.item, source)
    assert article.body_text == "First <b>line</b> & more still the first.\n\nSecond paragraph."
    assert (second.item.headline, second.item.authors, second.item.description) == (
        "Legacy story", ["Fay Gu"], "Legacy summary.")


# --- our own ninjs, read back --------------------------------------------------------------------


def _our_article(server: HTTPServer) -> Article:
    """An article as the product stores one (made canonical by the same extraction step), on the
    loopback partner's host. Its authors have no roles: a declared article carries names only."""
    declared = DeclaredArticle(
        url=server.url_for("/news/ours.html"), headline="Coalition Begins Clearing Out Last Pockets",
        description="Coalition forces have begun attacks.", authors=["Henry Bevington", "Jane Roe"],
        published=datetime(2017, 9, 22, 18, 5, tzinfo=timezone.utc),
        updated=datetime(2017, 9, 22, 19, 40, 12, tzinfo=timezone.utc),
        section="World News", tags=["ISIS", "Iraq"], language="en",
        lead_image=DeclaredImage(url=server.url_for("/img/ours.png"), caption="Paratroopers.", credit="Army photo",
                                 alt="Paratroopers", width=1200, height=800),
        body_html=_body(11),
    )
    return article_from_declared(declared, Source(id="partner", name="Harbour Times", allowed_domains=["localhost"]))


ROUND_TRIP_FIELDS = ("url", "headline", "description", "published", "updated", "section", "tags", "language",
                     "lead_image", "body_html", "body_text", "source", "attribution", "content_hash")


def test_the_ninjs_our_product_writes_reads_back_through_the_kind_as_the_same_article(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    original = _our_article(httpserver)
    document = to_ninjs(original)
    serve(httpserver, document)  # validated against the official schema on the way
    services = _services(tmp_path, httpserver)

    assert poll_and_ingest(services) == [original.url]
    [stored] = services.store.list_articles()
    assert {f: getattr(stored, f) for f in ROUND_TRIP_FIELDS} == {f: getattr(original, f) for f in ROUND_TRIP_FIELDS}
    assert [a.name for a in stored.authors] == [a.name for a in original.authors]
    assert page_requests(httpserver) == []


def test_our_older_ninjs_documents_read_through_the_kind() -> None:
    """Documents of the mapping before the schema fix (tests/fixtures/ninjs/old-mapping/: genres with a
    rel, null altids, a top-level $schema) are still read: stored and received ones look like this."""
    folder = NINJS_FIXTURES / "old-mapping"
    if not folder.is_dir():
        pytest.skip("tests/fixtures/ninjs/old-mapping/ is not there")
    for path in sorted(folder.glob("*.json")):
        doc = json.loads(path.read_text("utf-8"))
        canonical = next(a["value"] for a in doc["altids"] if a["role"] == "canonical-url")
        host = canonical.split("/")[2]
        source = Source(id="partner", name="Partner", allowed_domains=[host])
        [candidate] = parse_ninjs(path.read_bytes(), "http://api.example/ninjs", source)
        assert candidate.url == canonical and candidate.item is not None
        article = article_from_declared(candidate.item, source)
        assert article.headline == doc["headlines"][0]["value"], path.name
        expected_section = next((g["name"] for g in doc.get("genres", []) if g.get("rel") == "section"), None)
        assert article.section == expected_section, path.name
        assert [a.name for a in article.authors] == [p["name"] for p in doc.get("people", [])], path.name


# --- IPTC's own documents ------------------------------------------------------------------------


def test_the_documents_the_tests_serve_are_ninjs_that_the_official_schema_accepts(httpserver: HTTPServer) -> None:
    if _validator() is None:
        pytest.skip("tests/fixtures/ninjs/ does not hold the official ninjs 2.1 schema yet")
    assert schema_violations(item(httpserver, "/news/0.html", "Harbour story", _body(0))) == []
    assert schema_violations(item(httpserver, "/news/0.html", "Harbour story", _body(0), pubstatus="canceled")) == []
    assert schema_violations(to_ninjs(_our_article(httpserver))) == []
    assert schema_violations({"uri": "x", "pubstatus": "gone"}) != []  # the validator does refuse


def test_iptc_example_documents_read_through_the_kind() -> None:
    """IPTC's examples (tests/fixtures/ninjs/iptc-examples/): those whose uri is a web URL are articles;
    the agency texts identified by a urn name no web page, and are skipped by name, not by a crash."""
    folder = NINJS_FIXTURES / "iptc-examples"
    if not folder.is_dir():
        pytest.skip("tests/fixtures/ninjs/iptc-examples/ is not there")
    source = Source(id="partner", name="Partner",
                    allowed_domains=["tt.se", "ninjs.example.com", "businesswire.com", "dpa.com", "ntb.no"])
    read: dict[str, Article] = {}
    for path in sorted(folder.glob("*.json")):
        # as the schema says; IPTC's renditions example has a uri ("renditions-example") that is no RFC 3986 URI
        assert schema_violations(json.loads(path.read_text("utf-8")), formats=False) == [], path.name
        for candidate in parse_ninjs(path.read_bytes(), "https://api.example/ninjs", source):
            assert candidate.item is not None
            read[path.name] = article_from_declared(candidate.item, source)
    assert sorted(read) == ["003_associations_example.json", "ninjsExSimpleText_2.json", "tt_text_image_2.json"]
    simple = read["ninjsExSimpleText_2.json"]
    assert simple.headline == "Captain of wrecked cruise ship on trial in Italy"
    assert [a.name for a in simple.authors] == ["Paulo Santalucia", "Frances d'Emilio"]
    assert len(simple.body_text.split("\n\n")) == 4  # the HTML body, not the one-paragraph text body
    tt = read["tt_text_image_2.json"]
    assert tt.lead_image is not None and tt.lead_image.width == 1024  # the web-size rendition, not the 4724 px one
    assert tt.lead_image.credit == "Karl Melander/TT" and tt.lead_image.caption.startswith("En stor internationell")
    assert (tt.language, tt.section, tt.tags) == ("sv", "Inrikes", ["Krig, konflikter och oroligheter"])
    picture = read["003_associations_example.json"].lead_image
    assert picture is not None and picture.url.endswith("/0025lf.jpg")  # the picture, not the logo graphic


# --- config --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lines", "line", "field", "message"), [
    ("        url: https://p.example/api/ninjs\n        max_items: 0\n", 8, "discover.ninjs.max_items",
     "Input should be greater than or equal to 1"),
    ("        url: ftp://p.example/api/ninjs\n", 7, "discover.ninjs.url", "must be an absolute http"),
    ("        url: https://p.example/api/ninjs\n        body_from: feed\n", 8, "discover.ninjs.body_from",
     "Extra inputs are not permitted"),
])
def test_a_bad_ninjs_entry_is_refused_at_load_naming_file_line_and_field(
    tmp_path: Path, lines: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - id: partner\n    name: Partner\n    allowed_domains: [p.example]\n    discover:\n"
                    f"      - kind: ninjs\n{lines}")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(path))}, line {line}, source 'partner', "
                                          rf"field '{re.escape(field)}': .*{re.escape(message)}"):
        load_sources(path)
