"""Request and response bodies of the HTTP API, so the OpenAPI document states every shape exactly.

Why strict input models (extra fields forbidden, lengths bounded): a mistyped field name should be
answered "unknown field", not silently ignored, and no request can make the server parse megabytes it
was never meant to.
"""
from __future__ import annotations

import dataclasses
import typing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from worker.schema import Article
from worker.store import Delivery, DeliveryState

MAX_URL = 2048
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=1, max_length=MAX_URL, description="The partner's article page (http or https).")
    source_id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN, description="A source of sources.yaml.")
    outlets: list[str] | None = Field(
        default=None, max_length=50,
        description="Deliver only to these outlets (ids of outlets.yaml); default: every enabled outlet.")


class ImportQueued(BaseModel):
    id: str = Field(description="The import id (the ingest task's id): GET /imports/{id} follows it.")
    url: str
    source_id: str
    outlets: list[str]
    queued_at: datetime


def _delivery_fields() -> dict[str, Any]:
    """DeliveryOut's fields: the store's Delivery's, each required (a response always carries it), the
    state as its name (a string, as the API has always documented it)."""
    hints = typing.get_type_hints(Delivery)
    states = [state.value for state in DeliveryState]
    described = {"state": (str, Field(description=", ".join(states[:-1]) + " or " + states[-1]))}
    return {f.name: described.get(f.name, (hints[f.name], ...)) for f in dataclasses.fields(Delivery)}


if TYPE_CHECKING:
    class DeliveryOut(BaseModel):
        """A ledger row as the API answers it (worker/store/ledger.py's Delivery)."""
else:
    # derived, not spelled again: a field added to Delivery is in the API and its OpenAPI schema at once
    DeliveryOut = create_model(
        "DeliveryOut", __config__=ConfigDict(from_attributes=True),
        __doc__="A ledger row as the API answers it (worker/store/ledger.py's Delivery).", **_delivery_fields())


class ImportStatus(ImportQueued):
    state: str = Field(description="queued, running, retrying, stored or failed")
    message: str | None = Field(description="What is happening, or why it failed.")
    outcome: str | None = Field(description="Once stored: new, new_version, unchanged, not_modified or duplicate.")
    article: Article | None = Field(description="Once stored: the canonical article.")
    deliveries: list[DeliveryOut]


class ArticleSummary(BaseModel):
    id: str
    version: int
    source_id: str
    headline: str
    url: str
    attribution: str
    published: datetime | None
    updated: datetime | None
    fetched_at: datetime

    @classmethod
    def of(cls, article: Article) -> ArticleSummary:
        return cls(id=article.id, version=article.version, source_id=article.source.id, headline=article.headline,
                   url=article.url, attribution=article.attribution, published=article.published,
                   updated=article.updated, fetched_at=article.fetched_at)


class ArticleList(BaseModel):
    items: list[ArticleSummary]
    next_offset: int | None = Field(description="Pass as ?offset= for the next page; null on the last page.")


class VersionOut(BaseModel):
    version: int
    content_hash: str
    stored_at: datetime


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(default=None, min_length=1, max_length=MAX_URL,
                            description="Fetched when no html is given; with html, the page's address.")
    html: str | None = Field(default=None, min_length=1, max_length=10 * 1024 * 1024,
                             description="The page's HTML, extracted as it is (nothing is fetched).")
    source_id: str | None = Field(default=None, min_length=1, max_length=200, pattern=ID_PATTERN,
                                  description="Use this source's selectors, name and attribution.")

    @model_validator(mode="after")
    def _url_or_html(self) -> PreviewRequest:
        if self.url is None and self.html is None:
            raise ValueError("give a url to fetch, or the page's html (or both: html with its url)")
        return self


class SourceOut(BaseModel):
    id: str
    name: str
    status: str = Field(description="ok, failing, idle, never polled, or manual only")
    pollable: bool
    interval_seconds: int
    idle_alert_after_hours: float
    idle: bool
    last_poll_finished_at: datetime | None
    last_new_article_at: datetime | None
    consecutive_failures: int
    articles_total: int
    last_error: str | None


class TaskQueued(BaseModel):
    task_id: str
    message: str


NinjsDocument = dict[str, Any]
