"""The HTTP API: token on every route, validated input with readable errors, the OpenAPI document, a
schemathesis fuzz run, and the import → article → delivery path through a real worker on real Redis."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from pytest_httpserver import HTTPServer
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.plugins.browser import API_TOKEN
from tests.plugins.celery_worker import ROOT, Deployment
from worker.schema import make_article
from worker.settings import load_settings
from worker.store import Store
from worker.web.app import create_app
from worker.web.server import resolve_token

FIXTURE = ROOT / "tests/fixtures/partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
PAGE_PATH = "/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def make_app(deployment: Deployment) -> FastAPI:
    app = create_app(load_settings(deployment.env()), API_TOKEN)
    app.state.ctx.store.migrate()  # as `syndicate serve` does at start
    return app


@pytest.fixture
def client(deployment: Deployment) -> Iterator[TestClient]:
    with TestClient(make_app(deployment), raise_server_exceptions=False) as test_client:
        yield test_client


def sample(store: Store, url: str = "https://partner.test/a.html", body: str = "Forces cleared 11 villages.") -> str:
    article = make_article(
        source={"id": "theepochtimes", "name": "The Epoch Times"}, attribution="From The Epoch Times", url=url,
        headline="Coalition advances", body_html=f"<p>{body}</p>", body_text=body,
    )
    return store.upsert_article(article).article.id


# --- the token ---------------------------------------------------------------------------------------

def operations(app: FastAPI) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    found = [(method.upper(), path) for path, item in paths.items() for method in item]
    return found + [("GET", "/metrics")]


def concrete(path: str) -> str:
    return (path.replace("{import_id}", "0f0e0d0c-0000-4000-8000-000000000000")
            .replace("{article_id}", "abc123").replace("{delivery_id}", "1").replace("{source_id}", "theepochtimes"))


def test_every_api_route_answers_401_without_the_right_token(client: TestClient) -> None:
    routes = operations(client.app)  # type: ignore[arg-type]
    assert len(routes) == 11  # 10 operations and /metrics
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer wrong-token-wrong-token"}, {"Authorization": API_TOKEN}):
            # a body that would not even parse: the token is checked first, so it must not matter
            response = client.request(method, concrete(path), headers={**headers, "content-type": "application/json"},
                                       content=b"{not json")
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.json()["error"] == "unauthorized"
            assert "Authorization: Bearer" in response.json()["message"]
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/sources", headers=AUTH).status_code == 200


def test_the_server_refuses_an_open_address_without_a_token() -> None:
    from worker.errors import SyndicationError

    with pytest.raises(SyndicationError, match="refusing to listen on 0.0.0.0 without SYNDICATION_API_TOKEN"):
        resolve_token("0.0.0.0", {})
    with pytest.raises(SyndicationError, match="too short"):
        resolve_token("0.0.0.0", {"SYNDICATION_API_TOKEN": "short"})
    token, generated = resolve_token("127.0.0.1", {})
    assert generated and len(token) >= 32 and token != resolve_token("::1", {})[0]
    assert resolve_token("0.0.0.0", {"SYNDICATION_API_TOKEN": "x" * 20}) == ("x" * 20, False)


# --- input and errors --------------------------------------------------------------------------------

def test_invalid_input_is_answered_with_a_message_a_person_can_act_on(client: TestClient, deployment: Deployment) -> None:
    missing = client.post("/imports", headers=AUTH, json={"url": "http://127.0.0.1/a.html"})
    assert missing.status_code == 422
    assert missing.json() == {"error": "invalid_request", "message": "invalid request: source_id: Field required"}
    typo = client.post("/imports", headers=AUTH, json={"url": "http://127.0.0.1/a", "source_id": "theepochtimes",
                                                          "outlet": ["files"]})
    assert typo.status_code == 422 and "outlet: Extra inputs are not permitted" in typo.json()["message"]
    elsewhere = client.post("/imports", headers=AUTH, json={"url": "https://evil.example/a", "source_id": "theepochtimes"})
    assert elsewhere.status_code == 422 and elsewhere.json()["error"] == "domain_not_allowed"
    assert "not in the allowed_domains of source 'theepochtimes'" in elsewhere.json()["message"]
    unknown = client.post("/imports", headers=AUTH, json={"url": "http://127.0.0.1/a", "source_id": "nope"})
    assert unknown.status_code == 422 and "known: theepochtimes" in unknown.json()["message"]
    outlet = client.post("/imports", headers=AUTH, json={"url": "http://127.0.0.1/a", "source_id": "theepochtimes",
                                                         "outlets": ["nowhere"]})
    assert outlet.status_code == 422 and "no outlet 'nowhere' in outlets.yaml" in outlet.json()["message"]
    assert client.get("/articles/abc", headers=AUTH).json() == {
        "error": "not_found", "message": "no article abc (see GET /articles)"}
    assert client.get("/articles?limit=0", headers=AUTH).json()["message"].startswith("invalid request: query.limit")
    assert client.post("/deliveries/7/retry", headers=AUTH).status_code == 404
    assert client.post("/sources/nope/poll", headers=AUTH).status_code == 404
    manual = client.post("/sources/theepochtimes/poll", headers=AUTH)
    assert manual.status_code == 409 and "no discover: entries" in manual.json()["message"]
    assert client.get("/imports/0f0e0d0c-0000-4000-8000-000000000000", headers=AUTH).status_code == 404
    assert client.get("/no/such/path", headers=AUTH).json()["error"] == "not_found"


def test_preview_extracts_without_storing(client: TestClient, deployment: Deployment) -> None:
    html = FIXTURE.read_text(encoding="utf-8")
    response = client.post("/preview", headers=AUTH, json={"html": html, "url": "http://partner.test" + PAGE_PATH,
                                                           "source_id": "theepochtimes"})
    assert response.status_code == 200, response.text
    article = response.json()
    assert article["headline"] == "Coalition Begins Clearing Out Last ISIS Pockets in Iraq"
    assert article["attribution"] == "From The Epoch Times"
    assert article["lead_image"]["credit"] == "Army photo by Sgt. Christopher Bigelow"
    assert Store(deployment.database_url).list_articles() == []
    empty = client.post("/preview", headers=AUTH, json={"html": "<html><body></body></html>"})
    assert empty.status_code == 422 and empty.json()["error"] == "extraction_failed"
    neither = client.post("/preview", headers=AUTH, json={"source_id": "theepochtimes"})
    assert neither.status_code == 422 and "give a url to fetch, or the page's html" in neither.json()["message"]


def test_articles_are_paged_searched_and_served_as_ninjs(client: TestClient, deployment: Deployment) -> None:
    store = Store(deployment.database_url)
    ids = [sample(store, f"https://partner.test/{n}.html", f"Story number {n} about {'rain' if n % 2 else 'sun'}.")
           for n in range(5)]
    first = client.get("/articles?limit=2", headers=AUTH).json()
    second = client.get(f"/articles?limit=2&offset={first['next_offset']}", headers=AUTH).json()
    third = client.get(f"/articles?limit=2&offset={second['next_offset']}", headers=AUTH).json()
    seen = [a["id"] for page in (first, second, third) for a in page["items"]]
    assert sorted(seen) == sorted(ids) and third["next_offset"] is None
    rain = client.get("/articles?q=RAIN&limit=1", headers=AUTH).json()
    rain_next = client.get(f"/articles?q=rain&limit=1&offset={rain['next_offset']}", headers=AUTH).json()
    assert {rain["items"][0]["id"], rain_next["items"][0]["id"]} == {ids[1], ids[3]}
    assert rain_next["next_offset"] is None
    assert client.get("/articles?source=other", headers=AUTH).json()["items"] == []
    assert client.get("/articles?since=2999-01-01T00:00:00Z", headers=AUTH).json()["items"] == []
    assert len(client.get("/articles?since=2000-01-01", headers=AUTH).json()["items"]) == 5
    canonical = client.get(f"/articles/{ids[0]}", headers=AUTH).json()
    assert canonical["id"] == ids[0] and canonical["body_text"] == "Story number 0 about sun."
    ninjs = client.get(f"/articles/{ids[0]}?format=ninjs", headers=AUTH).json()
    assert ninjs["uri"] == f"urn:syndication-worker:article:{ids[0]}" and ninjs["headlines"][0]["value"] == "Coalition advances"
    sample(store, "https://partner.test/0.html", "Story number 0, corrected.")
    versions = client.get(f"/articles/{ids[0]}/versions", headers=AUTH).json()
    assert [v["version"] for v in versions] == [1, 2]
    assert client.get(f"/articles/{ids[0]}?version=1", headers=AUTH).json()["body_text"] == "Story number 0 about sun."


def test_metrics_report_the_store(client: TestClient, deployment: Deployment) -> None:
    store = Store(deployment.database_url)
    article_id = sample(store)
    sample(store, body="A second version.")
    row = store.begin_delivery(article_id, 2, "files")
    store.mark_dead(row.id, "gave up after 2 retries: outlet_unavailable")
    store.record_ingest_failure("theepochtimes", "http://127.0.0.1/x", "not_html", "a PDF")
    text = client.get("/metrics", headers=AUTH).text
    assert 'syndication_articles{source="theepochtimes"} 1.0' in text
    assert 'syndication_article_versions{source="theepochtimes"} 2.0' in text
    assert 'syndication_deliveries{outlet="files",state="dead"} 1.0' in text
    assert 'syndication_deliveries{outlet="files",state="delivered"} 0.0' in text
    assert 'syndication_ingest_failures{code="not_html",source="theepochtimes"} 1.0' in text
    assert 'syndication_http_request_seconds_count{method="GET",route="/metrics",status="200"}' not in text
    again = client.get("/metrics", headers=AUTH).text
    assert 'syndication_http_request_seconds_count{method="GET",route="/metrics",status="200"} 1.0' in again


def test_retry_reopens_the_row_and_queues_one_delivery(client: TestClient, deployment: Deployment) -> None:
    store = Store(deployment.database_url)
    article_id = sample(store)
    row = store.begin_delivery(article_id, 1, "files")
    store.mark_dead(row.id, "gave up")
    broker = redis.Redis.from_url(deployment.redis_url)
    queue = f"{deployment.key_prefix}deliver"
    response = client.post(f"/deliveries/{row.id}/retry", headers=AUTH)
    assert response.status_code == 202 and response.json()["state"] == "pending"
    assert broker.llen(queue) == 1
    message = json.loads(broker.lindex(queue, 0))
    assert message["headers"]["task"] == "syndication.deliver"
    assert message["headers"]["argsrepr"] == repr((article_id, "files"))
    again = client.post(f"/deliveries/{row.id}/retry", headers=AUTH)
    assert again.status_code == 409 and "only failed or dead deliveries are retried" in again.json()["message"]
    assert broker.llen(queue) == 1
    assert [d["state"] for d in client.get("/deliveries?state=pending", headers=AUTH).json()] == ["pending"]


# --- the whole path through a real worker -----------------------------------------------------------

@pytest.mark.integration
def test_import_is_followed_to_the_stored_article_and_its_delivery(
    client: TestClient, deployment: Deployment, httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(PAGE_PATH).respond_with_data(FIXTURE.read_text(encoding="utf-8"),
                                                           content_type="text/html; charset=utf-8")
    deployment.start_worker()
    queued = client.post("/imports", headers=AUTH, json={"url": httpserver.url_for(PAGE_PATH),
                                                         "source_id": "theepochtimes"})
    assert queued.status_code == 202, queued.text
    import_id = queued.json()["id"]
    status: dict[str, Any] = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/imports/{import_id}", headers=AUTH).json()
        if status["state"] == "stored" and [d["state"] for d in status["deliveries"]] == ["delivered"]:
            break
        time.sleep(0.3)
    assert status["state"] == "stored", (status, deployment.worker_log(-1))
    assert status["outcome"] == "new" and status["article"]["attribution"] == "From The Epoch Times"
    assert [d["state"] for d in status["deliveries"]] == ["delivered"]
    listed = client.get("/articles?q=huwayjah", headers=AUTH).json()["items"]
    assert [a["id"] for a in listed] == [status["article"]["id"]]
    assert client.get("/deliveries?state=delivered", headers=AUTH).json()[0]["outlet_id"] == "files"
    assert client.get("/sources", headers=AUTH).json()[0]["status"] == "manual only"


# --- the OpenAPI document and a fuzz run --------------------------------------------------------------

def test_the_openapi_document_is_valid(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    validate(document)
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert all(op.get("security") for item in document["paths"].values() for op in item.values())


@pytest.fixture
def api_schema(deployment: Deployment) -> Any:
    app = make_app(deployment)
    sample(Store(deployment.database_url))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_fuzzing_finds_no_server_error_and_no_schema_violation(api_schema: Any) -> None:
    """schemathesis generates requests from the OpenAPI document (30 per operation, with the token):
    no answer may be a 5xx, or differ from the documented status codes, content types and schemas."""
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def exercise(case: Any) -> None:
            response = case.call(headers=AUTH)
            case.validate_response(response, checks=checks)

        exercise()


# --- structured logs -----------------------------------------------------------------------------------

def test_json_logs_carry_the_article_and_source_on_every_line() -> None:
    import io
    import logging

    from celery import signals

    from worker.logging_setup import install_celery_logging, json_handler, log_context

    stream = io.StringIO()
    logger = logging.getLogger("tests.json_logs")
    logger.addHandler(json_handler(stream))
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("before")
        with log_context(article_id="a1", source_id="theepochtimes"):
            logger.info("fetched %s", "http://partner.test/a", extra={"status": 200})
            with log_context(outlet_id="files"):
                logger.warning("retrying")
        install_celery_logging()

        class Task:
            name = "syndication.deliver"

        signals.task_prerun.send(sender=None, task_id="t-1", task=Task(), args=("a2", "wordpress"), kwargs={})
        logger.info("in a task")
        signals.task_postrun.send(sender=None, task_id="t-1", task=Task())
        logger.info("after the task")
    finally:
        logger.removeHandler(logger.handlers[-1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["message"], e["article_id"], e["source_id"], e["outlet_id"]) for e in lines] == [
        ("before", None, None, None),
        ("fetched http://partner.test/a", "a1", "theepochtimes", None),
        ("retrying", "a1", "theepochtimes", "files"),
        ("in a task", "a2", None, "wordpress"),
        ("after the task", None, None, None),
    ]
    assert lines[1]["status"] == 200 and lines[1]["level"] == "info" and lines[3]["task_id"] == "t-1"
