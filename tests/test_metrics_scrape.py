"""/metrics as an operator scrapes it (issue 17.1): labels from closed sets whatever clients send, routes
named as the router names them (a 401 included), a read-only metrics credential, and the process's own
collectors. Read back with prometheus_client's own parser."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from worker.settings import load_settings
from worker.web.app import create_app
from worker.web.metrics import KNOWN_METHODS

API_TOKEN = "api-token-0123456789abcdef"
METRICS_TOKEN = "metrics-token-0123456789ab"


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    app = create_app(load_settings({"SYNDICATION_VAR_DIR": str(tmp_path)}), API_TOKEN, metrics_token=METRICS_TOKEN)
    return TestClient(app)


def _scrape(client: TestClient, token: str = METRICS_TOKEN) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return {family.name: [(s.name, s.labels, s.value) for s in family.samples]
            for family in text_string_to_metric_families(response.text)}


def _request_series(families: dict[str, list[tuple[str, dict[str, str], float]]]) -> set[tuple[str, str, str]]:
    return {(labels["method"], labels["route"], labels["status"])
            for name, labels, _ in families["syndication_http_request_seconds"] if name.endswith("_count")}


def test_made_up_methods_and_paths_from_anonymous_clients_add_no_series(client: TestClient) -> None:
    for n in range(50):
        client.request(f"VERB{n}", f"/articles/{n}")
        client.get(f"/no/such/path/{n}")
    series = _request_series(_scrape(client))
    assert {method for method, _, _ in series} <= KNOWN_METHODS | {"other"}
    assert {route for _, route, _ in series} <= {"/articles/{article_id}", "unmatched"}
    assert len(series) <= 4, series


def test_requests_are_counted_under_their_route_the_docs_and_a_401_included(client: TestClient) -> None:
    assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200
    assert client.get("/articles").status_code == 401
    assert client.get("/articles", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
    series = _request_series(_scrape(client))
    assert {("GET", "/openapi.json", "200"), ("GET", "/docs", "200"), ("GET", "/articles", "401"),
            ("GET", "/articles", "200")} <= series
    assert not any(route == "unmatched" for _, route, _ in series)


def test_the_metrics_token_reads_metrics_and_nothing_else(client: TestClient) -> None:
    assert client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code == 200
    for path in ("/articles", "/deliveries", "/sources"):
        assert client.get(path, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 401, path
    assert client.post("/imports", json={"url": "https://p.example/a"},
                       headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 401
    assert client.get("/metrics").status_code == 401


def test_the_metrics_token_must_differ_from_the_api_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must differ"):
        create_app(load_settings({"SYNDICATION_VAR_DIR": str(tmp_path)}), API_TOKEN, metrics_token=API_TOKEN)


def test_the_process_and_python_collectors_are_served(client: TestClient) -> None:
    families = _scrape(client)
    assert "process_resident_memory_bytes" in families and "process_cpu_seconds" in families
    assert "python_info" in families and "python_gc_objects_collected" in families


def test_the_web_serves_no_gauge_histogram_only_honest_snapshots(client: TestClient) -> None:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    families = {family.name: family.type for family in text_string_to_metric_families(response.text)}
    assert "gaugehistogram" not in families.values()
    assert families["syndication_recent_delivery_latency_seconds"] == "gauge"
    assert "_gcount" not in response.text and "_gsum" not in response.text


def test_promtool_finds_nothing_to_fix_in_the_web_scrape(client: TestClient, promtool) -> None:  # type: ignore[no-untyped-def]
    client.get("/articles")
    client.request("BREW", "/coffee")
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert promtool(text) == []
