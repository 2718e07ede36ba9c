"""The only place that does HTTP for partners, and the one place politeness and safety are enforced.

Every request, first URL and every redirect hop alike, passes the same gates in the same order:
allowed domains → robots.txt (unless the source waives it, with a reason) → the host's shared rate limit
and back-off → the SSRF guard at connect time (worker/http/ssrf.py) → status handling (429/503 push the host
back for every worker) → a size cap counted while streaming (worker/http/sizecap.py). Every refusal is a named
PermanentError saying why; everything worth retrying is a TransientError, with retry_after when known.

One total deadline (SYNDICATION_FETCH_TOTAL_TIMEOUT) covers a whole fetch_page/fetch_resource call: every
redirect hop, the robots.txt it needed, the wait for the host's rate limit, the headers and every byte of
the body (worker/http/deadline.py). A partner too slow for it is a FetchDeadlineError (retried later).

The parts live beside this module, one job each: ssrf.py, ratelimit.py, robots.py, sizecap.py, decode.py,
page.py (Page and Validators, re-exported here).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import redis
import requests

from worker.http.sizecap import ACCEPT_ENCODING, GZIP_MAGIC, gunzip_capped, read_capped
from worker.config import Source
from worker.errors import (
    DomainNotAllowedError,
    EmptyPageError,
    FetchDeadlineError,
    FetchFailedError,
    HostBackedOffError,
    GoneError,
    HttpStatusError,
    NotHtmlError,
    PrivateAddressError,
    RobotsDisallowedError,
    TooManyRedirectsError,
)
from worker.http.deadline import Deadline, enforce_deadlines
from worker.http.page import Page, Validators
from worker.http.ratelimit import HostLimiter, LocalRateLimiter, RedisRateLimiter
from worker.http.robots import RobotsCache, origin_of, robots_text, robots_url
from worker.settings import Settings
from worker.http.ssrf import guarded_adapter, parse_networks
from worker.http.retry_after import retry_after_seconds

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
               "application/gzip;q=0.8, */*;q=0.5")
MAX_REDIRECTS = 5
__all__ = ["Page", "Validators", "check_allowed", "fetch_page", "fetch_resource", "make_limiter",
           "make_robots_cache", "robots_sitemaps"]
_local = threading.local()
_defaults_lock = threading.Lock()
_defaults: dict[str, object] = {}


# --- process-wide collaborators -----------------------------------------------------------------------

def make_limiter(settings: Settings, client: redis.Redis | None = None) -> HostLimiter:
    """The shared Redis limiter when a client is given, else this process's own."""
    return RedisRateLimiter(client, settings.redis_key_prefix) if client is not None else LocalRateLimiter()


def make_robots_cache(settings: Settings, client: redis.Redis | None = None) -> RobotsCache:
    return RobotsCache(settings.robots_ttl, client, settings.redis_key_prefix)


def _default(name: str, build: Callable[[], object]) -> object:
    # callers that pass nothing still get limits and robots, per process (never silently none at all)
    with _defaults_lock:
        key = f"{os.getpid()}:{name}"
        if key not in _defaults:
            _defaults[key] = build()
        return _defaults[key]


