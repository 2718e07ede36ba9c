"""One total deadline for an outbound HTTP request: connecting, waiting for the headers, every byte after.

Why hand-written: the timeouts of requests and urllib3 bound each socket operation (the connect, then every
recv), not the exchange, so a peer that sends one byte a second never trips them. requests says so itself
("timeout is not a time limit on the entire response download", psf/requests#4276: "not something that we
can provide"), and urllib3's `Timeout(total=...)` only shortens the read timeout once, before the headers.
The common workarounds are a watchdog thread or signal (neither works everywhere: signals only in the main
thread, and a thread cannot interrupt a blocked recv without the socket) or checking the clock between
chunks, which is what let a 1 byte/second partner through: the check ran only when a 64 KiB chunk filled.

How: `with Deadline(seconds) as deadline:` makes the deadline current for the calling thread (a ContextVar).
Sessions whose adapter went through `enforce_deadlines` (or came from `deadline_session`) give every
response a reader that, before each recv, sets the socket's timeout to the time left (never more than the
configured read timeout) and refuses to read once none is left. A blocked recv therefore ends at the
deadline whatever the peer does, in the status line, the headers, a chunk header or the body. What comes
out is urllib3's ordinary read timeout, which every caller already handles; the caller then asks
`deadline.expired` to give the failure its name. No thread, no signal: any thread, any Celery pool.

Bounded otherwise, accepted: the DNS lookup (getaddrinfo takes no timeout), and connecting, the TLS
handshake and sending the request body, which urllib3 runs under the connect timeout that
`Deadline.timeouts` shortens to the time left when the request starts (CPython applies a socket timeout to
a whole sendall, not to each piece of it).
"""
from __future__ import annotations

import http.client
import io
import socket
import time
from contextvars import ContextVar, Token
from functools import cache
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connectionpool import HTTPConnectionPool

#: a request started with (almost) no time left still gets a valid, tiny timeout; the deadline then
#: names the failure
_SMALLEST_TIMEOUT = 0.001

_current: ContextVar[Deadline | None] = ContextVar("syndication_http_deadline", default=None)


class Deadline:
    """A point in time (monotonic clock) by which the requests made inside `with deadline:` must be done.

    Entered inside another deadline, it never reaches past the outer one: a robots.txt fetched on the
    way to a page spends the page's time, not time of its own.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.expires_at = time.monotonic() + self.seconds
        self._tokens: list[Token[Deadline | None]] = []

    def remaining(self) -> float:
        return max(0.0, self.expires_at - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.expires_at

    def timeouts(self, connect: float, read: float) -> tuple[float, float]:
        """requests' (connect, read) timeouts: the configured ones, each shortened to the time left."""
        left = max(self.remaining(), _SMALLEST_TIMEOUT)
        return min(connect, left), min(read, left)

    def __enter__(self) -> Deadline:
        outer = _current.get()
        if outer is not None and outer.expires_at < self.expires_at:
            self.expires_at = outer.expires_at
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._tokens.pop())


def current_deadline() -> Deadline | None:
    """The innermost deadline entered by this thread, if any."""
    return _current.get()


class _DeadlineReader(io.RawIOBase):
    """The socket reader http.client reads a response through, with the deadline checked at every recv."""

    def __init__(self, stream: io.RawIOBase, sock: socket.socket, deadline: Deadline) -> None:
        super().__init__()
        self._stream = stream
        self._sock = sock
        self._deadline = deadline
        #: what urllib3 set for this response: the per-read timeout, which the deadline only shortens
        self._read_timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline.expires_at - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the total deadline of {self._deadline.seconds:g} s passed")
        self._sock.settimeout(left if self._read_timeout is None else min(self._read_timeout, left))
        return self._stream.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()  # releases the socket's reference, as http.client's own reader would
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    """http.client's response, reading through a _DeadlineReader when a deadline is current."""

    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        deadline = _current.get()
        if deadline is not None:
            # nothing has been read yet; detach (not close) the buffer so the socket stream stays open
            stream = self.fp.detach()
            self.fp = io.BufferedReader(_DeadlineReader(stream, sock, deadline))  # type: ignore[arg-type]


class _DeadlineConnectionMixin:
    """Put before an urllib3 connection class: its responses honour the current deadline."""

    response_class = _DeadlineResponse


@cache
def _pool_with_deadlines(pool_class: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
    if getattr(pool_class, "enforces_deadlines", False):
        return pool_class
    connection = pool_class.ConnectionCls
    with_deadline = type(f"Deadline{connection.__name__}", (_DeadlineConnectionMixin, connection), {})
    return type(f"Deadline{pool_class.__name__}", (pool_class,),
                {"ConnectionCls": with_deadline, "enforces_deadlines": True})


def _enforce_on(manager: PoolManager) -> None:
    # a new dict: a plain PoolManager shares urllib3's module-level one with every other manager
    manager.pool_classes_by_scheme = {
        scheme: _pool_with_deadlines(pool_class) for scheme, pool_class in manager.pool_classes_by_scheme.items()
    }


def enforce_deadlines(adapter: HTTPAdapter) -> HTTPAdapter:
    """Make every connection of `adapter` (direct or through a proxy) honour the current Deadline.

    Works on any adapter whose pools are urllib3 connection pools, including the SSRF guard's
    (worker/http/ssrf.py): its connection classes keep their behaviour and gain the deadline.
    """
    _enforce_on(adapter.poolmanager)
    make_proxy_manager = adapter.proxy_manager_for

    def proxy_manager_for(proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager = make_proxy_manager(proxy, **proxy_kwargs)
        _enforce_on(manager)
        return manager

    adapter.proxy_manager_for = proxy_manager_for  # type: ignore[method-assign]
    return adapter


def deadline_session(**adapter_kwargs: Any) -> requests.Session:
    """A requests Session whose http and https requests honour the current Deadline."""
    session = requests.Session()
    adapter = enforce_deadlines(HTTPAdapter(**adapter_kwargs))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
