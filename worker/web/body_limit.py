"""Request bodies over a limit are refused (413) before they are read, not after.

Why: without a limit, `POST /preview` read and parsed a 200 MB body before its validation said no, so one
request could hold hundreds of megabytes of the server's memory. Two cases, two checks:

- A declared `Content-Length` over the limit is answered at once, before the app runs: not one byte of
  the body is read (a client that sent `Expect: 100-continue` is never even told to send it, since the
  server says "100 Continue" only when the app first reads).
- A body of no declared length (chunked) is counted as the app reads it, by Starlette's own
  RequestBodyLimitMiddleware (a kept library: the byte counting is not written here). It raises a 413
  HTTPException the moment the count passes the limit, and the app's error handlers answer it in the
  usual shape (JSON `{error, message}` on API paths, the error page in the console).

Every 413 goes out with `Connection: close`, so the server drops the connection instead of reading (and
throwing away) the rest of a body it has refused.

The limit is SYNDICATION_MAX_REQUEST_BYTES (bytes; default 16 MiB: room for the largest page /preview
accepts, 10 Mi characters of HTML, plus its JSON quoting). It is read here, not in worker/settings.py,
because only the web server has request bodies.
"""
from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping

from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.errors import SyndicationError

LIMIT_ENV = "SYNDICATION_MAX_REQUEST_BYTES"
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
CLOSE = (b"connection", b"close")

#: answers a refused request in the app's usual error shape: (scope, receive, send, message)
Refuse = Callable[[Scope, Receive, Send, str], Awaitable[None]]


def max_request_bytes(environ: Mapping[str, str] | None = None) -> int:
    """The configured limit; a value that is not a positive whole number stops the start with its name."""
    raw = (os.environ if environ is None else environ).get(LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_REQUEST_BYTES
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1:
        raise SyndicationError(f"environment variable {LIMIT_ENV}={raw!r}: expected a whole number of bytes "
                               f"above 0 (the default is {DEFAULT_MAX_REQUEST_BYTES}, 16 MiB)")
    return limit


def too_large_message(limit: int) -> str:
    shown = f"{limit / 1024 / 1024:g} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"
    return f"the request body is over the limit of {shown} ({LIMIT_ENV}); send less"


def declared_length(scope: Scope) -> int | None:
    """Content-Length as a number; None when absent or unreadable (the server rejects a malformed one)."""
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BodyLimitMiddleware:
    """Refuse request bodies over `max_bytes`: by their Content-Length before the app runs, and by a
    running count (Starlette's RequestBodyLimitMiddleware) for bodies of no declared length."""

    def __init__(self, app: ASGIApp, max_bytes: int, refuse: Refuse) -> None:
        self.counted = RequestBodyLimitMiddleware(app, max_body_size=max_bytes)
        self.max_bytes = max_bytes
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.counted(scope, receive, send)
            return

        async def close_after_413(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = list(message.get("headers", []))
                if CLOSE not in headers:
                    message = {**message, "headers": [*headers, CLOSE]}
            await send(message)

        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await self.refuse(scope, receive, close_after_413, too_large_message(self.max_bytes))
            return
        await self.counted(scope, receive, close_after_413)
