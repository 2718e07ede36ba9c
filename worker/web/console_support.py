"""The console's plumbing: templates (autoescaped), login sessions, CSRF checks, the version diff.

Why autoescape everywhere and no `|safe` on partner or operator text: every headline, byline, URL and
error message shown here may have been written by someone else. The only markup shown as markup is the
outlet's rendering of the article, inside a sandboxed iframe (srcdoc, no scripts, under the console's CSP).
"""
from __future__ import annotations

import difflib
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from worker.schema import Article
from worker.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_token,
    same_secret,
    session_id,
)
from worker.web.errors import ApiError

TEMPLATES_DIR = Path(__file__).with_name("templates")


def _when(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _ago(value: datetime | None) -> str:
    if value is None:
        return "-"
    seconds = (datetime.now(timezone.utc) - value).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{max(seconds, 0):.0f}s ago"


def _make_templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=jinja2.StrictUndefined,
    )
    env.filters["when"] = _when
    env.filters["ago"] = _ago
    return Jinja2Templates(env=env)


templates = _make_templates()


class LoginRequired(Exception):
    """Raised by a console page without a valid session; answered with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def current_session(request: Request) -> str | None:
    return session_id(request.app.state.ctx.token, request.cookies.get(SESSION_COOKIE))


def require_session(request: Request) -> str:
    sid = current_session(request)
    if sid is None:
        raise LoginRequired(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return sid


def check_csrf(request: Request, sid: str, submitted: str | None) -> None:
    if not same_secret(csrf_token(request.app.state.ctx.token, sid), submitted):
        raise ApiError(403, "csrf", "this form has expired or did not come from the console; reload the page and try again")


def check_login_csrf(request: Request, submitted: str | None) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not same_secret(expected, submitted):
        raise ApiError(403, "csrf", "the login form has expired; reload the login page and try again")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def safe_next(path: str | None) -> str:
    """Only a console path may follow a login (no open redirect to another site)."""
    if path and path.startswith("/console") and not path.startswith("//") and "\\" not in path:
        return path
    return "/console/"


def login_redirect(next_path: str) -> str:
    return f"/console/login?next={quote(safe_next(next_path), safe='')}"


def render(request: Request, name: str, status_code: int = 200, **data: Any) -> Response:
    sid = current_session(request)
    context = {"sid": sid, "csrf": csrf_token(request.app.state.ctx.token, sid) if sid else "", **data}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def body_diff(old: Article, new: Article) -> list[tuple[str, str]]:
    """Unified diff of body_text, one (kind, line) per line; kinds: add, del, hunk, same."""
    lines = difflib.unified_diff(old.body_text.splitlines(), new.body_text.splitlines(),
                                 f"v{old.version}", f"v{new.version}", lineterm="", n=1)
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
        out.append((kind, line))
    return out


def changed_fields(old: Article, new: Article) -> list[tuple[str, str, str]]:
    """The fields other than the body that differ between two versions: (field, old, new) as text."""
    def authors(a: Article) -> str:
        return ", ".join(x.name for x in a.authors)

    def image(a: Article) -> str:
        i = a.lead_image
        return f"{i.url} | {i.caption or ''} | {i.credit or ''}" if i else ""

    readers = {
        "headline": lambda a: a.headline, "description": lambda a: a.description or "",
        "authors": authors, "section": lambda a: a.section or "", "tags": lambda a: ", ".join(a.tags),
        "lead image": image, "published": lambda a: _when(a.published), "updated": lambda a: _when(a.updated),
    }
    return [(name, read(old), read(new)) for name, read in readers.items() if read(old) != read(new)]
