"""The operator console: server-rendered pages over the same operator jobs as the API (worker/ops).

Every page needs a login (the API token, once, for a 12-hour HttpOnly SameSite=Strict cookie); every
form post carries the session's CSRF token. No script runs on any page: import progress refreshes with
<meta http-equiv="refresh">, and the article as the outlet shows it sits in a sandboxed iframe.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from worker.errors import SyndicationError
from worker.ops import deliveries as delivery_jobs
from worker.ops import imports as import_jobs
from worker.ops import sources as source_jobs
from worker.outlets.render import render_article_html
from worker.store import Delivery
from worker.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    new_session,
    same_secret,
)
from worker.web.console_support import (
    LoginRequired,
    body_diff,
    changed_fields,
    check_csrf,
    check_login_csrf,
    current_session,
    login_redirect,
    new_login_csrf,
    render,
    require_session,
    safe_next,
)
from worker.web.errors import ApiError, from_exception, not_found
from worker.web.models import DeliveryOut

router = APIRouter(prefix="/console", include_in_schema=False)
ArticleId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$")]


def error_page(request: Request, error: ApiError) -> Response:
    return render(request, "error.html", status_code=error.status, error=error)


def login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_redirect(exc.next_path), status_code=303)


def _shown(rows: list[Delivery]) -> list[DeliveryOut]:
    """Ledger rows as the pages show them: the API's shape (the state by its name)."""
    return [DeliveryOut.model_validate(row) for row in rows]


def _see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


# --- login -------------------------------------------------------------------------------------------

