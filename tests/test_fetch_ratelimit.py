"""The per-host rate limit and back-off, shared through a real Redis, seen from the partner's side:
these tests measure when the (loopback) server received requests, never how fast our code runs."""
from __future__ import annotations

import multiprocessing
import threading
import time

import pytest
import redis
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from worker.config import Source
from worker.errors import FetchFailedError, HostBackedOffError
from worker.http.client import Client
from worker.settings import Settings, load_settings

RATE, BURST, PER_PROCESS = 4, 2, 8


def make_source(**overrides: object) -> Source:
    fields: dict[str, object] = dict(
        id="partner", name="Partner", allowed_domains=["127.0.0.1", "localhost"],
        allow_private_networks=["127.0.0.1/8", "::1"],
        ignore_robots=True, ignore_robots_reason="robots.txt is covered by test_fetch_robots",
    )
    fields.update(overrides)
    return Source(**fields)  # type: ignore[arg-type]


def worker_settings(prefix: str) -> Settings:
    return load_settings({"SYNDICATION_REDIS_KEY_PREFIX": prefix, "SYNDICATION_FETCH_TIMEOUT": "5",
                          "SYNDICATION_FETCH_MAX_WAIT": "10"})


class Clock:
    """Records when the partner received each request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrivals: list[tuple[float, str]] = []

    def handler(self, status: int = 200, headers: dict[str, str] | None = None):  # noqa: ANN201
        def respond(request: Request) -> Response:
            with self.lock:
                self.arrivals.append((time.monotonic(), request.path))
            return Response("<p>article</p>", status=status, content_type="text/html", headers=headers or {})
        return respond


def test_429_with_retry_after_keeps_every_worker_off_the_host(redis_url: str, redis_key_prefix: str, httpserver: HTTPServer) -> None:
    clock = Clock()
    httpserver.expect_oneshot_request("/a.html").respond_with_handler(clock.handler(429, {"Retry-After": "2"}))
    httpserver.expect_request("/a.html").respond_with_handler(clock.handler())
    settings, source = worker_settings(redis_key_prefix), make_source()
    url = httpserver.url_for("/a.html")
    with pytest.raises(FetchFailedError) as caught:
        Client.shared(settings, redis.Redis.from_url(redis_url)).for_source(source).page(url)
    assert caught.value.retry_after == 2
    # a second worker (its own client and limiter, the same Redis) waits out the back-off before asking
    other_worker = Client.shared(settings, redis.Redis.from_url(redis_url))
    assert other_worker.for_source(source).page(url).status == 200
    (first, _), (second, _) = clock.arrivals
    assert second - first >= 2.0


def test_a_long_back_off_hands_back_a_retry_without_asking_the_host(
    redis_url: str, redis_key_prefix: str, httpserver: HTTPServer
) -> None:
    clock = Clock()
    httpserver.expect_request("/a.html").respond_with_handler(clock.handler(503, {"Retry-After": "120"}))
    settings, source = worker_settings(redis_key_prefix), make_source()
    partner = Client.shared(settings, redis.Redis.from_url(redis_url)).for_source(source)
    with pytest.raises(FetchFailedError):
        partner.page(httpserver.url_for("/a.html"))
    with pytest.raises(HostBackedOffError) as caught:
        partner.page(httpserver.url_for("/a.html"))
    assert 100 < (caught.value.retry_after or 0) <= 120  # the task retries when the host is ready
    assert len(clock.arrivals) == 1


def fetch_many(redis_url: str, prefix: str, urls: list[str]) -> None:
    """One worker process: its own settings, Redis client and session; only Redis is shared."""
    settings = worker_settings(prefix)
    source = make_source(rate_limit_per_second=RATE, rate_limit_burst=BURST)
    with Client.shared(settings, redis.Redis.from_url(redis_url)) as client:
        for url in urls:
            client.for_source(source).page(url)


def test_the_rate_limit_holds_across_two_worker_processes(redis_url: str, redis_key_prefix: str, httpserver: HTTPServer) -> None:
    clock = Clock()
    httpserver.expect_request("/one/page").respond_with_handler(clock.handler())
    httpserver.expect_request("/two/page").respond_with_handler(clock.handler())
    context = multiprocessing.get_context("spawn")  # fresh interpreters, nothing inherited but arguments
    workers = [
        context.Process(target=fetch_many, args=(redis_url, redis_key_prefix, [httpserver.url_for(f"/{name}/page")] * PER_PROCESS))
        for name in ("one", "two")
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    times = sorted(t for t, _ in clock.arrivals)
    assert len(times) == 2 * PER_PROCESS
    assert {path for _, path in clock.arrivals} == {"/one/page", "/two/page"}
    busiest = max(sum(1 for other in times if start <= other <= start + 1.0) for start in times)
    # a token bucket allows its burst plus RATE per second; two unshared buckets would allow twice that
    assert busiest <= RATE + BURST


def test_without_its_shared_state_the_fetch_is_a_retry_not_an_unthrottled_request(httpserver: HTTPServer) -> None:
    clock = Clock()
    httpserver.expect_request("/a.html").respond_with_handler(clock.handler())
    settings = worker_settings("unreachable:")
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)  # nothing listens on port 1
    with pytest.raises(FetchFailedError, match="Redis"):
        Client.shared(settings, unreachable).for_source(make_source()).page(httpserver.url_for("/a.html"))
    assert clock.arrivals == []
