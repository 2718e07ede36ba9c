"""`worker.fetch` as it was before the house plan, for code outside the package: the functions
`fetch_page`, `fetch_resource` and `robots_sitemaps` with their old signatures, now thin wrappers over a
worker.http.client.Client. Inside the package, build a Client (one per process) and use it.

Why the process-wide defaults below: the old functions, called without a limiter or robots cache, kept
one per process, so repeated calls stayed polite to a partner; the wrappers keep that promise.
"""
from __future__ import annotations

import os
import threading
from typing import Any

from worker.config import Source
from worker.http import client as _client
from worker.http.client import *  # noqa: F401,F403 - the public names, for `from worker.fetch import X`
from worker.http.client import FEED_ACCEPT, Client, make_robots_cache
from worker.http.page import Page, Validators
from worker.http.ratelimit import HostLimiter, LocalRateLimiter
from worker.http.robots import RobotsCache
from worker.settings import Settings

_defaults_lock = threading.Lock()
_defaults: dict[int, tuple[HostLimiter, RobotsCache]] = {}


def _client_for(settings: Settings, limiter: HostLimiter | None, robots: RobotsCache | None) -> Client:
    if limiter is None or robots is None:
        with _defaults_lock:
            default = _defaults.setdefault(os.getpid(), (LocalRateLimiter(), make_robots_cache(settings)))
        limiter, robots = limiter or default[0], robots or default[1]
    return Client(settings, limiter=limiter, robots=robots)


def fetch_page(url: str, source: Source, settings: Settings, *, validators: Validators | None = None,
               limiter: HostLimiter | None = None, robots: RobotsCache | None = None) -> Page:
    """Client.for_source(source).page(url), with a client for this one call."""
    with _client_for(settings, limiter, robots) as client:
        return client.for_source(source).page(url, validators=validators)


def fetch_resource(url: str, source: Source, settings: Settings, accept: str = FEED_ACCEPT, *,
                   validators: Validators | None = None, limiter: HostLimiter | None = None,
                   robots: RobotsCache | None = None) -> Page:
    """Client.for_source(source).resource(url), with a client for this one call."""
    with _client_for(settings, limiter, robots) as client:
        return client.for_source(source).resource(url, accept, validators=validators)


def robots_sitemaps(url: str, source: Source, settings: Settings, *, limiter: HostLimiter | None = None,
                    robots: RobotsCache | None = None) -> list[str]:
    """Client.for_source(source).robots_sitemaps(url), with a client for this one call."""
    with _client_for(settings, limiter, robots) as client:
        return client.for_source(source).robots_sitemaps(url)


def __getattr__(name: str) -> Any:
    return getattr(_client, name)
