"""Prometheus metrics: the store's counts read at scrape time, and this server's own request latencies.

Why read the store on scrape: articles, versions, ledger states and ingest failures live in the database
that every worker shares, so any one web server can report them whole; counters kept inside worker
processes would need Prometheus' multiprocess mode and would reset with each worker restart.
Delivery latency (ledger row created → delivered) is a gauge histogram over the latest deliveries: a
snapshot of how long deliveries take now, not an ever-growing counter.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.store import DeliveryState
from worker.web.context import WebContext

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 6 * 3600.0, 24 * 3600.0)


class StoreCollector(Collector):
    def __init__(self, ctx: WebContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("syndication_store_up", "1 when the store answered this scrape")
        try:
            data = self.ctx.store.counts()
        except Exception:  # a scrape must not fail because the database is restarting
            log.exception("metrics: the store did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        articles = GaugeMetricFamily("syndication_articles", "Articles stored, by source", labels=["source"])
        for source, n in sorted(data.articles_by_source.items()):
            articles.add_metric([source], n)
        yield articles
        versions = GaugeMetricFamily("syndication_article_versions", "Article versions stored, by source",
                                     labels=["source"])
        for source, n in sorted(data.versions_by_source.items()):
            versions.add_metric([source], n)
        yield versions
        deliveries = GaugeMetricFamily("syndication_deliveries", "Ledger rows by outlet and state",
                                       labels=["outlet", "state"])
        outlets = sorted({outlet for outlet, _ in data.deliveries})
        for outlet in outlets:
            for state in DeliveryState:  # every state, zeros included, so alerts on `failed > 0` see a series
                deliveries.add_metric([outlet, state.value], data.deliveries.get((outlet, state.value), 0))
        yield deliveries
        failures = GaugeMetricFamily("syndication_ingest_failures",
                                     "URLs that failed for good, by source and failure kind (code)",
                                     labels=["source", "code"])
        for (source, code), n in sorted(data.ingest_failures.items()):
            failures.add_metric([source, code], n)
        yield failures
        yield _latency_histogram(data.delivery_latencies)


def _latency_histogram(latencies: list[float]) -> GaugeHistogramMetricFamily:
    buckets = [(str(bound), float(sum(1 for x in latencies if x <= bound))) for bound in LATENCY_BUCKETS]
    buckets.append(("+Inf", float(len(latencies))))
    return GaugeHistogramMetricFamily(
        "syndication_delivery_latency_seconds",
        "Seconds from queueing a delivery to the outlet having it, over the latest 1000 deliveries",
        buckets=buckets, gsum_value=sum(latencies),
    )


class Metrics:
    """The registry an app exposes at /metrics; one per app so tests can build many apps."""

    def __init__(self, ctx: WebContext) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(ctx))
        self.requests = Histogram(
            "syndication_http_request_seconds", "Time to answer HTTP requests, by route and status",
            ["method", "route", "status"], registry=self.registry,
        )


class RequestTimer:
    """Times every request by its route template (/articles/{article_id}), never by its raw path, so a
    scan of random URLs cannot blow up the number of series."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).observe(
                time.perf_counter() - started)
