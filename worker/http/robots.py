"""robots.txt, parsed by protego (Google's matching rules: longest match, wildcards, `$`), cached per origin.

Two cache layers: the parsed rules in this process (no Redis round trip per page), and the robots.txt
text in Redis so that N workers fetch a partner's robots.txt once per TTL, not N times. Without Redis
only the first layer exists.

What counts as robots.txt follows RFC 9309: a 4xx (other than 429) means "no rules"; a 5xx or a network
error means "unreachable", which the fetcher reports as a transient error so the page is retried later
instead of being fetched without knowing the rules.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import redis
from protego import Protego

log = logging.getLogger(__name__)


def origin_of(url: str) -> str:
    """scheme://host[:port] — robots.txt applies per origin, so http and https are separate files."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def robots_url(url: str) -> str:
    return origin_of(url) + "/robots.txt"


class RobotsCache:
    """Parsed robots.txt per origin for `ttl` seconds, shared through Redis when a client is given."""

    def __init__(self, ttl: float, client: redis.Redis | None = None, key_prefix: str = "") -> None:
        self.ttl = ttl
        self.client = client
        self.key_prefix = key_prefix
        self._lock = threading.Lock()
        self._local: dict[str, tuple[float, Protego]] = {}

    def _key(self, origin: str) -> str:
        return f"{self.key_prefix}syndication:robots:{origin}"

    def rules(self, origin: str, load: Callable[[], str]) -> Protego:
        """The rules for `origin`, calling `load()` (which fetches robots.txt) only on a cache miss."""
        now = time.monotonic()
        with self._lock:
            cached = self._local.get(origin)
        if cached and cached[0] > now:
            return cached[1]
        text, remaining = self._shared(origin)
        if text is None:
            text = load()
            remaining = float(self.ttl)
            if self.client is not None:
                self.client.set(self._key(origin), text, px=max(1, int(self.ttl * 1000)))
        parsed = Protego.parse(text)
        with self._lock:
            self._local[origin] = (now + remaining, parsed)
        return parsed

    def _shared(self, origin: str) -> tuple[str | None, float]:
        if self.client is None:
            return None, 0.0
        key = self._key(origin)
        with self.client.pipeline() as pipe:
            raw, pttl = pipe.get(key).pttl(key).execute()
        if raw is None or pttl <= 0:
            return None, 0.0
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        return text, pttl / 1000.0

    def forget(self, origin: str) -> None:
        """Drop one origin from both layers (an operator who knows the partner just changed its rules)."""
        with self._lock:
            self._local.pop(origin, None)
        if self.client is not None:
            self.client.delete(self._key(origin))


def robots_text(status: int, body: bytes) -> str:
    """RFC 9309 for the answers that are not errors: 2xx is the file, any other 4xx means no rules."""
    if 200 <= status < 300:
        return body.decode("utf-8", errors="replace")  # RFC 9309: robots.txt is UTF-8
    if 400 <= status < 500:
        log.debug("robots.txt answered %s: no rules apply", status)
        return ""
    raise ValueError(f"robots.txt status {status} is the fetcher's to handle")
