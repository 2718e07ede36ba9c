"""Read-only reports over the store for the operator's console, the API and /metrics: paged, filtered
article lists, version summaries, and counts.

A part of the Store (see store.py) like the others, so every table is read through the store's own
transactions and no other module needs the table models.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from worker.schema import Article
from worker.store.base import StoreBase
from worker.store.engine import translate_errors
from worker.store.models import ArticleRow, ArticleVersionRow, DeliveryRow, IngestFailureRow

#: rows read per round trip while filtering by text
SCAN_BATCH = 200


@dataclass(frozen=True)
class ArticlePage:
    items: list[Article]
    #: offset of the next page; None on the last page
    next_offset: int | None


def _matches(article: Article, needle: str) -> bool:
    haystack = " ".join([
        article.headline, article.description or "", article.body_text, article.url, article.section or "",
        " ".join(a.name for a in article.authors), " ".join(article.tags),
    ]).casefold()
    return needle in haystack


@dataclass(frozen=True)
class Counts:
    articles_by_source: dict[str, int]
    versions_by_source: dict[str, int]
    deliveries: dict[tuple[str, str], int]
    ingest_failures: dict[tuple[str, str], int]
    delivery_latencies: list[float]


class ReportStore(StoreBase):
    """The reporting part of the Store: reads only."""

    @translate_errors
    def search_articles(self, source_id: str | None = None, q: str | None = None,
                        since: datetime | None = None, limit: int = 50, offset: int = 0) -> ArticlePage:
        """Latest versions, most recently changed first; `since` compares with the last change of the article.

        Text search (`q`, any words in headline, description, body, authors, tags, URL, without case) is done
        in Python over the candidates, which is simple, database-neutral and fast enough for an operator's
        console; the source and date filters narrow the candidates in SQL first.
        """
        query = (
            select(ArticleVersionRow.data)
            .join(ArticleRow, (ArticleRow.id == ArticleVersionRow.article_id)
                  & (ArticleRow.latest_version == ArticleVersionRow.version))
            .order_by(ArticleRow.updated_at.desc(), ArticleRow.id)
        )
        if source_id:
            query = query.where(ArticleRow.source_id == source_id)
        if since is not None:
            query = query.where(ArticleRow.updated_at >= since)
        with self._reading() as session:
            if not q:
                rows = session.scalars(query.offset(offset).limit(limit + 1)).all()
                items = [Article.model_validate(data) for data in rows]
                return ArticlePage(items[:limit], offset + limit if len(items) > limit else None)
            needle = q.casefold().strip()
            found: list[Article] = []
            skipped = 0
            for data in session.scalars(query.execution_options(yield_per=SCAN_BATCH)):
                article = Article.model_validate(data)
                if not _matches(article, needle):
                    continue
                if skipped < offset:
                    skipped += 1
                    continue
                found.append(article)
                if len(found) > limit:
                    break
        return ArticlePage(found[:limit], offset + limit if len(found) > limit else None)

    @translate_errors
    def version_summaries(self, article_id: str) -> list[dict[str, Any]]:
        """Each stored version's number, hash and when it was stored, oldest first (no article bodies)."""
        query = (
            select(ArticleVersionRow.version, ArticleVersionRow.content_hash, ArticleVersionRow.created_at)
            .where(ArticleVersionRow.article_id == article_id)
            .order_by(ArticleVersionRow.version)
        )
        with self._reading() as session:
            return [{"version": v, "content_hash": h, "stored_at": at} for v, h, at in session.execute(query).all()]

    @translate_errors
    def counts(self, latency_sample: int = 1000) -> Counts:
        """Everything /metrics reports from the store, in a handful of GROUP BY queries."""
        with self._reading() as session:
            articles = dict(session.execute(
                select(ArticleRow.source_id, func.count()).group_by(ArticleRow.source_id)).all())
            versions = dict(session.execute(
                select(ArticleRow.source_id, func.count(ArticleVersionRow.id))
                .join(ArticleVersionRow, ArticleVersionRow.article_id == ArticleRow.id)
                .group_by(ArticleRow.source_id)).all())
            deliveries = {(outlet, state): n for outlet, state, n in session.execute(
                select(DeliveryRow.outlet_id, DeliveryRow.state, func.count())
                .group_by(DeliveryRow.outlet_id, DeliveryRow.state)).all()}
            failures = {(source, code): n for source, code, n in session.execute(
                select(IngestFailureRow.source_id, IngestFailureRow.code, func.count())
                .group_by(IngestFailureRow.source_id, IngestFailureRow.code)).all()}
            recent = session.execute(
                select(DeliveryRow.created_at, DeliveryRow.delivered_at)
                .where(DeliveryRow.delivered_at.is_not(None))
                .order_by(DeliveryRow.delivered_at.desc()).limit(latency_sample)).all()
        latencies = [max(0.0, (done - created).total_seconds()) for created, done in recent if done and created]
        return Counts(articles, versions, deliveries, failures, latencies)
