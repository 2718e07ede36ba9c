"""The HTTP API: imports, articles, preview, deliveries, sources. Bearer token on every route.

Handlers are plain `def`: they call the store and the broker, which block, so Starlette runs them in its
thread pool. Every failure is answered as ErrorBody (worker/web/errors.py).
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from worker.ops import deliveries, imports, preview, sources
from worker.schema import Article, to_ninjs
from worker.web.errors import ErrorBody, not_found
from worker.web.models import (
    ArticleList,
    ArticleSummary,
    DeliveryOut,
    ImportQueued,
    ImportRequest,
    ImportStatus,
    PreviewRequest,
    SourceOut,
    TaskQueued,
    VersionOut,
)

#: declares the bearer scheme in the OpenAPI document; the check itself is BearerAuthMiddleware's
bearer_scheme = HTTPBearer(auto_error=False, description="SYNDICATION_API_TOKEN")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No or wrong bearer token"},
    413: {"model": ErrorBody, "description": "The request body is over SYNDICATION_MAX_REQUEST_BYTES (default 16 MiB)"},
    422: {"model": ErrorBody, "description": "The request is not valid; the message says which field and why"},
    500: {"model": ErrorBody, "description": "A bug or broken configuration; see the server log"},
    503: {"model": ErrorBody, "description": "The broker or the store is unreachable; try again shortly"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such item"}}
CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description": "Not possible in this state"}}


def _token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]) -> None:
    """Present only so every operation lists its security requirement."""


router = APIRouter(dependencies=[Depends(_token)], responses=ERRORS)
ArticleId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,64}$", description="Article id (24 hex digits)")]
StateName = Literal["pending", "in_progress", "delivered", "retrying", "failed", "dead"]


def ctx(request: Request) -> Any:
    return request.app.state.ctx


@router.post("/imports", status_code=202, response_model=ImportQueued, tags=["imports"],
             responses={**NOT_FOUND})
def create_import(body: ImportRequest, request: Request) -> dict[str, Any]:
    """Queue the ingest of one partner page (and its deliveries); follow it with GET /imports/{id}."""
    return imports.queue_import(ctx(request), body.url, body.source_id, body.outlets)


@router.get("/imports/{import_id}", response_model=ImportStatus, tags=["imports"], responses={**NOT_FOUND})
def get_import(import_id: Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{8,64}$")], request: Request) -> dict[str, Any]:
    """Where an import stands; once stored, the canonical article and its deliveries."""
    status = imports.import_status(ctx(request), import_id)
    return {**status, "deliveries": [DeliveryOut.model_validate(row) for row in status["deliveries"]]}


@router.get("/articles", response_model=ArticleList, tags=["articles"])
def list_articles(
    request: Request,
    source: Annotated[str | None, Query(max_length=200, description="Only this source id")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Words in headline, body, authors, tags, URL")] = None,
    since: Annotated[datetime | None, Query(description="Changed at or after (ISO 8601; UTC if no offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ArticleList:
    """The latest version of each article, the most recently changed first, a page at a time."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    page = ctx(request).store.search_articles(source, q, since, limit, offset)
    return ArticleList(items=[ArticleSummary.of(a) for a in page.items], next_offset=page.next_offset)


@router.get("/articles/{article_id}", tags=["articles"], responses={
    **NOT_FOUND,
    200: {"description": "The canonical article (format=json) or its IPTC ninjs 2.x document (format=ninjs)",
          "content": {"application/json": {"schema": {"oneOf": [
              {"$ref": "#/components/schemas/Article"}, {"type": "object"}]}}}},
})
def get_article(
    article_id: ArticleId, request: Request,
    format: Annotated[Literal["json", "ninjs"], Query(description="json: canonical; ninjs: IPTC ninjs 2.x")] = "json",
    version: Annotated[int | None, Query(ge=1, le=1_000_000, description="Default: the latest")] = None,
) -> Any:
    """One article (one version of it), as canonical JSON or ninjs."""
    article = ctx(request).store.get_article(article_id, version)
    if article is None:
        raise not_found(f"article {article_id}" + (f" version {version}" if version else ""), "see GET /articles")
    if format == "ninjs":
        return to_ninjs(article)
    return Response(article.model_dump_json(), media_type="application/json")


@router.get("/articles/{article_id}/versions", response_model=list[VersionOut], tags=["articles"],
            responses={**NOT_FOUND})
def get_versions(article_id: ArticleId, request: Request) -> list[dict[str, Any]]:
    """Every stored version, oldest first; fetch one with GET /articles/{id}?version=N."""
    rows = ctx(request).store.version_summaries(article_id)
    if not rows:
        raise not_found(f"article {article_id}", "see GET /articles")
    return rows


@router.post("/preview", response_model=Article, tags=["articles"], responses={
    **NOT_FOUND, 502: {"model": ErrorBody, "description": "The partner page could not be fetched"}})
def post_preview(body: PreviewRequest, request: Request) -> Article:
    """The canonical article of a page (fetched, or given as HTML) without storing or delivering it."""
    return preview.preview(ctx(request).settings, body.source_id, url=body.url, html=body.html)


@router.get("/deliveries", response_model=list[DeliveryOut], tags=["deliveries"])
def list_deliveries(
    request: Request,
    state: StateName | None = None,
    article_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{1,64}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """Ledger rows, the most recently touched first, with the reason of every failure."""
    rows = deliveries.list_deliveries(ctx(request), state, article_id, limit)
    return [DeliveryOut.model_validate(row) for row in rows]


@router.post("/deliveries/{delivery_id}/retry", status_code=202, response_model=DeliveryOut, tags=["deliveries"],
             responses={**NOT_FOUND, **CONFLICT})
def retry_delivery(delivery_id: Annotated[int, Path(ge=1, le=2**62)], request: Request) -> DeliveryOut:
    """Replay a failed or dead delivery (the same ledger row, so it cannot be delivered twice)."""
    context = ctx(request)
    return DeliveryOut.model_validate(deliveries.retry(context, deliveries.find_delivery(context, delivery_id)))


@router.get("/sources", response_model=list[SourceOut], tags=["sources"])
def list_sources(request: Request) -> list[dict[str, Any]]:
    """Every configured source with its polling health (ok, failing, idle, never polled, manual only)."""
    return sources.source_rows(ctx(request))


@router.post("/sources/{source_id}/poll", status_code=202, response_model=TaskQueued, tags=["sources"],
             responses={**NOT_FOUND, **CONFLICT})
def poll_source(source_id: Annotated[str, Path(max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")],
                request: Request) -> TaskQueued:
    """Poll one source now (the Run Now button); the next scheduled poll is an interval later."""
    result = sources.poll_now(ctx(request), source_id)
    return TaskQueued(task_id=str(result.id), message=f"queued a poll of {source_id}")
