"""A worker's own /metrics (issue 17.2): task latencies and delivery latency as real Histograms (counter
semantics, `_count` and `_sum` series), recorded in the pool children and served summed by the worker's
main process on its own loopback port. A real worker on a real Redis delivers a stored article; the
endpoint is scraped with prometheus_client's own parser."""
from __future__ import annotations

import socket
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.plugins.celery_worker import Deployment
from worker.schema import make_article
from worker.settings import load_settings
from worker.store import Store
from worker.tasks import enqueue_delivery


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _scrape(port: int) -> dict[str, tuple[str, list[tuple[str, dict[str, str], float]]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return {family.name: (family.type, [(s.name, s.labels, s.value) for s in family.samples])
            for family in text_string_to_metric_families(text)}


def _sample(families: dict, family: str, name: str, **labels: str) -> float:
    return sum(value for sample, have, value in families[family][1]
               if sample == name and all(have.get(k) == v for k, v in labels.items()))


def _text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return answer.read().decode()


def test_a_workers_deliveries_and_tasks_are_counted_in_real_histograms(deployment: Deployment, promtool) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    deployment.extra_env["SYNDICATION_WORKER_METRICS_PORT"] = str(port)
    store = Store(deployment.database_url)
    store.migrate()
    articles = []
    for n in range(2):
        article = make_article(source={"id": "theepochtimes", "name": "The Epoch Times"},
                               attribution="From The Epoch Times", url=f"https://partner.test/{n}.html",
                               headline=f"Story {n}", body_html=f"<p>Story {n} text.</p>", body_text=f"Story {n} text.")
        articles.append(store.upsert_article(article).article)
        store.plan_delivery(articles[-1].id, 1, "files")
    deployment.start_worker(concurrency=2)
    for article in articles:
        enqueue_delivery(article.id, 1, "files", via=deployment.app())
    deadline = time.monotonic() + 60
    families: dict = {}
    while time.monotonic() < deadline:
        families = _scrape(port)
        if _sample(families, "syndication_delivery_latency_seconds", "syndication_delivery_latency_seconds_count") >= 2:
            break
        time.sleep(0.3)
    assert families["syndication_delivery_latency_seconds"][0] == "histogram"
    assert families["syndication_task_seconds"][0] == "histogram"
    assert _sample(families, "syndication_delivery_latency_seconds", "syndication_delivery_latency_seconds_count") == 2
    assert _sample(families, "syndication_task_seconds", "syndication_task_seconds_count",
                   task="syndication.deliver", outcome="success") == 2
    # buckets only grow: the +Inf bucket holds every observation
    assert _sample(families, "syndication_task_seconds", "syndication_task_seconds_bucket",
                   task="syndication.deliver", outcome="success", le="+Inf") == 2
    # delivered again (already on the ledger): a task run, but no second delivery counted
    enqueue_delivery(articles[0].id, 1, "files", via=deployment.app())
    while time.monotonic() < deadline:
        families = _scrape(port)
        if _sample(families, "syndication_task_seconds", "syndication_task_seconds_count", task="syndication.deliver") >= 3:
            break
        time.sleep(0.3)
    assert _sample(families, "syndication_task_seconds", "syndication_task_seconds_count", task="syndication.deliver") == 3
    assert _sample(families, "syndication_delivery_latency_seconds", "syndication_delivery_latency_seconds_count") == 2
    assert promtool(_text(port)) == []


def test_a_bad_metrics_port_is_refused_at_start_naming_the_variable() -> None:
    with pytest.raises(SystemExit, match="SYNDICATION_WORKER_METRICS_PORT='70000': must be between 0 and 65535"):
        load_settings({"SYNDICATION_WORKER_METRICS_PORT": "70000"})
    assert load_settings({}).worker_metrics_port == 0  # off unless asked for
    assert load_settings({}).worker_metrics_host == "127.0.0.1"
