"""Prometheus metrics: the store's counts read at scrape time, and this server's own request latencies.

Why read the store on scrape: articles, versions, ledger states and ingest failures live in the database
that every worker shares, so any one web server can report them whole; counters kept inside worker
processes would need Prometheus' multiprocess mode and would reset with each worker restart.
Recent delivery latency (ledger row created → delivered) is a snapshot in gauges by percentile over the
latest deliveries; the counting Histograms (every delivery made, every task run) are served by each
worker on its own port (worker/task_metrics.py), where they are recorded.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, GCCollector, Histogram, PlatformCollector, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.store import DeliveryState
from worker.web.context import WebContext

log = logging.getLogger(__name__)


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
        yield _recent_latency(data.delivery_latencies)


#: percentiles of the recent-latency snapshot (100: the slowest). Not a "quantile" label: that name is
#: a summary's, and this is no summary (its window slides, so nothing in it counts up)
RECENT_PERCENTILES = (50, 90, 99, 100)


def _recent_latency(latencies: list[float]) -> GaugeMetricFamily:
    """How long the latest deliveries took, as gauges by percentile (100: the slowest): a snapshot of the
    store's ledger, which any web server can read whole. The counting Histogram of every delivery made,
    syndication_delivery_latency_seconds, is the workers' own (worker/task_metrics.py)."""
    family = GaugeMetricFamily(
        "syndication_recent_delivery_latency_seconds",
        "Seconds from planning a delivery to the outlet having it, over the latest 1000 deliveries, by percentile",
        labels=["percentile"])
    ordered = sorted(latencies)
    for percentile in RECENT_PERCENTILES:
        value = ordered[min(len(ordered) - 1, percentile * len(ordered) // 100)] if ordered else float("nan")
        family.add_metric([str(percentile)], value)
    return family


#: the request methods a label may name; any other verb a client makes up is counted as "other"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The registry an app exposes at /metrics; one per app so tests can build many apps. It holds the
    process's own collectors too (process_*, python_*), as every Prometheus client's default registry."""

    def __init__(self, ctx: WebContext) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(ctx))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Histogram(
            "syndication_http_request_seconds", "Time to answer HTTP requests, by route and status",
            ["method", "route", "status"], registry=self.registry,
        )


def route_label(scope: Scope, routes: list[BaseRoute]) -> str:
    """The route template a request is for (/articles/{article_id}), found as the router finds it, so a
    request the token check answered before routing (a 401) is still counted under its route; a path no
    route takes is "unmatched". Never the raw path: a scan of random URLs adds no series."""
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return str(route.path)
    partial = None
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is Match.FULL:
            return str(getattr(candidate, "path", "unmatched"))
        if match is Match.PARTIAL and partial is None:
            partial = candidate  # the path is right, the method is not (a 405)
    return str(getattr(partial, "path", "unmatched")) if partial is not None else "unmatched"


def method_label(method: str) -> str:
    """The request's method when it is a standard one, else "other": a label value from a closed set."""
    return method if method in KNOWN_METHODS else "other"


class RequestTimer:
    """Times every request by method, route template and status: labels from closed sets only (methods
    folded by method_label, routes by route_label, statuses the app's own), so whatever a client sends,
    anonymous or not, the number of series stays bounded."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: list[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

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
            self.metrics.requests.labels(method_label(scope["method"]), route_label(scope, self.routes),
                                         str(status["code"])).observe(time.perf_counter() - started)
