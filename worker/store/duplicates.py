"""Finding an article again: by any URL it was fetched from, or by a body that is nearly the same.

Partners serve one story under many URLs (AMP pages, tracking parameters, print views) and sometimes
republish it with small edits under a new URL. URL aliases catch the first case exactly; MinHash
fingerprints (worker.fingerprint) catch the second. Candidates come from an indexed lookup of the LSH band
hashes, so the cost grows with the number of candidates, not with the number of stored articles.
"""
from __future__ import annotations

from typing import cast

from sqlalchemy import Table, delete, func, insert, literal, select, text, union_all
from sqlalchemy.exc import IntegrityError

from worker.errors import ArticleNotFoundError
from worker.fingerprint import SCHEME, Signature, band_hashes, signature_from_bytes, signature_to_bytes, similarity
from worker.store.base import StoreBase, utc_now
from worker.store.engine import translate_errors
from worker.store.models import ArticleFingerprintRow, ArticleRow, FingerprintBandRow, UrlAliasRow

#: default similarity above which two bodies count as the same story: one changed word removes up to five
#: of ~300 shingles, so three to five edited words in 300 give ~0.84-0.90, unrelated stories ~0.0
NEAR_DUPLICATE_THRESHOLD = 0.8
#: candidates verified per lookup, those sharing the most bands first (they are the most similar)
CANDIDATE_LIMIT = 50


class DuplicateStore(StoreBase):
    """URL aliases and body fingerprints."""

    # --- URLs -----------------------------------------------------------------------------------------

    @translate_errors
    def add_alias(self, url: str, article_id: str) -> None:
        """Remember that `url` leads to the article. A URL maps to one article: the latest call wins."""
        now = utc_now()
        table = cast(Table, UrlAliasRow.__table__)
        statement = self._upsert(table).values(url=url, article_id=article_id, created_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.url], set_={"article_id": article_id, "created_at": now}
        )
        try:
            with self._writing() as session:
                session.execute(statement)
        except IntegrityError as error:  # the foreign key: the article is not stored
            raise ArticleNotFoundError(f"article {article_id} is not in the store") from error

    @translate_errors
    def find_by_url(self, url: str) -> str | None:
        """The article whose canonical URL, or one of whose aliases, is exactly `url` (callers normalise)."""
        # one statement, canonical URL first: most URLs an ingest asks about are new, and two queries
        # for "no" cost twice what one does
        query = union_all(
            select(ArticleRow.id.label("article_id"), literal(0).label("rank")).where(ArticleRow.url == url),
            select(UrlAliasRow.article_id, literal(1).label("rank")).where(UrlAliasRow.url == url),
        ).order_by(text("rank")).limit(1)
        with self._reading() as session:
            return session.execute(query).scalar()

    # --- near-duplicate bodies ------------------------------------------------------------------------

    @translate_errors
    def save_fingerprint(self, article_id: str, signature: Signature, *, new: bool = False) -> None:
        """Store (or replace) the article's body signature and its LSH bands. `new`: the article was
        stored just now for the first time, so it has no bands to replace."""
        now = utc_now()
        table = cast(Table, ArticleFingerprintRow.__table__)
        statement = self._upsert(table).values(
            article_id=article_id, scheme=SCHEME, signature=signature_to_bytes(signature), created_at=now,
        )
        # The upsert locks the fingerprint row, so two saves for one article replace its bands one after
        # the other instead of interleaving.
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.article_id],
            set_={"scheme": SCHEME, "signature": statement.excluded.signature, "created_at": now},
        )
        bands = [
            {"article_id": article_id, "band_index": index, "band_hash": band_hash}
            for index, band_hash in enumerate(band_hashes(signature))
        ]
        try:
            with self._writing() as session:
                session.execute(statement)
                if not new:
                    session.execute(delete(FingerprintBandRow).where(FingerprintBandRow.article_id == article_id))
                session.execute(insert(FingerprintBandRow), bands)
        except IntegrityError as error:
            raise ArticleNotFoundError(f"article {article_id} is not in the store") from error

    @translate_errors
    def find_near_duplicate(self, signature: Signature, threshold: float = NEAR_DUPLICATE_THRESHOLD,
                            exclude_article_id: str | None = None) -> str | None:
        """The stored article most similar to the signature, if at least `threshold` similar; else None.

        Ties go to the article fingerprinted first: the original rather than a later copy.
        """
        shared = func.count().label("shared")
        candidates = (
            select(FingerprintBandRow.article_id, shared)
            .where(FingerprintBandRow.band_hash.in_(band_hashes(signature)))
            .group_by(FingerprintBandRow.article_id)
            .order_by(shared.desc(), FingerprintBandRow.article_id)
            .limit(CANDIDATE_LIMIT)
        )
        if exclude_article_id is not None:
            candidates = candidates.where(FingerprintBandRow.article_id != exclude_article_id)
        with self._reading() as session:
            ids = [row.article_id for row in session.execute(candidates)]
            if not ids:
                return None
            rows = session.execute(
                select(ArticleFingerprintRow.article_id, ArticleFingerprintRow.signature,
                       ArticleFingerprintRow.created_at)
                .where(ArticleFingerprintRow.article_id.in_(ids), ArticleFingerprintRow.scheme == SCHEME)
            ).all()
        scored = [(similarity(signature, signature_from_bytes(row.signature)), row.created_at, row.article_id)
                  for row in rows]
        matches = [entry for entry in scored if entry[0] >= threshold]
        if not matches:
            return None
        best = max(matches, key=lambda entry: (entry[0], -entry[1].timestamp(), entry[2]))
        return best[2]
