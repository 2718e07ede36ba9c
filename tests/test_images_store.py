"""The store's images (worker/store/images.py) on SQLite and PostgreSQL alike (tests/plugins/database.py):
one file per content, one outcome per version and URL (the first writer wins), reuse across versions."""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from sqlalchemy import func, select

from tests.support.image_files import picture
from worker.schema import Image, SourceRef, make_article
from worker.store import Store
from worker.store.images import ImageFile
from worker.store.models import ImageFileRow

PNG = picture("PNG", 12, 8)


def stored_article(store: Store, body: str = "<p>Body.</p>"):
    article = make_article(source=SourceRef(id="p", name="P"), attribution="From P", url="https://p.example/a",
                           headline="H", body_html=body, body_text="Body.", fetched_at=datetime.now(timezone.utc),
                           lead_image=Image(url="https://p.example/i.png"))
    return store.upsert_article(article).article


def image_file(data: bytes = PNG) -> ImageFile:
    return ImageFile(sha256=hashlib.sha256(data).hexdigest(), content_type="image/png", width=12, height=8, data=data)


def test_one_file_per_content_and_one_outcome_per_version_and_url(store: Store) -> None:
    article = stored_article(store)
    assert store.record_stored_image(article.id, 1, "https://p.example/i.png", "lead", 0, image_file())
    assert store.record_stored_image(article.id, 1, "https://p.example/copy.png", "body", 1, image_file())
    # a second writer of the same row (a racing ingest, a re-run) changes nothing
    assert not store.record_missing_image(article.id, 1, "https://p.example/i.png", "lead", 0, "gone", "HTTP 404")
    assert store.record_missing_image(article.id, 1, "https://p.example/gone.png", "body", 2, "gone", "HTTP 404")
    records = store.image_records(article.id, 1)
    assert [(r.url.rsplit("/", 1)[-1], r.state, r.code) for r in records] == [
        ("i.png", "stored", None), ("copy.png", "stored", None), ("gone.png", "missing", "gone")]
    assert records[0].sha256 == records[1].sha256 and records[0].byte_size == len(PNG)
    assert (records[0].content_type, records[0].width, records[0].height) == ("image/png", 12, 8)
    assert store.image_bytes(records[0].sha256 or "") == PNG
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ImageFileRow)).scalar_one() == 1


def test_a_later_version_finds_the_stored_copy_of_an_unchanged_url(store: Store) -> None:
    first = stored_article(store)
    store.record_stored_image(first.id, 1, "https://p.example/i.png", "lead", 0, image_file())
    store.record_missing_image(first.id, 1, "https://p.example/gone.png", "body", 1, "gone", "HTTP 404")
    second = stored_article(store, body="<p>Body, edited.</p>")
    assert second.version == 2 and store.image_records(second.id, 2) == []
    earlier = store.earlier_stored_image(second.id, "https://p.example/i.png")
    assert earlier is not None and earlier.version == 1
    assert store.earlier_stored_image(second.id, "https://p.example/gone.png") is None  # missing: fetch again
    assert store.record_reused_image(second.id, 2, "https://p.example/i.png", "lead", 0, earlier.sha256 or "")
    assert [r.state for r in store.image_records(second.id, 2)] == ["stored"]
