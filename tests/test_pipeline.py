"""Ingest and delivery as plain functions (no broker): real HTTP on loopback, real SQLite, files outlet."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.plugins.celery_worker import ROOT, SOURCES_YAML
from worker.errors import (
    DomainNotAllowedError,
    EmptyPageError,
    FetchFailedError,
    GoneError,
    HttpStatusError,
    NotHtmlError,
    OutletRejectedError,
)
from worker.outlets.base import Outlet, OutletOptions, RemoteRef
from worker.pipeline import Services, deliver_article, ingest_url
from worker.schema import Article
from worker.settings import load_settings
from worker.store import DeliveryState

FIXTURE = ROOT / "tests/fixtures/partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"


class RejectingOutlet(Outlet):
    """An outlet that refuses every article, as a remote system answering 422 would."""

    kind = "rejecting"
    options_model = OutletOptions

    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        raise OutletRejectedError("the outlet said 422: missing category")


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
