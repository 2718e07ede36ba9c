"""The only place that does HTTP for partners, and the one place politeness and safety are enforced.

One `Client` per process owns what every fetch of that process must share: the per-host rate limiter, the
robots.txt cache, and the pooled sessions (one per SSRF policy and thread). Workers build
`Client.shared(settings, redis)` (limits and robots shared by every worker through Redis); the CLI, a
preview and tests build `Client.local(settings)`. `client.for_source(source)` is what a stage fetches with:
`.page(url)` for an article page, `.resource(url)` for a feed or sitemap, `.image(url)` for a partner
image (its type and declared size read from the bytes, worker/http/images.py), `.robots_sitemaps(url)`.

Every request, first URL and every redirect hop alike, passes the same gates in the same order:
allowed domains → robots.txt (unless the source waives it, with a reason) → the host's shared rate limit
and back-off → the SSRF guard at connect time (worker/http/ssrf.py) → status handling (429/503 push the host
back for every worker) → a size cap counted while streaming (worker/http/sizecap.py). Every refusal is a named
PermanentError saying why; everything worth retrying is a TransientError, with retry_after when known.

One total deadline (SYNDICATION_FETCH_TOTAL_TIMEOUT) covers a whole page()/resource() call: every
redirect hop, the robots.txt it needed, the wait for the host's rate limit, the headers and every byte of
the body (worker/http/deadline.py). A partner too slow for it is a FetchDeadlineError (retried later).

The parts live beside this module, one job each: ssrf.py, ratelimit.py, robots.py, sizecap.py, decode.py,
page.py (Page and Validators, re-exported here).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

import redis
import requests

from worker.config import Source
from worker.errors import (
    DomainNotAllowedError,
    EmptyPageError,
    FetchDeadlineError,
    FetchFailedError,
    GoneError,
    HostBackedOffError,
    HttpStatusError,
    NotHtmlError,
    PrivateAddressError,
    RobotsDisallowedError,
    TooManyRedirectsError,
)
from worker.http.deadline import Deadline, enforce_deadlines
from worker.http.images import IMAGE_ACCEPT, FetchedImage, inspect_image
from worker.http.page import Page, Validators
from worker.http.ratelimit import HostLimiter, LocalRateLimiter, RedisRateLimiter
from worker.http.retry_after import retry_after_seconds
from worker.http.robots import RobotsCache, origin_of, robots_text, robots_url
from worker.http.sizecap import ACCEPT_ENCODING, GZIP_MAGIC, gunzip_capped, read_capped
from worker.http.ssrf import AllowEntry, guarded_adapter, parse_networks
from worker.settings import Settings

log = logging.getLogger(__name__)

HTML_TYPES = ("text/html", "application/xhtml+xml")
HTML_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
               "application/gzip;q=0.8, */*;q=0.5")
ROBOTS_ACCEPT = "text/plain, */*;q=0.5"
MAX_REDIRECTS = 5
__all__ = ["Client", "FEED_ACCEPT", "Page", "SourceClient", "Validators", "check_allowed", "make_limiter",
           "make_robots_cache"]


def make_limiter(settings: Settings, client: redis.Redis | None = None) -> HostLimiter:
    """The shared Redis limiter when a client is given, else this process's own."""
    return RedisRateLimiter(client, settings.redis_key_prefix) if client is not None else LocalRateLimiter()


def make_robots_cache(settings: Settings, client: redis.Redis | None = None) -> RobotsCache:
    return RobotsCache(settings.robots_ttl, client, settings.redis_key_prefix)


