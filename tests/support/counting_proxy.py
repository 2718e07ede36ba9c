"""A logging reverse proxy on loopback: what a partner served, request by request, in requests and bytes.

Why: "an unchanged poll costs one request" is a claim about the wire, so it is counted where the partner
sees it, not where the code says it fetched. The proxy forwards GET and HEAD to `upstream` unchanged
(no redirect followed, no compression asked for, so the bytes counted are the answer as sent) and
rewrites the upstream's origin to its own in the answer's Location and Link headers and body, so every
link the site hands out (a redirect, its REST root, its posts' URLs) leads back through the proxy:
the site appears to live at the proxy's origin, as it would behind a real reverse proxy.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import requests

from tests.support.loopback_http import LoopbackHTTPServer

#: request headers passed upstream: what a conditional GET and content negotiation need
_FORWARDED = ("Accept", "If-None-Match", "If-Modified-Since", "User-Agent")
#: answer headers not passed back (the proxy frames the answer itself)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding",
               "date", "server"}  # the last two: http.server sends its own


@dataclass(frozen=True)
class Forwarded:
    method: str
    path: str  # with the query
    status: int
    header_bytes: int  # the upstream's status line and headers, as sent
    body_bytes: int


class CountingProxy:
    """`with CountingProxy("http://127.0.0.1:8080") as proxy:` forwards at `proxy.origin`; `proxy.log`."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.log: list[Forwarded] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                proxy._forward(self)

            def do_HEAD(self) -> None:  # noqa: N802
                proxy._forward(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

        self._server = LoopbackHTTPServer(Handler, name="counting-proxy")

    @property
    def origin(self) -> str:
        return self._server.origin

    def url(self, path: str = "/") -> str:
        return self._server.url(path)

    def mark(self) -> int:
        """Where the log is now: `since(mark)` is what was forwarded after it."""
        with self._lock:
            return len(self.log)

    def since(self, mark: int) -> list[Forwarded]:
        with self._lock:
            return list(self.log[mark:])

    def _rewrite(self, data: bytes) -> bytes:
        upstream, own = urlsplit(self.upstream).netloc.encode(), urlsplit(self.origin).netloc.encode()
        return data.replace(upstream, own)

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        headers = {name: handler.headers[name] for name in _FORWARDED if handler.headers.get(name)}
        headers["Accept-Encoding"] = "identity"
        answer = requests.request(handler.command, self.upstream + handler.path, headers=headers,
                                       allow_redirects=False, timeout=60)
        body = answer.content
        raw_headers = answer.raw.headers.items()
        header_bytes = len(f"HTTP/1.1 {answer.status_code} {answer.reason}\r\n") + sum(
            len(f"{name}: {value}\r\n") for name, value in raw_headers) + 2
        with self._lock:
            self.log.append(Forwarded(handler.command, handler.path, answer.status_code, header_bytes, len(body)))
        out = self._rewrite(body)
        handler.send_response(answer.status_code, answer.reason)
        for name, value in raw_headers:
            if name.lower() not in _HOP_BY_HOP:
                handler.send_header(name, self._rewrite(value.encode("latin-1")).decode("latin-1"))
        handler.send_header("Content-Length", str(len(out)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(out)

    def __enter__(self) -> CountingProxy:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
