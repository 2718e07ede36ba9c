"""The only place that does HTTP for partners.

This first version enforces what keeps bad input out of the pipeline: the source's allowed domains (on
the first URL and after every redirect), HTML only, a size cap enforced while streaming, timeouts, and
a clear split between errors worth retrying (timeouts, 5xx, 429) and errors that are not (404, a PDF, an
empty page). Robots, rate limits, conditional GET and the SSRF guard come with polling (issue 4).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests

from worker.config import Source
from worker.errors import (
    DomainNotAllowedError,
    EmptyPageError,
    FetchFailedError,
    HttpStatusError,
    NotHtmlError,
    TooLargeError,
)
from worker.settings import Settings

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_REDIRECTS = 5
_local = threading.local()


@dataclass(frozen=True)
class Page:
    """A fetched partner page: the bytes as received plus what we need to decode and cite them."""

    requested_url: str
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _session(settings: Settings) -> requests.Session:
    """One pooled session per thread (requests.Session is not thread-safe; worker processes are single-threaded)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.headers.update({
            "User-Agent": settings.user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        })
        _local.session = session
    return session


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


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
        except (TypeError, ValueError):
            return None


def _raise_for_status(response: requests.Response, url: str) -> None:
    status = response.status_code
    if status == 429 or status >= 500 or status == 408:
        raise FetchFailedError(f"{url}: HTTP {status} from the partner", _retry_after(response.headers.get("Retry-After")))
    if status >= 400:
        raise HttpStatusError(f"{url}: HTTP {status} from the partner")


def _read_capped(response: requests.Response, url: str, limit: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"{url}: page is {int(declared)} bytes, over the {limit}-byte limit")
    chunks, size = [], 0
    # iter_content decompresses, so the cap applies to what we would hold in memory
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"{url}: page exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_page(url: str, source: Source, settings: Settings) -> Page:
    """GET an article page, following redirects only within the source's allowed domains."""
    check_allowed(url, source)
    session = _session(settings)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        try:
            response = session.get(
                current, timeout=(min(10, settings.fetch_timeout), settings.fetch_timeout),
                allow_redirects=False, stream=True,
            )
        except requests.RequestException as exc:
            raise FetchFailedError(f"{current}: {type(exc).__name__}: {exc}") from exc
        with response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                current = urljoin(current, location)
                check_allowed(current, source)
                continue
            _raise_for_status(response, current)
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type and content_type not in HTML_TYPES:
                raise NotHtmlError(f"{current}: the partner sent {content_type!r}, not an HTML page")
            try:
                body = _read_capped(response, current, settings.max_page_bytes)
            except requests.RequestException as exc:
                raise FetchFailedError(f"{current}: reading the page failed: {exc}") from exc
            if not body.strip():
                raise EmptyPageError(f"{current}: the partner sent an empty page (HTTP {response.status_code})")
            return Page(
                requested_url=url, url=current, status=response.status_code,
                content_type=content_type or "text/html", body=body, headers=dict(response.headers),
            )
    raise HttpStatusError(f"{url}: more than {MAX_REDIRECTS} redirects")
