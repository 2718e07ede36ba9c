"""The files outlet: ninjs + HTML per version, written once, atomically, with the attribution linked."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from worker.errors import OutletUnavailableError
from worker.outlets.atomic_write import write_atomically
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
    # caption and credit are two elements of the figcaption, never run together
    assert ('<figcaption><span class="caption">Caption &quot;quoted&quot;</span> '
            '<span class="credit">Photo: AP</span></figcaption>') in page
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


# --- file modes and atomic writes (worker/outlets/atomic_write.py) ----------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
#: every kind of file the files and feeds outlets write, by the end of its name
OUTLET_FILE_KINDS = ("v1.ninjs.json", "v1.html", "v2.ninjs.json", "v2.html", "index.html", "article.ninjs.json",
                     "withdrawn.json", "publish.log", "feed.xml", "feed.atom", "feed.json", "feed.state.json")


def run_python(args: list[str], umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """A child Python: umask and resource limits are per process, so they are set there, not here."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, umask=umask, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_outlet_files_get_the_mode_the_umask_gives(tmp_path: Path, umask: int, mode: int) -> None:
    done = run_python(["-m", "tests.support.write_outlet_files", str(tmp_path)], umask=umask)
    assert done.returncode == 0, done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    for kind in OUTLET_FILE_KINDS:
        assert any(p.name.endswith(kind) for p in written), f"no {kind} among {sorted(p.name for p in written)}"
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in written}
    assert modes == {name: oct(mode) for name in modes}
    folders = [p for p in tmp_path.rglob("*") if p.is_dir()]
    assert folders and {stat.S_IMODE(p.stat().st_mode) for p in folders} == {0o777 & ~umask}
    assert not [p for p in written if p.name.endswith(".tmp")]


FAILING_WRITE = """
import errno, resource, signal, sys
from pathlib import Path
from worker.errors import OutletUnavailableError
from worker.outlets.atomic_write import write_atomically
# a real failure half-way through the write: files may not grow past 64 KiB in this process (EFBIG)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
try:
    write_atomically(Path(sys.argv[1]), b"n" * (1024 * 1024))
except OSError as exc:
    sys.exit(f"write failed: {errno.errorcode[exc.errno]}")
"""


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "index.html"
    target.write_bytes(b"old page")
    done = run_python(["-c", FAILING_WRITE, str(target)])
    assert "write failed: EFBIG" in done.stderr
    assert target.read_bytes() == b"old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


def test_a_reader_sees_the_old_file_or_the_new_one_never_half(tmp_path: Path) -> None:
    target = tmp_path / "feed.xml"
    versions = [bytes([65 + n]) * (512 * 1024) for n in range(2)]
    write_atomically(target, versions[0])
    torn: list[int] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            data = target.read_bytes()
            if data not in versions:
                torn.append(len(data))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 41):
            assert write_atomically(target, versions[n % 2])
    finally:
        done.set()
        reader.join(timeout=30)
    assert not torn
    assert target.read_bytes() == versions[0] and not list(tmp_path.glob(".*.tmp"))


def test_check_reports_an_unwritable_directory_by_name(tmp_path: Path) -> None:
    assert "can write" in outlet(tmp_path).check()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    unwritable = FilesOutlet("files", FilesOptions(directory=str(blocker / "out")), load_settings({}))
    with pytest.raises(OutletUnavailableError, match=f"cannot write to {blocker / 'out'}"):
        unwritable.check()
