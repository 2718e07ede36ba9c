"""Polling state: what the last fetch of each URL returned (for conditional GET) and the links discovery saw.

Several pollers may plan the same source at once (beat fires while a slow poll still runs, or the lock
expired). plan_ingests settles who ingests what inside the database: a new link goes to the one planner
whose INSERT ... ON CONFLICT DO NOTHING created it, and a known link to the one whose conditional UPDATE
(`WHERE fingerprint differs OR re-check due`) matched it; the others' statements then match nothing.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, false, func, or_, select, true, update
from sqlalchemy.orm import Session

from worker.store.base import StoreBase, affected_rows, utc_now
from worker.store.engine import translate_errors
from worker.store.models import KnownLinkRow, UrlStateRow, UTCDateTime

#: rows per multi-row INSERT (SQLite allows 32766 bound values per statement; a row binds 11)
INSERT_CHUNK = 500
T = TypeVar("T")


@dataclass(frozen=True)
class UrlState:
    """What the last fetch of a URL returned; etag and last_modified feed the next conditional GET."""

    source_id: str
    url: str
    etag: str | None
    last_modified: str | None
    last_status: int
    last_fetched_at: datetime
    article_id: str | None
    content_hash: str | None


@dataclass(frozen=True)
class LinkSeen:
    """One candidate link as discovery found it."""

    url: str
    guid: str | None
    #: discovery's digest of the entry (title, dates, summary...): a new value means the entry changed
    fingerprint: str
    published: datetime | None = None
    #: the declared article (DeclaredArticle JSON) a structured source handed over with the link
    item: str | None = None
    #: where the article's structured form is fetched alone, and the kind that reads it
    item_url: str | None = None
    item_kind: str | None = None
    #: a re-check by the clock of a link whose item can be fetched alone: forget the stored item, so
    #: the ingest reads the current one (and learns that it is gone) instead of re-using the old one
    refetch_item: bool = False

    def item_values(self) -> dict[str, Any]:
        """The item columns a planned link writes: what it brings, and nothing it does not."""
        values: dict[str, Any] = {}
        if self.item is not None:
            values["item"] = self.item
        elif self.refetch_item and self.item_url is not None:
            values["item"] = None
        if self.item_url is not None:
            values["item_url"] = self.item_url
            values["item_kind"] = self.item_kind
        return values


@dataclass(frozen=True)
class DeclaredItem:
    """A structured source's hand-over for one link (see LinkSeen.item / item_url)."""

    item: str | None
    item_url: str | None
    item_kind: str | None


@dataclass(frozen=True)
class KnownLink:
    source_id: str
    url: str
    guid: str | None
    fingerprint: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    published_at: datetime | None
    last_checked_at: datetime | None
    last_planned_at: datetime | None
    article_id: str | None
    withdrawn_at: datetime | None
    item_url: str | None = None
    item_kind: str | None = None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _url_state(row: UrlStateRow) -> UrlState:
    return UrlState(
        source_id=row.source_id, url=row.url, etag=row.etag, last_modified=row.last_modified,
        last_status=row.last_status, last_fetched_at=row.last_fetched_at, article_id=row.article_id,
        content_hash=row.content_hash,
    )


def _known_link(row: KnownLinkRow) -> KnownLink:
    return KnownLink(
        source_id=row.source_id, url=row.url, guid=row.guid, fingerprint=row.fingerprint,
        first_seen_at=row.first_seen_at, last_seen_at=row.last_seen_at, published_at=row.published_at,
        last_checked_at=row.last_checked_at, last_planned_at=row.last_planned_at, article_id=row.article_id,
        withdrawn_at=row.withdrawn_at, item_url=row.item_url, item_kind=row.item_kind,
    )


