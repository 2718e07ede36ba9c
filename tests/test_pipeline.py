"""Ingest and delivery as plain functions (no broker): real HTTP on loopback, real SQLite, files outlet."""
from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from pytest_httpserver import HTTPServer, RequestHandler

from tests.plugins.celery_worker import ROOT, SOURCES_YAML
from tests.support.partner_pages import paragraphs
from worker.errors import (
    DomainNotAllowedError,
    EmptyPageError,
    FetchFailedError,
    GoneError,
    HttpStatusError,
    NotHtmlError,
    OutletRejectedError,
    OutletUnavailableError,
    PrivateAddressError,
)
from worker.outlets.base import Outlet, OutletOptions, RemoteRef
from worker.flow.deliver import deliver_article
from worker.flow.ingest import ingest_url
from worker.flow.poll import poll_source
from worker.flow.services import Services
from worker.schema import Article, article_id_for
from worker.settings import load_settings
from worker.store import DeliveryState

FIXTURE = ROOT / "tests/fixtures/partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"


class RejectingOutlet(Outlet):
    """An outlet that refuses every article, as a remote system answering 422 would."""

    kind = "rejecting"
    options_model = OutletOptions

    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        raise OutletRejectedError("the outlet said 422: missing category")


class WithdrawnWhilePublishingOutlet(Outlet):
    """An outlet during whose publish the partner withdraws the article (`during_publish` runs then), and
    whose first take-down fails as a busy remote system's would."""

    kind = "withdrawn-while-publishing"
    options_model = OutletOptions
    during_publish: ClassVar[Callable[[], None]] = staticmethod(lambda: None)
    take_down_failures: ClassVar[int] = 1
    taken_down: ClassVar[list[str]] = []

    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        type(self).during_publish()
        return RemoteRef(article.id)

    def withdraw(self, remote: RemoteRef, reason: str) -> None:
        if type(self).take_down_failures > 0:
            type(self).take_down_failures -= 1
            raise OutletUnavailableError("the outlet answered 503")
        type(self).taken_down.append(remote.id)


@pytest.fixture
def services(tmp_path: Path) -> Services:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(SOURCES_YAML)
    (config / "outlets.yaml").write_text(
        f"outlets:\n  - id: files\n    kind: files\n    directory: {tmp_path / 'out'}\n"
        "  - id: rejecting\n    kind: tests.test_pipeline:RejectingOutlet\n    enabled: false\n"
    )
    return Services(load_settings({
        "CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
        "SYNDICATION_FETCH_TIMEOUT": "5",
    }))


def queue() -> tuple[list[tuple[str, int, str]], object]:
    queued: list[tuple[str, int, str]] = []
    return queued, lambda article_id, version, outlet_id: queued.append((article_id, version, outlet_id))