def check_allowed(url: str, source: Source) -> None:
    """Refuse a URL outside the source's allowed_domains (or not http/https), before anything is sent."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DomainNotAllowedError(f"{url}: only http and https URLs are fetched")
    host = parts.hostname or ""
    if not source.allows_host(host):
        allowed = ", ".join(source.allowed_domains)
        raise DomainNotAllowedError(
            f"{url}: host {host!r} is not in the allowed_domains of source {source.id!r} ({allowed})"
        )


@dataclass(frozen=True)
class _Request:
    """What kind of GET the hop loop runs. The robots.txt request differs from every other in three ways,
    each named here (it used to be one `robots=None` flag): there are no rules to obey yet, a 4xx is an
    answer for RFC 9309 rather than an error, and a file over the cap is cut, not refused."""

    accept: str
    #: the Settings field that caps the body
    cap: Literal["max_page_bytes", "max_resource_bytes", "max_robots_bytes", "max_image_bytes"]
    obey_robots: bool = True
    status_errors: bool = True
    truncate: bool = False


PAGE = _Request(HTML_ACCEPT, "max_page_bytes")
RESOURCE = _Request(FEED_ACCEPT, "max_resource_bytes")
IMAGE = _Request(IMAGE_ACCEPT, "max_image_bytes")
ROBOTS_TXT = _Request(ROBOTS_ACCEPT, "max_robots_bytes", obey_robots=False, status_errors=False, truncate=True)


def _too_slow(url: str, deadline: Deadline) -> FetchDeadlineError:
    return FetchDeadlineError(
        f"{url}: the partner did not answer in full within the {deadline.seconds:g} s total deadline "
        "(SYNDICATION_FETCH_TOTAL_TIMEOUT); it is too slow, or drips its answer"
    )


@contextmanager
def _shared_state_errors() -> Iterator[None]:
    """Redis holds the rate limits and robots cache; while it is away, fetching waits (a retry), since
    fetching without the shared limits could hammer a partner from every worker at once."""
    try:
        yield
    except redis.RedisError as exc:
        raise FetchFailedError(f"the shared rate-limit/robots store (Redis) is unavailable: {exc}") from exc


_process_local_lock = threading.Lock()
_process_local: tuple[int, Settings, Client] | None = None


class Client:
    """The HTTP collaborators one process shares across all its fetches: limiter, robots cache, sessions."""

    def __init__(self, settings: Settings, *, limiter: HostLimiter, robots: RobotsCache) -> None:
        self.settings = settings
        self.limiter = limiter
        self.robots = robots
        # Sessions are keyed by SSRF policy *and thread*: requests does not promise that a Session is
        # thread-safe (psf/requests#2766 was closed as stale, not fixed; the maintainers' advice stays
        # "one Session per thread", and #1871 shows pool eviction racing across threads). A thread's id may
        # be reused once it has ended; the new thread then inherits a session no one else is using.
        self._sessions: dict[tuple[tuple[AllowEntry, ...], int], requests.Session] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    @classmethod
    def shared(cls, settings: Settings, redis_client: redis.Redis) -> Client:
        """A worker's client: rate limits and the robots cache shared with every worker through Redis."""
        return cls(settings, limiter=make_limiter(settings, redis_client),
                   robots=make_robots_cache(settings, redis_client))

    @classmethod
    def local(cls, settings: Settings) -> Client:
        """A client whose limits and robots cache live in this process only (CLI, preview, tests)."""
        return cls(settings, limiter=LocalRateLimiter(), robots=make_robots_cache(settings))

    @classmethod
    def process_local(cls, settings: Settings) -> Client:
        """This process's one local client for `settings`: long-lived callers without a worker's Services
        (the web's previews, worker.fetch's old functions) share one host limiter and robots cache, so
        repeated fetches stay polite instead of starting afresh each time. Rebuilt after a fork or for
        other settings."""
        global _process_local
        with _process_local_lock:
            if _process_local is None or _process_local[0] != os.getpid() or _process_local[1] != settings:
                _process_local = (os.getpid(), settings, cls.local(settings))
            return _process_local[2]

    def for_source(self, source: Source) -> SourceClient:
        return SourceClient(self, source, parse_networks(source.allow_private_networks))

    def close(self) -> None:
        """Close every pooled connection (worker shutdown); the client builds new sessions if used again."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sessions --------------------------------------------------------------------------------------

    def _session(self, policy: tuple[AllowEntry, ...]) -> requests.Session:
        """The pooled session of this thread for this SSRF policy (the guard is the session's adapter)."""
        with self._lock:
            if os.getpid() != self._pid:
                # forked after use: the parent's sockets are not ours to read, nor to close
                self._sessions, self._pid = {}, os.getpid()
            key = (policy, threading.get_ident())
            session = self._sessions.get(key)
            if session is None:
                session = requests.Session()
                session.trust_env = False  # no proxies or .netrc from the environment: the guard must see the partner
                adapter = enforce_deadlines(guarded_adapter(policy, pool_maxsize=4))
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.headers.update({"User-Agent": self.settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING})
                self._sessions[key] = session
            return session

    # --- the gates -------------------------------------------------------------------------------------

    def _wait_for_turn(self, url: str, rate: float, source: Source, deadline: Deadline) -> None:
        """Sleep until the host's shared bucket gives us a token; a long wait becomes a retry instead, and so
        does a wait that would leave no time of the deadline for the request itself."""
        host = urlsplit(url).hostname or ""
        while True:
            wait = self.limiter.acquire(host, rate, source.rate_limit_burst)
            if wait <= 0:
                return
            if wait > self.settings.fetch_max_wait or wait >= deadline.remaining():
                raise HostBackedOffError(f"{url}: {host} is rate-limited or backing off for {wait:.1f} s more", wait)
            time.sleep(wait)

    def _check_robots(self, url: str, source: SourceClient, deadline: Deadline) -> float:
        """Refuse what robots.txt disallows; return the request rate it leaves us (Crawl-delay can lower it)."""
        src, agent = source.source, self.settings.user_agent
        if src.ignore_robots:
            log.debug("robots.txt not consulted for %s: source %s waives it (%s)", url, src.id, src.ignore_robots_reason)
            return src.rate_limit_per_second
        rules = self.robots.rules(origin_of(url), lambda: self._load_robots(url, source, deadline))
        if not rules.can_fetch(url, agent):
            raise RobotsDisallowedError(
                f"{url}: {robots_url(url)} disallows it for {agent!r} (set ignore_robots with a "
                "reason on the source only with the partner's written permission)"
            )
        delay = rules.crawl_delay(agent)
        return min(src.rate_limit_per_second, 1.0 / delay) if delay else src.rate_limit_per_second

    def _load_robots(self, url: str, source: SourceClient, deadline: Deadline) -> str:
        """robots.txt of the URL's origin, fetched within the deadline of the request that needed it."""
        target = robots_url(url)
        try:
            page = self._get(target, source, ROBOTS_TXT, deadline)
        except (DomainNotAllowedError, TooManyRedirectsError) as exc:
            # RFC 9309 treats an unfollowable robots.txt as unavailable, which means "no rules"
            log.warning("%s cannot be followed (%s); no robots rules apply", target, exc.reason)
            return ""
        return robots_text(page.status, page.body)

    def _raise_for_status(self, response: requests.Response, url: str) -> None:
        status = response.status_code
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if status in (429, 503):
            # the host asked every one of our workers to slow down, not just this task
            default, ceiling = self.settings.fetch_backoff_default, self.settings.fetch_backoff_max
            pause = min(retry_after if retry_after is not None else default, ceiling)
            self.limiter.back_off(urlsplit(url).hostname or "", pause)
            raise FetchFailedError(f"{url}: HTTP {status} from the partner; backing off the host for {pause:.0f} s", pause)
        if status == 408 or status >= 500:
            raise FetchFailedError(f"{url}: HTTP {status} from the partner", retry_after)

    # --- the loop --------------------------------------------------------------------------------------

    def _get(self, url: str, source: SourceClient, request: _Request, deadline: Deadline,
             validators: Validators | None = None) -> Page:
        """GET with every gate on every hop, all of them inside `deadline` (the caller's, which a robots.txt
        fetched on the way spends too)."""
        src, settings = source.source, self.settings
        check_allowed(url, src)
        session = self._session(source.policy)
        headers = {"Accept": request.accept}
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            rate = src.rate_limit_per_second
            if request.obey_robots:
                rate = self._check_robots(current, source, deadline)
            self._wait_for_turn(current, rate, src, deadline)
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
                    check_allowed(current, src)
                    continue
                self._raise_for_status(response, current)
                base = dict(
                    requested_url=url, url=current, status=response.status_code, headers=dict(response.headers),
                    etag=response.headers.get("ETag") or (validators.etag if validators else None),
                    last_modified=response.headers.get("Last-Modified") or (validators.last_modified if validators else None),
                )
                if response.status_code == 304:
                    return Page(content_type="", body=b"", not_modified=True, **base)  # type: ignore[arg-type]
                if response.status_code in (404, 410) and request.status_errors:
                    raise GoneError(f"{current}: HTTP {response.status_code} from the partner (gone)",
                                    response.status_code)
                if response.status_code >= 400 and request.status_errors:
                    raise HttpStatusError(f"{current}: HTTP {response.status_code} from the partner",
                                          response.status_code)
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                body = b""
                if response.status_code < 400:
                    try:
                        body = read_capped(response, current, getattr(settings, request.cap), deadline=deadline,
                                           truncate=request.truncate)
                    except FetchDeadlineError as exc:
                        raise _too_slow(current, deadline) from exc  # the same words as before the headers
                return Page(content_type=content_type, body=body, **base)  # type: ignore[arg-type]
        raise TooManyRedirectsError(f"{url}: more than {MAX_REDIRECTS} redirects (last: {current})")

    def _fetch(self, url: str, source: SourceClient, request: _Request, validators: Validators | None) -> Page:
        """One call's total deadline around the hop loop (and the robots.txt it may need)."""
        with _shared_state_errors(), Deadline(self.settings.fetch_total_timeout) as deadline:
            return self._get(url, source, request, deadline, validators)


@dataclass(frozen=True)
class SourceClient:
    """The client seen from one source: its allowed domains, robots choice, rate and SSRF policy apply to
    every request. Cheap to make (once per task); the sessions stay the Client's, per thread."""

    client: Client
    source: Source
    #: the source's allow_private_networks, parsed once: the key of the session the guard lives in
    policy: tuple[AllowEntry, ...]

    def page(self, url: str, *, validators: Validators | None = None) -> Page:
        """GET an article page (HTML only); a 304 to `validators` is a not_modified Page."""
        page = self.client._fetch(url, self, PAGE, validators)
        if page.not_modified:
            return page
        if page.content_type and page.content_type not in HTML_TYPES:
            raise NotHtmlError(f"{page.url}: the partner sent {page.content_type!r}, not an HTML page")
        if not page.body.strip():
            raise EmptyPageError(f"{page.url}: the partner sent an empty page (HTTP {page.status})")
        return page

    def resource(self, url: str, accept: str = FEED_ACCEPT, *, validators: Validators | None = None) -> Page:
        """GET a feed, sitemap or other non-page resource under the same gates, any content type.

        A gzip file served as such (sitemap.xml.gz, application/gzip) is inflated here, under the
        max_resource_bytes cap, so callers always get the document itself.
        """
        request = RESOURCE if accept == RESOURCE.accept else dataclasses.replace(RESOURCE, accept=accept)
        page = self.client._fetch(url, self, request, validators)
        if page.body.startswith(GZIP_MAGIC):
            limit = self.client.settings.max_resource_bytes
            body = gunzip_capped(page.body, page.url, limit)
            headers = {k: v for k, v in page.headers.items() if k.lower() != "content-type"}
            return dataclasses.replace(
                page, body=body, headers=headers,
                content_type="application/xml" if body.lstrip().startswith(b"<") else page.content_type,
            )
        return page

    def image(self, url: str) -> FetchedImage:
        """GET a partner image under the same gates, capped at max_image_bytes (counted while streaming,
        refused on a larger Content-Length before the body is read), its type sniffed from the bytes and
        its declared size checked against max_image_pixels without decoding it: NotAnImageError or
        ImageBombError for what the worker does not keep, whatever the partner's Content-Type says."""
        page = self.client._fetch(url, self, IMAGE, None)
        facts = inspect_image(page.body, page.url, self.client.settings.max_image_pixels, page.content_type)
        return FetchedImage(requested_url=url, url=page.url, data=page.body, facts=facts)

    def robots_sitemaps(self, url: str) -> list[str]:
        """Sitemap URLs that the origin's robots.txt lists (from the same cache the fetches use)."""
        client = self.client
        with _shared_state_errors(), Deadline(client.settings.fetch_total_timeout) as deadline:
            rules = client.robots.rules(origin_of(url), lambda: client._load_robots(url, self, deadline))
        return list(rules.sitemaps)