class PollingStore(StoreBase):
    """Conditional-GET state per URL and the known links of each source."""

    # --- conditional GET --------------------------------------------------------------------------------

    @translate_errors
    def url_state(self, source_id: str, url: str) -> UrlState | None:
        with self._reading() as session:
            row = session.get(UrlStateRow, (source_id, url))
            return _url_state(row) if row is not None else None

    @translate_errors
    def save_url_state(self, source_id: str, url: str, *, etag: str | None, last_modified: str | None,
                       status: int, article_id: str | None = None, content_hash: str | None = None) -> UrlState:
        """Record a fetch. etag and last_modified are stored as given (None clears them); article_id and
        content_hash keep their stored values when None is given, so a 304 keeps what the last 200 made.
        """
        now = utc_now()
        table = cast(Table, UrlStateRow.__table__)
        statement = self._upsert(table).values(
            source_id=source_id, url=url, etag=etag, last_modified=last_modified, last_status=status,
            last_fetched_at=now, article_id=article_id, content_hash=content_hash,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.source_id, table.c.url],
            set_={
                "etag": etag, "last_modified": last_modified, "last_status": status, "last_fetched_at": now,
                "article_id": func.coalesce(statement.excluded.article_id, table.c.article_id),
                "content_hash": func.coalesce(statement.excluded.content_hash, table.c.content_hash),
            },
        )
        with self._writing() as session:
            session.execute(statement)
            session.expire_all()
            return _url_state(session.get_one(UrlStateRow, (source_id, url)))

    # --- known links --------------------------------------------------------------------------------

    @translate_errors
    def plan_ingests(self, source_id: str, candidates: Iterable[LinkSeen], now: datetime,
                     updates_window_hours: float, recheck_every_hours: float) -> list[str]:
        """Record what discovery saw and return the URLs this caller should ingest, in discovery order.

        Planned: links never seen before; links whose fingerprint changed; and links due a re-check, i.e.
        published (or, when the date is unknown, first seen) within the updates window, and neither checked
        nor planned within the last `recheck_every_hours`. A withdrawn link is never planned. Each planned
        URL is claimed (last_planned_at = now) in the same statement that decides it, so concurrent
        planners never both get it.
        """
        latest: dict[str, LinkSeen] = {}
        for candidate in candidates:
            latest[candidate.url] = candidate  # a URL listed twice: its last entry wins
        # One lock order for every planner, so that two planning the same links cannot deadlock.
        ordered = sorted(latest)
        window_start = now - timedelta(hours=updates_window_hours)
        recheck_before = now - timedelta(hours=recheck_every_hours)
        planned: set[str] = set()
        with self._writing() as session:
            for chunk in _chunks(ordered, INSERT_CHUNK):
                planned |= self._insert_new_links(session, source_id, [latest[url] for url in chunk], now)
            seen_only = []
            for url in ordered:
                if url in planned:
                    continue
                if self._claim_link(session, source_id, latest[url], now, window_start, recheck_before):
                    planned.add(url)
                else:
                    seen_only.append(latest[url])
            self._touch_links(session, source_id, seen_only, now)
        return [url for url in latest if url in planned]

    def _insert_new_links(self, session: Session, source_id: str, links: Sequence[LinkSeen], now: datetime) -> set[str]:
        table = cast(Table, KnownLinkRow.__table__)
        # every row names the same columns (a multi-row INSERT needs that), item ones included
        rows = [
            {"source_id": source_id, "url": link.url, "guid": link.guid, "fingerprint": link.fingerprint,
             "first_seen_at": now, "last_seen_at": now, "published_at": link.published, "last_planned_at": now,
             "item": link.item, "item_url": link.item_url, "item_kind": link.item_kind}
            for link in links
        ]
        statement = (
            self._upsert(table).values(rows)
            .on_conflict_do_nothing(index_elements=[table.c.source_id, table.c.url])
            .returning(table.c.url)
        )
        return set(session.execute(statement).scalars().all())

    @staticmethod
    def _claim_link(session: Session, source_id: str, link: LinkSeen, now: datetime, window_start: datetime,
                    recheck_before: datetime) -> bool:
        row = KnownLinkRow
        in_window: ColumnElement[bool]
        if link.published is not None:
            in_window = true() if link.published >= window_start else false()
        else:
            in_window = func.coalesce(row.published_at, row.first_seen_at) >= window_start
        # A NULL fingerprint (link first met through an operator import) is adopted, not counted as a change.
        changed = and_(row.fingerprint.is_not(None), row.fingerprint != link.fingerprint)
        due = and_(
            in_window,
            or_(row.last_checked_at.is_(None), row.last_checked_at < recheck_before),
            or_(row.last_planned_at.is_(None), row.last_planned_at < recheck_before),
        )
        values: dict[str, Any] = {"fingerprint": link.fingerprint, "last_seen_at": now, "last_planned_at": now}
        if link.guid is not None:
            values["guid"] = link.guid
        if link.published is not None:
            values["published_at"] = link.published
        values.update(link.item_values())
        claim = (
            update(row)
            .where(row.source_id == source_id, row.url == link.url, row.withdrawn_at.is_(None), or_(changed, due))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return affected_rows(session.execute(claim)) == 1

    @staticmethod
    def _touch_links(session: Session, source_id: str, links: Sequence[LinkSeen], now: datetime) -> None:
        """Note that the links were seen again, without planning them."""
        if not links:
            return
        table = cast(Table, KnownLinkRow.__table__)
        statement = (
            update(table)
            .where(table.c.source_id == source_id, table.c.url == bindparam("b_url"))
            .values(
                fingerprint=bindparam("b_fingerprint"),
                guid=func.coalesce(bindparam("b_guid"), table.c.guid),
                published_at=func.coalesce(bindparam("b_published", type_=UTCDateTime()), table.c.published_at),
                last_seen_at=now,
            )
        )
        params: list[dict[str, Any]] = [
            {"b_url": link.url, "b_fingerprint": link.fingerprint, "b_guid": link.guid, "b_published": link.published}
            for link in links
        ]
        session.connection().execute(statement, params)

    @translate_errors
    def mark_checked(self, source_id: str, url: str, article_id: str | None, now: datetime | None = None) -> None:
        """An ingest of the link finished (article_id None: it produced no article; a known one is kept).

        A link not yet known (an operator's import) is recorded, so `reimport --since` finds it too; its
        fingerprint stays empty until discovery sees it, which then adopts the entry without re-planning it.
        """
        now = now or utc_now()
        table = cast(Table, KnownLinkRow.__table__)
        statement = self._upsert(table).values(
            source_id=source_id, url=url, first_seen_at=now, last_seen_at=now, last_checked_at=now,
            article_id=article_id,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.source_id, table.c.url],
            set_={"last_checked_at": now,
                  "article_id": func.coalesce(statement.excluded.article_id, table.c.article_id)},
        )
        with self._writing() as session:
            session.execute(statement)

    @translate_errors
    def plan_link(self, source_id: str, url: str, now: datetime | None = None) -> None:
        """An operator queued an ingest of this link: record it as planned, as a poll would.

        So the sweeper re-queues the ingest if Redis loses the message before a worker finishes it. A link
        not yet known is added (without a fingerprint; discovery adopts it later, as after mark_checked).
        """
        now = now or utc_now()
        table = cast(Table, KnownLinkRow.__table__)
        statement = self._upsert(table).values(
            source_id=source_id, url=url, first_seen_at=now, last_seen_at=now, last_planned_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.source_id, table.c.url], set_={"last_planned_at": now},
        )
        with self._writing() as session:
            session.execute(statement)

    @translate_errors
    def known_link(self, source_id: str, url: str) -> KnownLink | None:
        with self._reading() as session:
            row = session.get(KnownLinkRow, (source_id, url))
            return _known_link(row) if row is not None else None

    @translate_errors
    def declared_item(self, source_id: str, url: str) -> DeclaredItem | None:
        """What a structured source handed over for the link: the declared article (JSON), or where it is
        fetched alone and by which kind; None when the link has neither (scrape its page). One SELECT:
        every ingest asks, whatever its source."""
        query = select(KnownLinkRow.item, KnownLinkRow.item_url, KnownLinkRow.item_kind).where(
            KnownLinkRow.source_id == source_id, KnownLinkRow.url == url)
        with self._reading() as session:
            row = session.execute(query).first()
        if row is None or (row.item is None and row.item_url is None):
            return None
        return DeclaredItem(item=row.item, item_url=row.item_url, item_kind=row.item_kind)

    @translate_errors
    def known_links(self, source_id: str, since: datetime | None = None) -> list[str]:
        """URLs of the source's links not withdrawn, published (or first seen) at or after `since`, oldest first."""
        when = func.coalesce(KnownLinkRow.published_at, KnownLinkRow.first_seen_at)
        query = (
            select(KnownLinkRow.url)
            .where(KnownLinkRow.source_id == source_id, KnownLinkRow.withdrawn_at.is_(None))
            .order_by(when, KnownLinkRow.url)
        )
        if since is not None:
            query = query.where(when >= since)
        with self._reading() as session:
            return list(session.scalars(query).all())