def test_ingest_stores_and_routes_then_delivery_is_once(services: Services, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a.html").respond_with_data(FIXTURE.read_bytes(), content_type="text/html")
    queued, enqueue = queue()
    report = ingest_url(services, "theepochtimes", httpserver.url_for("/a.html"), None, enqueue)
    assert report.outcome == "new" and report.version == 1
    assert queued == [(report.article_id, 1, "files")]  # the disabled outlet is not routed to
    first = deliver_article(services, report.article_id, 1, "files")
    second = deliver_article(services, report.article_id, 1, "files")
    assert first.state == second.state == DeliveryState.DELIVERED
    assert second.attempts == 1  # the second call saw the ledger and did not publish again
    log = (Path(services.outlet("files").directory) / "publish.log").read_text().splitlines()  # type: ignore[attr-defined]
    assert len(log) == 1


def test_a_take_down_that_fails_after_a_late_delivery_is_tried_again_by_the_retry(
    services: Services, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the partner withdraws the article while the outlet publishes it: the withdraw messages went out
    # before this outlet held it, so the delivery takes its own copy down; the first try fails (503)
    _rewrite_outlets(services, "outlets:\n  - id: late\n    kind: tests.test_pipeline:WithdrawnWhilePublishingOutlet\n")
    httpserver.expect_request("/a.html").respond_with_data(FIXTURE.read_bytes(), content_type="text/html")
    report = ingest_url(services, "theepochtimes", httpserver.url_for("/a.html"), ["late"], queue()[1])
    article_id = report.article_id
    monkeypatch.setattr(WithdrawnWhilePublishingOutlet, "during_publish",
                        staticmethod(lambda: services.store.mark_withdrawn(article_id, "gone")))
    monkeypatch.setattr(WithdrawnWhilePublishingOutlet, "take_down_failures", 1)
    monkeypatch.setattr(WithdrawnWhilePublishingOutlet, "taken_down", [])
    with pytest.raises(OutletUnavailableError):  # transient: the deliver task retries
        deliver_article(services, article_id, 1, "late")
    row = deliver_article(services, article_id, 1, "late")  # the retry
    assert row.state == DeliveryState.DELIVERED and row.attempts == 1  # published once
    assert WithdrawnWhilePublishingOutlet.taken_down == [article_id]
    assert services.store.get_delivery(article_id, 1, "late").withdrawn_at is not None
    deliver_article(services, article_id, 1, "late")  # a later re-run: the outlet is told once
    assert WithdrawnWhilePublishingOutlet.taken_down == [article_id]


def test_permanent_outlet_error_is_recorded_on_the_ledger(services: Services, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a.html").respond_with_data(FIXTURE.read_bytes(), content_type="text/html")
    queued, enqueue = queue()
    report = ingest_url(services, "theepochtimes", httpserver.url_for("/a.html"), ["rejecting"], enqueue)
    assert queued == [(report.article_id, 1, "rejecting")]
    with pytest.raises(OutletRejectedError):
        deliver_article(services, report.article_id, 1, "rejecting")
    row = services.store.get_delivery(report.article_id, 1, "rejecting")
    assert row is not None and row.state == DeliveryState.FAILED
    assert "missing category" in (row.last_error or "")


@pytest.mark.parametrize(
    ("path", "respond", "error", "code"),
    [
        ("/doc.pdf", {"response_data": b"%PDF", "content_type": "application/pdf"}, NotHtmlError, "not_html"),
        ("/empty.html", {"response_data": b"  \n", "content_type": "text/html"}, EmptyPageError, "empty_page"),
        ("/gone.html", {"response_data": b"gone", "status": 410, "content_type": "text/html"}, GoneError, "gone"),
        ("/secret.html", {"response_data": b"no", "status": 403, "content_type": "text/html"}, HttpStatusError, "http_status"),
    ],
)
def test_bad_pages_fail_permanently_and_are_recorded(
    services: Services, httpserver: HTTPServer, path: str, respond: dict, error: type, code: str
) -> None:
    httpserver.expect_request(path).respond_with_data(**respond)
    url = httpserver.url_for(path)
    queued, enqueue = queue()
    with pytest.raises(error):
        ingest_url(services, "theepochtimes", url, None, enqueue)
    assert queued == []
    assert [(f.url, f.code) for f in services.store.ingest_failures()] == [(url, code)]
    assert services.store.list_articles() == []


def test_url_outside_allowed_domains_is_refused_before_any_request(services: Services, httpserver: HTTPServer) -> None:
    queued, enqueue = queue()
    url = "http://elsewhere.example/a.html"  # never resolved: the check happens before any DNS lookup
    with pytest.raises(DomainNotAllowedError, match="allowed_domains"):
        ingest_url(services, "theepochtimes", url, None, enqueue)
    assert [f.code for f in services.store.ingest_failures()] == ["domain_not_allowed"]


def test_redirect_outside_allowed_domains_is_refused(services: Services, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/moved").respond_with_data(
        "", status=302, headers={"Location": "http://evil.example/a.html"})
    queued, enqueue = queue()
    with pytest.raises(DomainNotAllowedError, match="evil.example"):
        ingest_url(services, "theepochtimes", httpserver.url_for("/moved"), None, enqueue)


def test_server_errors_are_transient_and_not_recorded_as_failures(services: Services, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/busy").respond_with_data("busy", status=503, headers={"Retry-After": "7"})
    queued, enqueue = queue()
    with pytest.raises(FetchFailedError) as caught:
        ingest_url(services, "theepochtimes", httpserver.url_for("/busy"), None, enqueue)
    assert caught.value.retry_after == 7
    assert services.store.ingest_failures() == []


def _rewrite_outlets(services: Services, text: str) -> None:
    path = services.settings.config_dir / "outlets.yaml"
    path.write_text(text)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))  # a new mtime even on a coarse-clock filesystem


def test_routing_rules_pick_the_outlets(services: Services, httpserver: HTTPServer, tmp_path: Path) -> None:
    _rewrite_outlets(services,
        f"outlets:\n  - id: world\n    kind: files\n    directory: {tmp_path / 'w'}\n"
        "    routing: {sections: [World News]}\n"
        f"  - id: sports\n    kind: files\n    directory: {tmp_path / 's'}\n"
        "    routing: {sections: [Sports]}\n")
    httpserver.expect_request("/a.html").respond_with_data(FIXTURE.read_bytes(), content_type="text/html")
    queued, enqueue = queue()
    report = ingest_url(services, "theepochtimes", httpserver.url_for("/a.html"), None, enqueue)
    assert queued == [(report.article_id, 1, "world")]


def test_config_edits_reach_a_running_worker_and_broken_edits_are_ignored(services: Services, tmp_path: Path) -> None:
    assert set(services.config.outlets) == {"files", "rejecting"}
    _rewrite_outlets(services, f"outlets:\n  - id: newsroom\n    kind: files\n    directory: {tmp_path / 'n'}\n")
    assert set(services.config.outlets) == {"newsroom"}
    _rewrite_outlets(services, "outlets:\n  - id: broken\n    kind: files\n")  # no directory
    assert set(services.config.outlets) == {"newsroom"}


# --- hostile partners: private ports, other partners' canonical links ----------------------------------

def _rewrite_sources(services: Services, text: str) -> None:
    path = services.settings.config_dir / "sources.yaml"
    path.write_text(text)
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))