@router.get("/login")
def login_form(request: Request, next: str | None = None, failed: bool = False) -> Response:
    if current_session(request):
        return _see(safe_next(next))
    value = new_login_csrf()
    response = render(request, "login.html", next=safe_next(next), login_csrf=value, failed=failed)
    response.set_cookie(LOGIN_CSRF_COOKIE, value, max_age=3600, httponly=True, samesite="strict",
                        secure=_secure(request), path="/console/login")
    return response


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=1000)] = "",
          csrf_token: Annotated[str, Form(max_length=200)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/console/") -> Response:
    check_login_csrf(request, csrf_token)
    if not same_secret(request.app.state.ctx.token, token):
        return render(request, "login.html", status_code=401, next=safe_next(next),
                      login_csrf=request.cookies.get(LOGIN_CSRF_COOKIE, ""), failed=True)
    response = _see(safe_next(next))
    response.set_cookie(SESSION_COOKIE, new_session(request.app.state.ctx.token), max_age=SESSION_SECONDS,
                        httponly=True, samesite="strict", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_csrf(request, require_session(request), csrf_token)
    response = _see("/console/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- pages -------------------------------------------------------------------------------------------

@router.get("/")
def dashboard(request: Request) -> Response:
    require_session(request)
    ctx = request.app.state.ctx
    sources = source_jobs.source_rows(ctx)
    failing = _shown([d for state in ("failed", "dead") for d in delivery_jobs.list_deliveries(ctx, state, None, 50)])
    return render(request, "dashboard.html", sources=sources,
                  alerts=[s for s in sources if s["status"] in ("failing", "idle")],
                  failing=sorted(failing, key=lambda d: d.updated_at, reverse=True),
                  ingest_failures=ctx.store.ingest_failures()[:20],
                  recent=ctx.store.search_articles(limit=10).items)


@router.get("/import")
def import_form(request: Request) -> Response:
    require_session(request)
    config = request.app.state.ctx.config()
    return render(request, "import.html", sources=list(config.sources.values()),
                  outlets=list(config.outlets.values()), error=None, url="", source_id="", chosen=[])


@router.post("/import")
def import_submit(request: Request, url: Annotated[str, Form(max_length=2048)] = "",
                  source_id: Annotated[str, Form(max_length=200)] = "",
                  outlets: Annotated[list[str] | None, Form()] = None,
                  csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_csrf(request, require_session(request), csrf_token)
    ctx = request.app.state.ctx
    try:
        if not url.strip() or not source_id:
            raise ApiError(422, "invalid_request", "give the article's URL and choose its source")
        record = import_jobs.queue_import(ctx, url.strip(), source_id, outlets or None)
    except (ApiError, SyndicationError) as exc:
        error = from_exception(exc) or ApiError(500, "internal_error", str(exc))
        config = ctx.config()
        return render(request, "import.html", status_code=error.status, sources=list(config.sources.values()),
                      outlets=list(config.outlets.values()), error=error, url=url, source_id=source_id,
                      chosen=outlets or [])
    return _see(f"/console/imports/{record['id']}")


@router.get("/imports/{import_id}")
def import_progress(request: Request, import_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{8,64}$")]) -> Response:
    require_session(request)
    status = import_jobs.import_status(request.app.state.ctx, import_id)
    status["deliveries"] = _shown(status["deliveries"])
    deliveries_open = any(d.state not in ("delivered", "failed", "dead") for d in status["deliveries"])
    finished = status["state"] == "failed" or (status["state"] == "stored" and not deliveries_open)
    return render(request, "import_status.html", status=status, finished=finished)


@router.get("/articles")
def articles(request: Request, q: Annotated[str | None, Query(max_length=200)] = None,
             source: Annotated[str | None, Query(max_length=200)] = None,
             offset: Annotated[int, Query(ge=0)] = 0) -> Response:
    require_session(request)
    ctx = request.app.state.ctx
    page = ctx.store.search_articles(source or None, q or None, None, 50, offset)
    return render(request, "articles.html", page=page, q=q or "", source=source or "",
                  sources=list(ctx.config().sources.values()))


@router.get("/articles/{article_id}")
def article(request: Request, article_id: ArticleId, version: Annotated[int | None, Query(ge=1)] = None,
            a: Annotated[int | None, Query(ge=1)] = None, b: Annotated[int | None, Query(ge=1)] = None) -> Response:
    require_session(request)
    store = request.app.state.ctx.store
    versions = {v.version: v for v in store.versions(article_id)}
    if not versions:
        raise not_found(f"article {article_id}")
    shown = versions.get(version or max(versions))
    if shown is None:
        raise not_found(f"version {version} of article {article_id}", f"it has versions 1 to {max(versions)}")
    new = versions.get(b or shown.version, shown)
    old = versions.get(a or new.version - 1)
    diff: dict[str, Any] | None = None
    if old is not None and old.version != new.version:
        diff = {"old": old.version, "new": new.version, "lines": body_diff(old, new),
                "fields": changed_fields(old, new)}
    return render(request, "article.html", article=shown, versions=sorted(versions.values(), key=lambda v: v.version),
                  outlet_html=render_article_html(shown), diff=diff,
                  deliveries=_shown(delivery_jobs.list_deliveries(request.app.state.ctx, None, article_id, 100)))


@router.get("/deliveries")
def deliveries(request: Request, state: Annotated[str | None, Query(max_length=20)] = None,
               retried: Annotated[int | None, Query(ge=1)] = None) -> Response:
    require_session(request)
    ctx = request.app.state.ctx
    states = ("pending", "in_progress", "delivered", "retrying", "failed", "dead")
    chosen = state if state in states else None
    rows = _shown(delivery_jobs.list_deliveries(ctx, chosen, None, 200))
    headlines: dict[str, str] = {}
    for row in rows:
        if row.article_id not in headlines:
            found = ctx.store.get_article(row.article_id)
            headlines[row.article_id] = found.headline if found else ""
    return render(request, "deliveries.html", rows=rows, headlines=headlines, state=chosen or "",
                  states=states, retried=retried)


@router.post("/deliveries/{delivery_id}/retry")
def retry(request: Request, delivery_id: Annotated[int, Path(ge=1)],
          csrf_token: Annotated[str, Form(max_length=200)] = "",
          back: Annotated[str, Form(max_length=2000)] = "/console/deliveries") -> Response:
    check_csrf(request, require_session(request), csrf_token)
    ctx = request.app.state.ctx
    delivery_jobs.retry(ctx, delivery_jobs.find_delivery(ctx, delivery_id))
    target = safe_next(back)
    return _see(f"{target}{'&' if '?' in target else '?'}retried={delivery_id}")


@router.post("/sources/{source_id}/poll")
def poll(request: Request, source_id: Annotated[str, Path(max_length=200)],
         csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_csrf(request, require_session(request), csrf_token)
    source_jobs.poll_now(request.app.state.ctx, source_id)
    return _see("/console/")
