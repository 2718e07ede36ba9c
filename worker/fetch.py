"""`worker.fetch` as it was before the house plan, for code outside the package: the functions
`fetch_page`, `fetch_resource` and `robots_sitemaps` with their old signatures, now thin wrappers over a
worker.http.client.Client. Inside the package, build a Client (one per process) and use it.

Called without a limiter or robots cache, the old functions kept one per process, so repeated calls
stayed polite to a partner; the wrappers keep that promise through Client.process_local.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from worker.config import Source
from worker.http import client as _client
from worker.http.client import *  # noqa: F401,F403 - the public names, for `from worker.fetch import X`
from worker.http.client import FEED_ACCEPT, Client
from worker.http.page import Page, Validators
from worker.http.ratelimit import HostLimiter
from worker.http.robots import RobotsCache
from worker.settings import Settings

@contextmanager
def _client_for(settings: Settings, limiter: HostLimiter | None, robots: RobotsCache | None) -> Iterator[Client]:
    """The process's local client, or, when the caller brings its own limiter or robots cache, a client
    for this one call built around them (the process's fill in what the caller left out)."""
    shared = Client.process_local(settings)
    if limiter is None and robots is None:
        yield shared
        return
    with Client(settings, limiter=limiter or shared.limiter, robots=robots or shared.robots) as client:
        yield client


def fetch_page(url: str, source: Source, settings: Settings, *, validators: Validators | None = None,
               limiter: HostLimiter | None = None, robots: RobotsCache | None = None) -> Page:
    """Client.for_source(source).page(url)."""
    with _client_for(settings, limiter, robots) as client:
        return client.for_source(source).page(url, validators=validators)


def fetch_resource(url: str, source: Source, settings: Settings, accept: str = FEED_ACCEPT, *,
                   validators: Validators | None = None, limiter: HostLimiter | None = None,
                   robots: RobotsCache | None = None) -> Page:
    """Client.for_source(source).resource(url)."""
    with _client_for(settings, limiter, robots) as client:
        return client.for_source(source).resource(url, accept, validators=validators)


def robots_sitemaps(url: str, source: Source, settings: Settings, *, limiter: HostLimiter | None = None,
                    robots: RobotsCache | None = None) -> list[str]:
    """Client.for_source(source).robots_sitemaps(url)."""
    with _client_for(settings, limiter, robots) as client:
        return client.for_source(source).robots_sitemaps(url)


def __getattr__(name: str) -> Any:
    return getattr(_client, name)