def _story(headline: str, canonical: str, seed: int) -> bytes:
    """A plain article page whose words no other seed shares (so near-duplicate detection stays out of it)."""
    text = "".join(f"<p>{paragraph}</p>" for paragraph in paragraphs(random.Random(seed), 5))
    return (f"<!doctype html><html lang='en'><head><title>{headline}</title>"
            f"<link rel='canonical' href='{canonical}'></head>"
            f"<body><article><h1>{headline}</h1>{text}</article></body></html>").encode()


def _answers_story(expectation: RequestHandler, headline: str, canonical: str, seed: int) -> None:
    """The expected request is answered with _story's page."""
    expectation.respond_with_data(_story(headline, canonical, seed), content_type="text/html")


def _partner(source_id: str, domain: str, allow: str, discover: str = "[]") -> str:
    return (f"  - id: {source_id}\n    name: {source_id.title()}\n    allowed_domains: [{domain}]\n"
            f"    allow_private_networks: {allow}\n    discover: {discover}\n"
            "    ignore_robots: true\n    ignore_robots_reason: a test partner on loopback\n")


def _alpha_and_beta(services: Services, httpserver: HTTPServer, beta_discover: str = "[]") -> tuple[str, str]:
    """Two partners on loopback under two names, alpha as 127.0.0.1 and beta as localhost, each let reach
    loopback: alpha's story URL and beta's copy URL (on the one test server)."""
    loopback = "['127.0.0.1/8', '::1']"
    _rewrite_sources(services, "sources:\n" + _partner("alpha", "127.0.0.1", loopback)
                     + _partner("beta", "localhost", loopback, beta_discover))
    return (f"http://127.0.0.1:{httpserver.port}/alpha/story.html",
            f"http://localhost:{httpserver.port}/beta/copy.html")


def test_a_feed_link_to_another_port_of_an_allowed_address_is_neither_fetched_nor_stored(
    services: Services, httpserver: HTTPServer
) -> None:
    neighbour = HTTPServer(host="127.0.0.1", port=0)  # another service on the partner's private address
    neighbour.start()
    try:
        base, other = f"http://127.0.0.1:{httpserver.port}", f"http://127.0.0.1:{neighbour.port}"
        story, admin = f"{base}/story.html", f"{other}/admin.html"
        feed = ("<?xml version='1.0'?><rss version='2.0'><channel><title>P</title><link>" + base + "/</link>"
                + "".join(f"<item><title>{t}</title><link>{u}</link></item>" for t, u in (("Story", story), ("Admin", admin)))
                + "</channel></rss>")
        httpserver.expect_request("/feed.xml").respond_with_data(feed, content_type="application/rss+xml")
        _answers_story(httpserver.expect_request("/story.html"), "Harbour Story", story, 1)
        _answers_story(neighbour.expect_request("/admin.html"), "Admin Console", admin, 2)
        _rewrite_sources(services, "sources:\n" + _partner(
            "partner", "127.0.0.1", f"['127.0.0.1:{httpserver.port}']", f"[{{kind: feed, url: '{base}/feed.xml'}}]"))

        to_ingest: list[str] = []
        poll_source(services, "partner", lambda source_id, url: to_ingest.append(url), lambda article_id: None)
        assert sorted(to_ingest) == sorted([story, admin])  # both links are on an allowed domain
        refused = []
        for url in to_ingest:
            try:
                ingest_url(services, "partner", url, None, queue()[1])
            except PrivateAddressError:
                refused.append(url)
        assert refused == [admin]
        assert neighbour.log == []  # not even connected to
        assert [a.url for a in services.store.list_articles()] == [story]
        assert [(f.url, f.code) for f in services.store.ingest_failures()] == [(admin, "private_address")]
    finally:
        neighbour.clear()
        neighbour.stop()


