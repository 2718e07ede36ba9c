"""The web application: the HTTP API, the operator console and /metrics in one ASGI app.

Layers, outermost first: request timing (metrics), security headers, the request-body limit (413
before the body is read, worker/web/body_limit.py), the bearer-token gate for API paths, then routing.
Errors of every kind are answered as JSON {error, message} on API paths and as an error page in the
console.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from kombu.exceptions import OperationalError as BrokerOperationalError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker import __version__
from worker.errors import SyndicationError
from worker.settings import Settings, load_settings
from worker.web import body_limit, routes_api, routes_console
from worker.web.auth import BearerAuthMiddleware
from worker.web.body_limit import BodyLimitMiddleware
from worker.web.context import WebContext
from worker.web.errors import ApiError, from_exception
from worker.web.metrics import Metrics, RequestTimer

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
#: the console's pages: nothing but our own script and CSS runs; partner images may load from anywhere
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src * data:; "
               "frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type"}


class SecurityHeaders:
    """Headers that make a browser refuse to run or frame anything we did not mean it to."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        console = scope["path"].startswith("/console")

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"no-referrer"))
                if console:
                    headers.append((b"content-security-policy", CONSOLE_CSP.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, add_headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def _error_response(request: Request, error: ApiError) -> Response:
    if request.url.path.startswith("/console"):
        return routes_console.error_page(request, error)
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    return JSONResponse({"error": error.code, "message": error.message}, status_code=error.status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error_response(request, ApiError(422, "invalid_request", _validation_message(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 413:  # a body of no declared length that the count stopped (body_limit.py)
            message = body_limit.too_large_message(request.app.state.max_request_bytes)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such path {request.url.path} (the API is described at /docs and /openapi.json)"
        return _error_response(request, ApiError(exc.status_code, code, message))

    async def failure(request: Request, exc: Exception) -> Response:
        error = from_exception(exc)
        if error is None or error.status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=error is None)
        if error is None:
            error = ApiError(500, "internal_error", "unexpected error on the server; the server log has the details")
        return _error_response(request, error)

    # named failures are answered by the inner exception middleware (a plain answer, no traceback);
    # Exception itself goes to the outermost one, for bugs
    for known in (ApiError, SyndicationError, BrokerOperationalError, RedisError, ConnectionError, Exception):
        app.add_exception_handler(known, failure)


async def _refuse_body(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    """A body refused by its declared length, answered as any other error of its path."""
    response = _error_response(Request(scope, receive), ApiError(413, "too_large", message))
    await response(scope, receive, send)


def create_app(settings: Settings | None = None, token: str | None = None,
               max_request_bytes: int | None = None, metrics_token: str | None = None) -> FastAPI:
    """The app for these settings; `token` guards the API and the console (required, never empty);
    `metrics_token`, when given, reads /metrics and nothing else (SYNDICATION_METRICS_TOKEN).
    Request bodies over `max_request_bytes` are refused (default: SYNDICATION_MAX_REQUEST_BYTES, 16 MiB)."""
    if not token:
        raise ValueError("create_app needs the API token (server.serve makes one when none is configured)")
    limit = body_limit.max_request_bytes() if max_request_bytes is None else max_request_bytes
    if limit < 1:
        raise ValueError(f"max_request_bytes must be above 0, not {limit}")
    ctx = WebContext(settings or load_settings(), token)
    app = FastAPI(
        title="syndication-worker",
        version=__version__,
        description="Operator API: queue imports and follow them, read canonical articles and their versions, "
                    "preview extraction, replay failed deliveries, check source health. Every route needs "
                    "`Authorization: Bearer <SYNDICATION_API_TOKEN>`. Errors are JSON `{error, message}`. "
                    "Request bodies over SYNDICATION_MAX_REQUEST_BYTES (default 16 MiB) are refused with 413, "
                    "before they are read.",
    )
    app.state.ctx = ctx
    app.state.max_request_bytes = limit
    app.state.metrics = Metrics(ctx)
    _install_error_handlers(app)
    app.add_exception_handler(routes_console.LoginRequired, routes_console.login_required)
    app.include_router(routes_api.router)
    app.include_router(routes_console.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        return {"ok": True}

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/console/", status_code=303)

    if metrics_token is not None and metrics_token == token:
        raise ValueError("the metrics token must differ from the API token: it is the read-only one")
    app.add_middleware(BearerAuthMiddleware, token=token, metrics_token=metrics_token)
    # outside the token gate: a request without the token may not make the server read a big body either
    app.add_middleware(BodyLimitMiddleware, max_bytes=limit, refuse=_refuse_body)
    app.add_middleware(SecurityHeaders)
    # every route the requests can reach, flat: the routers' own (included without a prefix) and the app's
    timed = [*routes_api.router.routes, *routes_console.router.routes,
             *(r for r in app.router.routes if isinstance(r, (Route, Mount)))]
    app.add_middleware(RequestTimer, metrics=app.state.metrics, routes=timed)
    return app
