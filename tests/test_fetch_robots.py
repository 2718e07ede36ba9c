"""robots.txt on real HTTP over loopback, with the cache shared through a real Redis."""
from __future__ import annotations

import time

import pytest
import redis
from pytest_httpserver import HTTPServer

from worker.config import Source
from worker.errors import FetchFailedError, PermanentError, RobotsDisallowedError
from worker.http.client import Client, SourceClient, make_robots_cache
from worker.http.ratelimit import LocalRateLimiter
from worker.http.robots import RobotsCache
from worker.settings import Settings, load_settings

ROBOTS = """\
User-agent: *
Disallow: /private/

User-agent: syndication-worker
Disallow: /members/
Sitemap: http://partner.example/sitemap.xml
"""


def make_source(**overrides: object) -> Source:
    fields: dict[str, object] = dict(
        id="partner", name="Partner", allowed_domains=["127.0.0.1", "localhost"],
        allow_private_networks=["127.0.0.1/8", "::1"], rate_limit_per_second=50, rate_limit_burst=50,
    )
    fields.update(overrides)
    return Source(**fields)  # type: ignore[arg-type]


def partner(settings: Settings, robots: RobotsCache, source: Source) -> SourceClient:
    """A client with this robots cache and a fresh limiter (a worker's, when the cache is in Redis)."""
    return Client(settings, limiter=LocalRateLimiter(), robots=robots).for_source(source)


@pytest.fixture
def settings(redis_key_prefix: str) -> Settings:
    return load_settings({"SYNDICATION_REDIS_KEY_PREFIX": redis_key_prefix, "SYNDICATION_FETCH_TIMEOUT": "5"})


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def robots_requests(httpserver: HTTPServer) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == "/robots.txt")


def serve(httpserver: HTTPServer, robots: str | None = ROBOTS) -> None:
    if robots is not None:
        httpserver.expect_request("/robots.txt").respond_with_data(robots, content_type="text/plain")
    for path in ("/news/a.html", "/members/a.html", "/private/a.html"):
        httpserver.expect_request(path).respond_with_data("<p>article</p>", content_type="text/html")


def test_a_disallowed_url_is_refused_with_a_named_permanent_error(
    settings: Settings, client: redis.Redis, httpserver: HTTPServer
) -> None:
    serve(httpserver)
    robots = make_robots_cache(settings, client)
    source = make_source()
    assert partner(settings, robots, source).page(httpserver.url_for("/news/a.html")).status == 200
    with pytest.raises(RobotsDisallowedError, match="robots.txt disallows") as caught:
        # our own group (longest user-agent match) disallows /members/, not the `*` group's /private/
        partner(settings, robots, source).page(httpserver.url_for("/members/a.html"))
    assert isinstance(caught.value, PermanentError) and caught.value.code == "robots_disallowed"
    assert "/members/a.html" not in {request.path for request, _ in httpserver.log}


def test_ignore_robots_with_a_reason_bypasses_the_rules(settings: Settings, httpserver: HTTPServer) -> None:
    serve(httpserver)
    source = make_source(ignore_robots=True, ignore_robots_reason="partner contract 2024-17 allows members pages")
    page = partner(settings, make_robots_cache(settings), source).page(httpserver.url_for("/members/a.html"))
    assert page.status == 200
    assert robots_requests(httpserver) == 0  # not even asked for


def test_ignore_robots_without_a_reason_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="ignore_robots_reason"):
        make_source(ignore_robots=True)


def test_robots_is_fetched_once_per_host_and_shared_by_workers_through_redis(
    settings: Settings, client: redis.Redis, redis_url: str, httpserver: HTTPServer
) -> None:
    serve(httpserver)
    source = make_source()
    first_worker = make_robots_cache(settings, client)
    for _ in range(3):
        partner(settings, first_worker, source).page(httpserver.url_for("/news/a.html"))
    assert robots_requests(httpserver) == 1
    # another worker process has its own in-memory layer but finds the text in Redis
    second_worker = make_robots_cache(settings, redis.Redis.from_url(redis_url))
    with pytest.raises(RobotsDisallowedError):
        partner(settings, second_worker, source).page(httpserver.url_for("/members/a.html"))
    assert robots_requests(httpserver) == 1


def test_robots_is_fetched_again_after_the_ttl(settings: Settings, client: redis.Redis, httpserver: HTTPServer) -> None:
    serve(httpserver)
    robots = RobotsCache(ttl=1, client=client, key_prefix=settings.redis_key_prefix)
    url = httpserver.url_for("/news/a.html")
    partner(settings, robots, make_source()).page(url)
    time.sleep(1.2)
    partner(settings, robots, make_source()).page(url)
    assert robots_requests(httpserver) == 2


def test_a_missing_robots_txt_means_no_rules(settings: Settings, httpserver: HTTPServer) -> None:
    serve(httpserver, robots=None)
    httpserver.expect_request("/robots.txt").respond_with_data("nope", status=404)
    page = partner(settings, make_robots_cache(settings), make_source()).page(httpserver.url_for("/private/a.html"))
    assert page.status == 200


def test_an_unreachable_robots_txt_is_transient_and_not_cached(settings: Settings, httpserver: HTTPServer) -> None:
    serve(httpserver, robots=None)
    httpserver.expect_request("/robots.txt").respond_with_data("down", status=500)
    robots = make_robots_cache(settings)
    for _ in range(2):
        with pytest.raises(FetchFailedError, match="robots.txt"):
            partner(settings, robots, make_source()).page(httpserver.url_for("/news/a.html"))
    assert robots_requests(httpserver) == 2
    assert "/news/a.html" not in {request.path for request, _ in httpserver.log}


def test_sitemaps_listed_in_robots_come_from_the_same_cache(settings: Settings, httpserver: HTTPServer) -> None:
    serve(httpserver)
    robots = make_robots_cache(settings)
    source = make_source()
    partner(settings, robots, source).page(httpserver.url_for("/news/a.html"))
    assert partner(settings, robots, source).robots_sitemaps(httpserver.url_for("/")) == ["http://partner.example/sitemap.xml"]
    assert robots_requests(httpserver) == 1