def _session(settings: Settings, source: Source) -> requests.Session:
    """One pooled session per process (and thread: Session is not thread-safe) and per SSRF policy."""
    sessions: dict[tuple[object, ...], requests.Session] = _local.__dict__.setdefault("sessions", {})
    key = (os.getpid(), settings.user_agent, tuple(sorted(source.allow_private_networks)))
    session = sessions.get(key)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment: the guard must see the partner
        adapter = enforce_deadlines(guarded_adapter(parse_networks(source.allow_private_networks), pool_maxsize=4))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers.update({"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING})
        sessions[key] = session
    return session


# --- the gates ---------------------------------------------------------------------------------------

def check_allowed(url: str, source: Source) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DomainNotAllowedError(f"{url}: only http and https URLs are fetched")
    host = parts.hostname or ""
    if not source.allows_host(host):
        allowed = ", ".join(source.allowed_domains)
        raise DomainNotAllowedError(
            f"{url}: host {host!r} is not in the allowed_domains of source {source.id!r} ({allowed})"
        )


def _wait_for_turn(url: str, rate: float, source: Source, settings: Settings, limiter: HostLimiter,
                   deadline: Deadline) -> None:
    """Sleep until the host's shared bucket gives us a token; a long wait becomes a retry instead, and so
    does a wait that would leave no time of the deadline for the request itself."""
    host = urlsplit(url).hostname or ""
    while True:
        wait = limiter.acquire(host, rate, source.rate_limit_burst)
        if wait <= 0:
            return
        if wait > settings.fetch_max_wait or wait >= deadline.remaining():
            raise HostBackedOffError(f"{url}: {host} is rate-limited or backing off for {wait:.1f} s more", wait)
        time.sleep(wait)


def _check_robots(url: str, source: Source, settings: Settings, limiter: HostLimiter, robots: RobotsCache) -> float:
    """Refuse what robots.txt disallows; return the request rate it leaves us (Crawl-delay can lower it)."""
    if source.ignore_robots:
        log.debug("robots.txt not consulted for %s: source %s waives it (%s)", url, source.id, source.ignore_robots_reason)
        return source.rate_limit_per_second
    rules = robots.rules(origin_of(url), lambda: _load_robots(url, source, settings, limiter))
    if not rules.can_fetch(url, settings.user_agent):
        raise RobotsDisallowedError(
            f"{url}: {robots_url(url)} disallows it for {settings.user_agent!r} (set ignore_robots with a "
            "reason on the source only with the partner's written permission)"
        )
    delay = rules.crawl_delay(settings.user_agent)
    return min(source.rate_limit_per_second, 1.0 / delay) if delay else source.rate_limit_per_second


def _load_robots(url: str, source: Source, settings: Settings, limiter: HostLimiter) -> str:
    target = robots_url(url)
    try:
        page = _get(target, source, settings, limiter=limiter, robots=None, accept="text/plain, */*;q=0.5",
                    max_bytes=settings.max_robots_bytes, validators=None)
    except (DomainNotAllowedError, TooManyRedirectsError) as exc:
        # RFC 9309 treats an unfollowable robots.txt as unavailable, which means "no rules"
        log.warning("%s cannot be followed (%s); no robots rules apply", target, exc.reason)
        return ""
    return robots_text(page.status, page.body)


def _raise_for_status(response: requests.Response, url: str, settings: Settings, limiter: HostLimiter) -> None:
    status = response.status_code
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    if status in (429, 503):
        # the host asked every one of our workers to slow down, not just this task
        pause = min(retry_after if retry_after is not None else settings.fetch_backoff_default, settings.fetch_backoff_max)
        limiter.back_off(urlsplit(url).hostname or "", pause)
        raise FetchFailedError(f"{url}: HTTP {status} from the partner; backing off the host for {pause:.0f} s", pause)
    if status == 408 or status >= 500:
        raise FetchFailedError(f"{url}: HTTP {status} from the partner", retry_after)


# --- the loop ----------------------------------------------------------------------------------------

def _too_slow(url: str, deadline: Deadline) -> FetchDeadlineError:
    return FetchDeadlineError(
        f"{url}: the partner did not answer in full within the {deadline.seconds:g} s total deadline "
        "(SYNDICATION_FETCH_TOTAL_TIMEOUT); it is too slow, or drips its answer"
    )


def _get(
    url: str, source: Source, settings: Settings, *, limiter: HostLimiter, robots: RobotsCache | None,
    accept: str, max_bytes: int, validators: Validators | None,
) -> Page:
    """GET with every gate on every hop, all of them inside one total deadline (a robots.txt fetched on
    the way spends the page's time). robots=None means "this IS the robots.txt request" (no rules to
    check yet, 4xx returned to the caller, and the body truncated at the cap, not refused)."""
    with Deadline(settings.fetch_total_timeout) as deadline:
        return _get_within(url, source, settings, limiter=limiter, robots=robots, accept=accept,
                           max_bytes=max_bytes, validators=validators, deadline=deadline)


def _get_within(
    url: str, source: Source, settings: Settings, *, limiter: HostLimiter, robots: RobotsCache | None,
    accept: str, max_bytes: int, validators: Validators | None, deadline: Deadline,
) -> Page:
    check_allowed(url, source)
    session = _session(settings, source)
    headers = {"Accept": accept}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        rate = source.rate_limit_per_second
        if robots is not None:
            rate = _check_robots(current, source, settings, limiter, robots)
        _wait_for_turn(current, rate, source, settings, limiter, deadline)
        if deadline.expired:
            raise _too_slow(current, deadline)
        try:
            response = session.get(
                current, headers=headers, allow_redirects=False, stream=True,
                timeout=deadline.timeouts(min(settings.fetch_connect_timeout, settings.fetch_timeout),
                                          settings.fetch_timeout),
            )
        except requests.RequestException as exc:
            if deadline.expired:
                raise _too_slow(current, deadline) from exc
            raise FetchFailedError(f"{current}: {type(exc).__name__}: {exc}") from exc
        except PrivateAddressError as exc:  # raised at connect time, where the URL is not known
            raise PrivateAddressError(f"{current}: {exc.reason}") from None
        with response:
            if response.is_redirect:
                current = urljoin(current, response.headers["Location"])
                check_allowed(current, source)
                continue
            _raise_for_status(response, current, settings, limiter)
            base = dict(
                requested_url=url, url=current, status=response.status_code, headers=dict(response.headers),
                etag=response.headers.get("ETag") or (validators.etag if validators else None),
                last_modified=response.headers.get("Last-Modified") or (validators.last_modified if validators else None),
            )
            if response.status_code == 304:
                return Page(content_type="", body=b"", not_modified=True, **base)  # type: ignore[arg-type]
            if response.status_code in (404, 410) and robots is not None:
                raise GoneError(f"{current}: HTTP {response.status_code} from the partner (gone)")
            if response.status_code >= 400 and robots is not None:
                raise HttpStatusError(f"{current}: HTTP {response.status_code} from the partner")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            body = b""
            if response.status_code < 400:
                try:
                    body = read_capped(response, current, max_bytes, deadline=deadline, truncate=robots is None)
                except FetchDeadlineError as exc:
                    raise _too_slow(current, deadline) from exc  # the same words as before the headers
            return Page(content_type=content_type, body=body, **base)  # type: ignore[arg-type]
    raise TooManyRedirectsError(f"{url}: more than {MAX_REDIRECTS} redirects (last: {current})")


@contextmanager
def _shared_state_errors() -> Iterator[None]:
    """Redis holds the rate limits and robots cache; while it is away, fetching waits (a retry), since
    fetching without the shared limits could hammer a partner from every worker at once."""
    try:
        yield
    except redis.RedisError as exc:
        raise FetchFailedError(f"the shared rate-limit/robots store (Redis) is unavailable: {exc}") from exc


def _collaborators(settings: Settings, limiter: HostLimiter | None, robots: RobotsCache | None) -> tuple[HostLimiter, RobotsCache]:
    limiter = limiter or _default("limiter", LocalRateLimiter)  # type: ignore[assignment]
    robots = robots or _default("robots", lambda: make_robots_cache(settings))  # type: ignore[assignment]
    return limiter, robots  # type: ignore[return-value]


def fetch_page(
    url: str, source: Source, settings: Settings, *, validators: Validators | None = None,
    limiter: HostLimiter | None = None, robots: RobotsCache | None = None,
) -> Page:
    """GET an article page (HTML only). Pass the Redis-backed `limiter` and `robots` built with
    make_limiter/make_robots_cache so all workers share them; without them this process keeps its own."""
    limiter, robots = _collaborators(settings, limiter, robots)
    with _shared_state_errors():
        page = _get(url, source, settings, limiter=limiter, robots=robots, accept=HTML_ACCEPT,
                    max_bytes=settings.max_page_bytes, validators=validators)
    if page.not_modified:
        return page
    if page.content_type and page.content_type not in HTML_TYPES:
        raise NotHtmlError(f"{page.url}: the partner sent {page.content_type!r}, not an HTML page")
    if not page.body.strip():
        raise EmptyPageError(f"{page.url}: the partner sent an empty page (HTTP {page.status})")
    return page


def fetch_resource(
    url: str, source: Source, settings: Settings, accept: str = FEED_ACCEPT, *,
    validators: Validators | None = None, limiter: HostLimiter | None = None, robots: RobotsCache | None = None,
) -> Page:
    """GET a feed, sitemap or other non-page resource under the same gates, any content type.

    A gzip file served as such (sitemap.xml.gz, application/gzip) is inflated here, under the
    max_resource_bytes cap, so callers always get the document itself.
    """
    limiter, robots = _collaborators(settings, limiter, robots)
    with _shared_state_errors():
        page = _get(url, source, settings, limiter=limiter, robots=robots, accept=accept,
                    max_bytes=settings.max_resource_bytes, validators=validators)
    if page.body.startswith(GZIP_MAGIC):
        body = gunzip_capped(page.body, page.url, settings.max_resource_bytes)
        headers = {k: v for k, v in page.headers.items() if k.lower() != "content-type"}
        return Page(requested_url=page.requested_url, url=page.url, status=page.status,
                    content_type="application/xml" if body.lstrip().startswith(b"<") else page.content_type,
                    body=body, headers=headers, fetched_at=page.fetched_at, not_modified=page.not_modified,
                    etag=page.etag, last_modified=page.last_modified)
    return page


def robots_sitemaps(url: str, source: Source, settings: Settings, *, limiter: HostLimiter | None = None,
                    robots: RobotsCache | None = None) -> list[str]:
    """Sitemap URLs that the origin's robots.txt lists (from the same cache the fetches use)."""
    limiter, robots = _collaborators(settings, limiter, robots)
    with _shared_state_errors():
        rules = robots.rules(origin_of(url), lambda: _load_robots(url, source, settings, limiter))
    return list(rules.sitemaps)
