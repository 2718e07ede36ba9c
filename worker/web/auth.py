"""One secret guards both doors: the API's bearer token and the console's login.

Why stateless signed sessions: the console runs on one laptop or behind a load balancer alike, with no
session table to share. A session cookie is `<id>.<issued>.<HMAC(token, id.issued)>`; the CSRF token of a
session is HMAC(token, "csrf:" + id), so changing SYNDICATION_API_TOKEN logs everybody out and voids every
form. The cookie is HttpOnly and SameSite=Strict (a cross-site form post arrives without it), and each
form also carries the CSRF token, which a cross-site page cannot read.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

SESSION_COOKIE = "syndication_session"
LOGIN_CSRF_COOKIE = "syndication_login_csrf"
SESSION_SECONDS = 12 * 3600
#: paths anyone may fetch: the console (which has its own login), its CSS, the API's description, liveness
PUBLIC_PREFIXES = ("/console/", "/static/")
PUBLIC_PATHS = {"/", "/console", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz", "/favicon.ico"}


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def same_secret(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so the token cannot be guessed a character at a time."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def _sign(token: str, message: str) -> str:
    return hmac.new(token.encode(), message.encode(), hashlib.sha256).hexdigest()


def new_session(token: str, now: float | None = None) -> str:
    session_id = secrets.token_urlsafe(18)
    issued = int(now if now is not None else time.time())
    return f"{session_id}.{issued}.{_sign(token, f'session:{session_id}.{issued}')}"


def session_id(token: str, cookie: str | None, now: float | None = None) -> str | None:
    """The session id of a valid, unexpired cookie; None otherwise."""
    if not cookie or cookie.count(".") != 2:
        return None
    sid, issued, signature = cookie.split(".")
    if not same_secret(_sign(token, f"session:{sid}.{issued}"), signature):
        return None
    try:
        age = (now if now is not None else time.time()) - int(issued)
    except ValueError:
        return None
    return sid if 0 <= age < SESSION_SECONDS else None


def csrf_token(token: str, sid: str) -> str:
    return _sign(token, f"csrf:{sid}")


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


#: the one path the metrics token opens
METRICS_PATH = "/metrics"


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class BearerAuthMiddleware:
    """Every API path needs `Authorization: Bearer <token>`; checked before routing and body parsing, so
    no request without the token learns anything (not even whether its body would have been valid)."""

    def __init__(self, app: ASGIApp, token: str, metrics_token: str | None = None) -> None:
        self.app = app
        self.token = token
        #: a read-only credential for /metrics alone (SYNDICATION_METRICS_TOKEN): a scraper's config
        #: then holds no secret that can queue imports or retries
        self.metrics_token = metrics_token

    def _allowed(self, path: str, given: str | None) -> bool:
        if same_secret(self.token, given):
            return True
        return bool(self.metrics_token) and path == METRICS_PATH and same_secret(self.metrics_token or "", given)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not self._allowed(scope["path"], bearer(request)):
            given = "no" if bearer(request) is None else "a wrong"
            response = JSONResponse(
                {"error": "unauthorized",
                 "message": f"{given} API token: send the header `Authorization: Bearer <SYNDICATION_API_TOKEN>`"},
                status_code=401, headers={"WWW-Authenticate": 'Bearer realm="syndication"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