def test_a_canonical_link_to_another_partners_domain_does_not_take_its_article_id(
    services: Services, httpserver: HTTPServer
) -> None:
    # two partners on loopback under two names: alpha is 127.0.0.1, beta is localhost
    alpha_url, beta_url = _alpha_and_beta(services, httpserver)
    _answers_story(httpserver.expect_request("/alpha/story.html"), "Alpha Reports The Harbour Budget", alpha_url, 1)
    # beta's own text, alpha's URL as canonical
    _answers_story(httpserver.expect_request("/beta/copy.html"), "Beta Says Something Else", alpha_url, 2)

    beta = ingest_url(services, "beta", beta_url, None, queue()[1])
    assert beta.outcome == "new" and beta.article_id == article_id_for(beta_url)
    assert services.store.get_article(beta.article_id).url == beta_url
    # alpha's own article, met after beta's page: a new article of alpha's, not an edit of beta's text
    alpha = ingest_url(services, "alpha", alpha_url, None, queue()[1])
    assert (alpha.outcome, alpha.version, alpha.article_id) == ("new", 1, article_id_for(alpha_url))
    stored = services.store.get_article(alpha.article_id)
    assert (stored.source.id, stored.headline) == ("alpha", "Alpha Reports The Harbour Budget")
    # and beta's page, met again after alpha's, stays beta's own: not a copy of alpha's article
    again = ingest_url(services, "beta", beta_url, None, queue()[1])
    assert again.article_id == beta.article_id != alpha.article_id
    assert services.store.find_by_url(beta_url) == beta.article_id


def test_another_partners_copy_going_away_does_not_withdraw_the_original(
    services: Services, httpserver: HTTPServer
) -> None:
    alpha_url, beta_url = _alpha_and_beta(services, httpserver)
    _answers_story(httpserver.expect_ordered_request("/alpha/story.html"), "Alpha Reports The Harbour Budget", alpha_url, 1)
    # alpha's text, word for word
    _answers_story(httpserver.expect_ordered_request("/beta/copy.html"), "Alpha Reports The Harbour Budget", beta_url, 1)
    httpserver.expect_ordered_request("/beta/copy.html").respond_with_data("gone", status=410)
    httpserver.expect_ordered_request("/alpha/story.html").respond_with_data("gone", status=410)

    original = ingest_url(services, "alpha", alpha_url, None, queue()[1])
    copy = ingest_url(services, "beta", beta_url, None, queue()[1])
    assert (copy.outcome, copy.article_id) == ("duplicate", original.article_id)
    withdrawals: list[str] = []
    with pytest.raises(GoneError):
        ingest_url(services, "beta", beta_url, None, queue()[1], withdrawals.append)
    assert withdrawals == [] and not services.store.is_withdrawn(original.article_id)
    # the partner that published it still can
    with pytest.raises(GoneError):
        ingest_url(services, "alpha", alpha_url, None, queue()[1], withdrawals.append)
    assert withdrawals == [original.article_id] and services.store.is_withdrawn(original.article_id)


def test_another_partners_feed_marking_its_copy_withdrawn_does_not_withdraw_the_original(
    services: Services, httpserver: HTTPServer
) -> None:
    beta_feed = f"http://localhost:{httpserver.port}/beta/feed.xml"
    alpha_url, beta_url = _alpha_and_beta(services, httpserver, f"[{{kind: feed, url: '{beta_feed}'}}]")

    def feed(status: str) -> str:
        return ("<?xml version='1.0'?><rss version='2.0'><channel><title>Beta</title><link>http://localhost/</link>"
                f"<item><title>Copy</title><link>{beta_url}</link><guid>{beta_url}</guid>{status}</item></channel></rss>")

    _answers_story(httpserver.expect_ordered_request("/alpha/story.html"), "Alpha Reports The Harbour Budget", alpha_url, 1)
    httpserver.expect_ordered_request("/beta/feed.xml").respond_with_data(feed(""), content_type="application/rss+xml")
    _answers_story(httpserver.expect_ordered_request("/beta/copy.html"), "Alpha Reports The Harbour Budget", beta_url, 1)
    httpserver.expect_ordered_request("/beta/feed.xml").respond_with_data(
        feed("<pubstatus>withdrawn</pubstatus>"), content_type="application/rss+xml")

    original = ingest_url(services, "alpha", alpha_url, None, queue()[1])
    to_ingest: list[str] = []
    poll_source(services, "beta", lambda source_id, url: to_ingest.append(url), lambda article_id: None)
    assert to_ingest == [beta_url]
    assert ingest_url(services, "beta", beta_url, None, queue()[1]).article_id == original.article_id
    withdrawals: list[str] = []
    report = poll_source(services, "beta", lambda source_id, url: None, withdrawals.append)
    assert report.withdrawn == [] and withdrawals == []
    assert not services.store.is_withdrawn(original.article_id)
