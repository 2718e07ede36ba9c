"""config/sources.d/*.yaml (issue 18): sources from a folder of files, merged after sources.yaml by file name,
validated as sources.yaml is, every error naming the file and the line; a config of 10,000 sources; and the
workers' config cache (Services.config) seeing an edit of any of these files on its next access."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.config import load_config
from worker.errors import ConfigError
from worker.flow.services import Services
from worker.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]


def entry(source_id: str, **fields: str) -> str:
    """A valid source (one feed, unless `discover` is given) as a block list item, four lines and one a
    further field."""
    fields = {"discover": f"[{{kind: feed, url: 'https://{source_id}.invalid/feed.xml'}}]", **fields}
    lines = [f"  - id: {source_id}", f"    name: {source_id.title()}", f"    allowed_domains: [{source_id}.invalid]",
             *(f"    {name}: {value}" for name, value in fields.items())]
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sources_file(path: Path, *entries: str) -> Path:
    return write(path, "sources:\n" + "".join(entries))


def syndicate(config_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CONFIG_DIR": str(config_dir),
           "SYNDICATION_VAR_DIR": str(config_dir.parent / "var"),
           "DATABASE_URL": f"sqlite:///{config_dir.parent / 'var' / 'store.db'}"}
    return subprocess.run([sys.executable, "-m", "worker.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "config"
    sources_file(folder / "sources.yaml", entry("main-one"), entry("main-two"))
    return folder


def test_sources_d_files_are_merged_after_sources_yaml_in_file_name_order(config_dir: Path) -> None:
    sources_d = config_dir / "sources.d"
    sources_file(sources_d / "20-late.yaml", entry("late"))
    sources_file(sources_d / "10-early.yaml", entry("early-b"), entry("early-a"))
    write(sources_d / "empty.yaml", "")
    write(sources_d / "README.txt", "not a source file")
    write(sources_d / ".#20-late.yaml", "an editor's lock file: not YAML at all [")
    write(sources_d / "draft.yaml~", "a backup: [")
    (sources_d / "folder.yaml").mkdir()
    from worker.config import config_files

    config = load_config(config_dir)
    assert list(config.sources) == ["main-one", "main-two", "early-b", "early-a", "late"]
    assert config.source_files["early-a"] == sources_d / "10-early.yaml"
    assert config.source_files["main-two"] == config_dir / "sources.yaml"
    assert config.sources["late"].allows_host("www.late.invalid")
    assert config_files(config_dir) == [config_dir / "sources.yaml", sources_d / "10-early.yaml",
                                        sources_d / "20-late.yaml", sources_d / "empty.yaml",
                                        config_dir / "outlets.yaml"]


def test_sources_d_alone_needs_no_sources_yaml_but_a_folder_without_either_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    sources_file(folder / "sources.d" / "all.yaml", entry("only"))
    assert list(load_config(folder).sources) == ["only"]
    (folder / "sources.d" / "all.yaml").unlink()
    with pytest.raises(ConfigError, match=rf"{folder / 'sources.yaml'}: file not found"):
        load_config(folder)


def test_an_error_in_a_sources_d_file_names_that_file_line_source_and_field(config_dir: Path) -> None:
    good = sources_file(config_dir / "sources.d" / "a.yaml", entry("fine"))
    bad = sources_file(config_dir / "sources.d" / "b.yaml", entry("fine-too"), entry("broken", interval="5"))
    kind = sources_file(config_dir / "sources.d" / "c.yaml",
                        entry("listing", discover="[{kind: listing, url: 'https://listing.invalid/'}]"))
    worse = write(config_dir / "sources.d" / "d.yaml", "sources:\n  - id: x\n   name: [\n")
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    lines = caught.value.reason.splitlines()
    # every file's errors at once, in file order; the good file is not blamed
    assert len(lines) == 3, lines
    assert lines[0].startswith(f"{bad}, line 10, source 'broken', field 'interval': Input should be greater than")
    assert lines[1].startswith(f"{kind}, line 5, source 'listing', field 'discover.listing.link_selector': "
                               "Field required")
    assert lines[2].startswith(f"{worse}, line 3, column 4: not valid YAML: expected <block end>")
    assert not any(str(good) in line for line in lines)


def test_a_duplicate_key_in_a_sources_d_file_is_refused_with_both_lines(config_dir: Path) -> None:
    path = write(config_dir / "sources.d" / "partners.yaml",
                 "sources:\n" + entry("p", allow_private_networks="[10.0.0.5]", interval="600")
                 + "    allow_private_networks: [0.0.0.0/0]\n")
    with pytest.raises(ConfigError, match=rf"{path}, line 8, source 'p', field 'allow_private_networks': key "
                                          "'allow_private_networks' is given twice, on line 6 and line 8"):
        load_config(config_dir)


def test_a_source_id_in_two_files_is_refused_naming_both_files_and_lines(config_dir: Path) -> None:
    first = sources_file(config_dir / "sources.d" / "a.yaml", entry("partner"), entry("other"))
    second = sources_file(config_dir / "sources.d" / "b.yaml", entry("new"), entry("other"), entry("main-two"))
    with pytest.raises(ConfigError) as caught:
        load_config(config_dir)
    main = config_dir / "sources.yaml"
    assert caught.value.reason.splitlines() == [
        f"{second}, line 6, source 'other', field 'id': source id 'other' is used twice, in {first}, line 6 and in "
        f"{second}, line 6; ids must be unique across sources.yaml and sources.d/",
        f"{second}, line 10, source 'main-two', field 'id': source id 'main-two' is used twice, in {main}, line 6 "
        f"and in {second}, line 10; ids must be unique across sources.yaml and sources.d/",
    ]


def test_ten_thousand_generated_sources_load(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    sources_file(folder / "sources.yaml", *(entry(f"src-{n:05d}", include="['/news/']") for n in range(1, 2001)))
    for part in range(4):
        numbers = range(2001 + part * 2000, 4001 + part * 2000)
        sources_file(folder / "sources.d" / f"part-{part}.yaml",
                     *(entry(f"src-{n:05d}", include="['/news/']", exclude="['/video/']") for n in numbers))
    config = load_config(folder)
    assert len(config.sources) == 10_000
    assert list(config.sources)[:2] == ["src-00001", "src-00002"] and list(config.sources)[-1] == "src-10000"
    assert config.sources["src-10000"].exclude == ["/video/"]
    assert config.source_files["src-10000"] == folder / "sources.d" / "part-3.yaml"


def test_syndicate_check_describes_where_the_sources_come_from_and_refuses_naming_the_file(config_dir: Path) -> None:
    part = sources_file(config_dir / "sources.d" / "partners.yaml", entry("p1"), entry("p2"), entry("p3"))
    result = syndicate(config_dir, "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{config_dir}: 5 sources, 0 outlets: OK",
                                          f"  2 sources from {config_dir / 'sources.yaml'}",
                                          f"  3 sources from {part}"]
    sources_file(config_dir / "sources.d" / "zz.yaml", entry("p2"))
    result = syndicate(config_dir, "check")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"source id 'p2' is used twice, in {part}, line 6 and in {config_dir / 'sources.d' / 'zz.yaml'}, line 2" \
        in result.stderr


def test_syndicate_check_summarises_many_sources_d_files(config_dir: Path) -> None:
    for number in range(12):
        sources_file(config_dir / "sources.d" / f"part-{number:02d}.yaml", entry(f"p{number}"))
    result = syndicate(config_dir, "check")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [f"  2 sources from {config_dir / 'sources.yaml'}",
                                              f"  12 sources from 12 files in {config_dir / 'sources.d'}/ "
                                              "(part-00.yaml ... part-11.yaml)"]


def test_syndicate_sources_lists_sources_d_sources_and_says_which_files(config_dir: Path) -> None:
    part = sources_file(config_dir / "sources.d" / "partners.yaml", entry("from-the-folder"))
    result = syndicate(config_dir, "sources")
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[1:]] == ["main-one", "main-two", "from-the-folder"]
    assert f"sources from:\n  {config_dir / 'sources.yaml'}\n  {part}\n" in result.stderr


# --- the workers' config cache ---------------------------------------------------------------------------

@pytest.fixture
def services(config_dir: Path) -> Services:
    return Services(load_settings({"CONFIG_DIR": str(config_dir), "SYNDICATION_VAR_DIR": str(config_dir.parent / "var")}))


def test_an_edit_of_a_sources_d_file_reaches_the_cache_on_the_next_access(config_dir: Path, services: Services) -> None:
    path = sources_file(config_dir / "sources.d" / "partners.yaml", entry("partner", interval="600"))
    assert services.config.sources["partner"].interval == 600
    # the same size, written at once: on a coarse clock the same mtime too
    sources_file(path, entry("partner", interval="900"))
    assert services.config.sources["partner"].interval == 900
    sources_file(config_dir / "sources.d" / "more.yaml", entry("added"))
    assert "added" in services.config.sources
    (config_dir / "sources.d" / "more.yaml").unlink()
    assert "added" not in services.config.sources


def test_an_edit_that_keeps_mtime_and_size_is_still_seen(config_dir: Path, services: Services) -> None:
    path = sources_file(config_dir / "sources.yaml", entry("partner", interval="600"))
    before = path.stat()
    assert services.config.sources["partner"].interval == 600
    sources_file(path, entry("partner", interval="700"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as on a file system that stamps by the second
    assert (path.stat().st_mtime_ns, path.stat().st_size) == (before.st_mtime_ns, before.st_size)
    assert services.config.sources["partner"].interval == 700


def test_a_broken_edit_of_a_sources_d_file_keeps_the_last_good_config(
        config_dir: Path, services: Services, caplog: pytest.LogCaptureFixture) -> None:
    path = sources_file(config_dir / "sources.d" / "partners.yaml", entry("partner"))
    assert set(services.config.sources) == {"main-one", "main-two", "partner"}
    write(path, "sources:\n  - id: partner\n    name: [\n")
    with caplog.at_level(logging.ERROR, logger="worker.flow.services"):
        assert set(services.config.sources) == {"main-one", "main-two", "partner"}
    assert f"{path}, line 4" in caplog.text and "keeping the last good config" in caplog.text


def test_a_racy_file_is_hashed_until_its_mtime_has_aged_and_an_edit_within_the_tick_is_seen(tmp_path: Path) -> None:
    from worker.config.watch import RACY_WINDOW_NS, Snapshot

    path = write(tmp_path / "sources.yaml", "sources: [a]\n")
    mtime = path.stat().st_mtime_ns
    first = Snapshot.take([path], now_ns=mtime)  # just written: another edit could keep mtime and size
    assert first.files[path].digest is not None
    # unchanged and aged: no longer changed, no longer hashed
    aged = Snapshot.take([path], first, now_ns=mtime + RACY_WINDOW_NS + 1)
    assert not aged.changed_since(first) and aged.files[path].digest is None
    # an edit within the same tick (same mtime, same size), looked at only once the mtime has aged
    write(path, "sources: [b]\n")
    os.utime(path, ns=(mtime, mtime))
    later = Snapshot.take([path], first, now_ns=mtime + RACY_WINDOW_NS + 1)
    assert later.changed_since(first)
    # a file that was never racy is not read at all: its stat speaks
    settled = Snapshot.take([path], aged, now_ns=mtime + 10 * RACY_WINDOW_NS)
    assert settled.files[path].digest is None and not settled.changed_since(aged)
