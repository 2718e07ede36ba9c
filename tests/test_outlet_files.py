"""The files outlet: ninjs + HTML per version, written once, atomically, with the attribution linked."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from worker.outlets.files import FilesOptions, FilesOutlet
from worker.schema import Author, Image, SourceRef, from_ninjs, make_article
from worker.settings import load_settings


def article(version: int = 1, headline: str = "A <b>bold</b> headline"):
    return make_article(
        version=version, source=SourceRef(id="p", name="Partner & Co"), attribution="From Partner & Co",
        url="https://partner.example/a.html?x=1&y=2", headline=headline, authors=[Author(name="Ann Lee")],
        published=datetime(2020, 1, 1, tzinfo=timezone.utc), section="World",
        lead_image=Image(url="https://partner.example/i.jpg", caption='Caption "quoted"', credit="Photo: AP"),
        body_html="<p>Body.</p>", body_text="Body.", fetched_at=datetime(2020, 1, 2, tzinfo=timezone.utc),
    )


def outlet(tmp_path: Path) -> FilesOutlet:
    return FilesOutlet("files", FilesOptions(directory=str(tmp_path / "out")), load_settings({}))


def test_publish_writes_ninjs_and_html_once(tmp_path: Path) -> None:
    files = outlet(tmp_path)
    item = article()
    ref = files.publish(item, None)
    folder = tmp_path / "out" / item.id
    assert ref.id == item.id and ref.url == (folder / "v1.html").as_uri()
    assert from_ninjs(json.loads((folder / "v1.ninjs.json").read_text())) == item
    mtime = (folder / "v1.html").stat().st_mtime_ns
    files.publish(item, ref)
    assert (folder / "v1.html").stat().st_mtime_ns == mtime
    assert len((tmp_path / "out" / "publish.log").read_text().splitlines()) == 1
    assert not list(folder.glob(".*.tmp"))


def test_html_escapes_text_and_links_the_attribution(tmp_path: Path) -> None:
    files = outlet(tmp_path)
    item = article()
    files.publish(item, None)
    page = (tmp_path / "out" / item.id / "index.html").read_text()
    assert "<h1>A &lt;b&gt;bold&lt;/b&gt; headline</h1>" in page
    assert '<a href="https://partner.example/a.html?x=1&amp;y=2" rel="nofollow">From Partner &amp; Co</a>' in page
    assert "<figcaption>Caption &quot;quoted&quot; <span class=\"credit\">Photo: AP</span></figcaption>" in page
    assert '<p class="byline">By Ann Lee</p>' in page


def test_index_follows_the_latest_version_only(tmp_path: Path) -> None:
    files = outlet(tmp_path)
    files.publish(article(2, "Second"), None)
    files.publish(article(1, "First"), None)  # a late v1 must not overwrite the newer page
    folder = tmp_path / "out" / article().id
    assert "<h1>Second</h1>" in (folder / "index.html").read_text()
    assert "<h1>First</h1>" in (folder / "v1.html").read_text()


def test_withdraw_replaces_the_page_once_and_keeps_the_versions(tmp_path: Path) -> None:
    files = outlet(tmp_path)
    item = article()
    ref = files.publish(item, None)
    files.withdraw(ref, "HTTP 410 on re-check")
    files.withdraw(ref, "HTTP 410 on re-check")
    folder = tmp_path / "out" / item.id
    assert "withdrawn by its publisher" in (folder / "index.html").read_text()
    assert json.loads((folder / "withdrawn.json").read_text())["reason"] == "HTTP 410 on re-check"
    assert (folder / "v1.html").exists()
    log = [json.loads(line) for line in (tmp_path / "out" / "publish.log").read_text().splitlines()]
    assert [entry.get("withdrawn", False) for entry in log] == [False, True]
