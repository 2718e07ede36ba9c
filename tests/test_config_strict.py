"""Config that would misbehave at run time is refused at load, with file, line and field named: patterns
RE2 cannot run, duplicate YAML keys, numbers out of range. Each is also shown through `syndicate check`,
as an operator meets it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.config import load_outlets, load_sources
from worker.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def syndicate_check(config_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "worker.cli", "check"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "CONFIG_DIR": str(config_dir)}, timeout=120)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refused_by_check(config_dir: Path) -> subprocess.CompletedProcess[str]:
    """`syndicate check` on the folder, which must refuse it (exit 2); the result, for what it said."""
    result = syndicate_check(config_dir)
    assert result.returncode == 2, result.stdout
    return result


GOOD_SOURCE = "  - id: good\n    name: Good\n    allowed_domains: [good.example]\n"


def good_sources(folder: Path, more: str = "") -> Path:
    """sources.yaml holding the good source, `more` (its further fields, or further top-level text) after it."""
    return write(folder, "sources.yaml", "sources:\n" + GOOD_SOURCE + more)


def good_sources_refused_by_check(folder: Path, more: str) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """good_sources(folder, more), which `syndicate check` must refuse: the file and what check said."""
    path = good_sources(folder, more)
    return path, refused_by_check(folder)


# --- item 5: patterns RE2 cannot run ----------------------------------------------------------------

def test_a_lookahead_pattern_is_refused_by_check_with_its_line(tmp_path: Path) -> None:
    path, result = good_sources_refused_by_check(tmp_path,
                                                 "    include:\n"
                                                 "      - '/news/'\n"
                                                 "      - '/(?!sponsored)[a-z-]+\\.html$'\n")
    assert f"{path}, line 7, source 'good', field 'include'" in result.stderr
    assert "lookahead" in result.stderr and "RE2" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("pattern", "named"), [
    (r"(?<=/news/)\d+", "lookbehind"), (r"/(\w+)/\1/", "backreferences"), (r"/(a{2000})", "repetition"),
])
def test_patterns_re2_cannot_run_are_refused_at_load(tmp_path: Path, pattern: str, named: str) -> None:
    path = good_sources(tmp_path, f"    exclude: ['{pattern}']\n")
    with pytest.raises(ConfigError, match=rf"{path}, line 5, source 'good', field 'exclude'.*{named}"):
        load_sources(path)


def test_patterns_python_and_re2_share_still_load(tmp_path: Path) -> None:
    path = good_sources(tmp_path,
                        "    include: ['/20\\d\\d/\\d\\d/', '(?i)/NEWS/', '/(?P<slug>[a-z0-9-]+)\\.html$']\n")
    assert len(load_sources(path)["good"].include) == 3


# --- item 6: duplicate keys ----------------------------------------------------------------------------

def test_a_second_allow_private_networks_is_refused_naming_both_lines(tmp_path: Path) -> None:
    path, result = good_sources_refused_by_check(tmp_path,
                                                 "    allow_private_networks: [10.0.0.5]\n"
                                                 "    interval: 600\n"
                                                 "    allow_private_networks: [0.0.0.0/0]\n")
    assert (f"{path}, line 7, source 'good', field 'allow_private_networks': key 'allow_private_networks' is "
            "given twice, on line 5 and line 7") in result.stderr


def test_a_second_sources_key_is_refused_not_read_as_no_sources(tmp_path: Path) -> None:
    path, result = good_sources_refused_by_check(tmp_path, "sources:\n")
    assert f"{path}, line 5, field 'sources': key 'sources' is given twice, on line 1 and line 5" in result.stderr
    assert "OK" not in result.stdout


def test_duplicate_keys_in_outlets_and_in_flow_mappings_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "outlets.yaml", "outlets:\n  - id: out\n    kind: files\n    directory: /tmp/a\n"
                 "    routing: {sources: [a], sources: [b]}\n    directory: /tmp/b\n")
    with pytest.raises(ConfigError) as caught:
        load_outlets(path)
    lines = caught.value.reason.splitlines()
    assert lines[0].startswith(f"{path}, line 5, outlet 'out', field 'routing.sources': key 'sources' is given "
                               "twice, on line 5 column 15 and line 5 column 29")
    assert lines[1].startswith(f"{path}, line 6, outlet 'out', field 'directory': key 'directory' is given twice, "
                               "on line 4 and line 6")


def test_aliases_are_walked_once_and_distinct_keys_pass(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - {id: good, name: Good, allowed_domains: [good.example], interval: 600}\n"
                 "  - {id: other, name: Other, allowed_domains: [other.example], interval: 600}\n")
    assert set(load_sources(path)) == {"good", "other"}
    recursive = write(tmp_path, "outlets.yaml", "a: &a [*a, *a]\n")
    with pytest.raises(ConfigError, match="Extra inputs"):  # refused for what it is, without looping
        load_outlets(recursive)


# --- item 7: numbers out of range ----------------------------------------------------------------------

def test_an_absurd_interval_is_refused_by_check_naming_file_line_and_field(tmp_path: Path) -> None:
    path, result = good_sources_refused_by_check(tmp_path, "    interval: 100000000000000000000000\n")
    assert f"{path}, line 5, source 'good', field 'interval': Input should be less than or equal to" in result.stderr


@pytest.mark.parametrize(("field", "value"), [
    ("interval", "2592001"), ("interval", "5"),
    ("updates_window_hours", "1e300"), ("updates_window_hours", ".inf"), ("updates_window_hours", ".nan"),
    ("recheck_every_hours", "9000"), ("recheck_every_hours", "0"),
    ("idle_alert_after_hours", "1000000"),
    ("rate_limit_per_second", "1e-300"), ("rate_limit_per_second", "1e12"), ("rate_limit_per_second", ".inf"),
    ("rate_limit_burst", "99999999999999999999"), ("rate_limit_burst", "0"),
])
def test_every_numeric_source_field_has_bounds(tmp_path: Path, field: str, value: str) -> None:
    path = good_sources(tmp_path, f"    {field}: {value}\n")
    with pytest.raises(ConfigError, match=rf"{path}, line 5, source 'good', field '{field}': Input should be"):
        load_sources(path)


def test_listing_pages_are_bounded(tmp_path: Path) -> None:
    path = good_sources(tmp_path, "    discover:\n"
                        "      - {kind: listing, url: 'https://good.example/', link_selector: a, max_pages: 1e30}\n")
    with pytest.raises(ConfigError, match=rf"{path}, line 6, source 'good', field 'discover.listing.max_pages'"):
        load_sources(path)


def test_numbers_inside_the_bounds_load(tmp_path: Path) -> None:
    path = good_sources(tmp_path,
                        "    interval: 2592000\n    updates_window_hours: 0\n    recheck_every_hours: 0.000278\n"
                        "    idle_alert_after_hours: 8784\n    rate_limit_per_second: 0.001\n    rate_limit_burst: 1000\n")
    loaded = load_sources(path)["good"]
    assert (loaded.interval, loaded.rate_limit_burst) == (2592000, 1000)


# --- item 10: private-network allow entries take an optional port ------------------------------------

def test_allow_entries_with_ports_load_and_bad_ones_name_the_line(tmp_path: Path) -> None:
    path = good_sources(tmp_path,
                        "    allow_private_networks: ['10.0.0.5', '10.0.0.5:8080', '10.0.0.0/24:8080', '[fd00::1]:443',\n"
                        "                             '[fd00::/64]:443', 'fd00::2']\n")
    assert len(load_sources(path)["good"].allow_private_networks) == 6
    for bad, says in (("10.0.0.5:99999", "port must be a number from 1 to 65535"),
                      ("[10.0.0.5]:80", "brackets are for IPv6"), ("[fd00::1]443", r"\[address\]:port"),
                      ("intranet:80", "not an IP address or CIDR network")):
        path = good_sources(tmp_path,
                            f"    allow_private_networks:\n      - 10.0.0.6\n      - '{bad}'\n")
        with pytest.raises(ConfigError, match=rf"{path}, line 7, source 'good', field 'allow_private_networks'.*{says}"):
            load_sources(path)


# --- follow-up: numeric outlet options are bounded too ------------------------------------------------

OUTLET_HEADS = {
    "feeds": "    directory: /tmp/feeds\n    title: Feeds\n    link: https://outlet.example/\n",
    "webhook": "    url: https://receiver.example/hook\n    secret_env: HOOK_SECRET\n",
    "wordpress": "    url: https://news.example.org\n    username: bot\n    app_password_env: WP_PASSWORD\n",
}


def outlet_yaml(kind: str, extra: str) -> str:
    """An otherwise valid outlet of `kind` whose option lines end with `extra` (line 6 for feeds and
    wordpress, line 5 for webhook)."""
    return f"outlets:\n  - id: out\n    kind: {kind}\n" + OUTLET_HEADS[kind] + extra


@pytest.mark.parametrize(("kind", "field", "value", "says"), [
    ("feeds", "max_items", "10001", "less than or equal to 10000"),
    ("feeds", "max_items", "0", "greater than or equal to 1"),
    ("feeds", "max_items", ".inf", "finite number"),
    ("webhook", "timeout", "601", "less than or equal to 600"),
    ("webhook", "timeout", ".inf", "finite number"),
    ("webhook", "timeout", ".nan", "finite number"),
    ("webhook", "timeout", "0", "greater than 0"),
    ("wordpress", "timeout", "1e300", "less than or equal to 600"),
    ("wordpress", "timeout", ".inf", "finite number"),
    ("wordpress", "max_image_bytes", "99999999999999999999", "less than or equal to"),
    ("wordpress", "max_image_bytes", "0", "greater than 0"),
    ("wordpress", "author", "99999999999999999999", "less than or equal to"),
    ("wordpress", "author", "0", "greater than or equal to 1"),
    ("wordpress", "author", "-3", "greater than or equal to 1"),
])
def test_every_numeric_outlet_option_has_bounds(tmp_path: Path, kind: str, field: str, value: str, says: str) -> None:
    path = write(tmp_path, "outlets.yaml", outlet_yaml(kind, f"    {field}: {value}\n"))
    line = 7 if kind != "webhook" else 6
    with pytest.raises(ConfigError, match=rf"{path}, line {line}, outlet 'out', field '{field}': Input should be.*{says}"):
        load_outlets(path)


def test_an_absurd_outlet_timeout_is_refused_by_check_naming_file_line_outlet_and_field(tmp_path: Path) -> None:
    good_sources(tmp_path)
    path = write(tmp_path, "outlets.yaml", outlet_yaml("webhook", "    timeout: .inf\n"))
    result = refused_by_check(tmp_path)
    assert f"{path}, line 6, outlet 'out', field 'timeout': Input should be a finite number" in result.stderr
    assert "Traceback" not in result.stderr


def test_outlet_numbers_inside_the_bounds_load(tmp_path: Path) -> None:
    path = write(tmp_path, "outlets.yaml",
                 outlet_yaml("wordpress", "    timeout: 600\n    max_image_bytes: 1\n    author: 7\n") +
                 "  - id: hook\n    kind: webhook\n" + OUTLET_HEADS["webhook"] + "    timeout: 0.5\n" +
                 "  - id: feed\n    kind: feeds\n" + OUTLET_HEADS["feeds"] + "    max_items: 10000\n")
    assert set(load_outlets(path)) == {"out", "hook", "feed"}


def test_wordpress_image_allow_entries_are_validated_at_load_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, "outlets.yaml", outlet_yaml(
        "wordpress", "    image_allow_private_networks: ['10.0.0.5:8080', '[fd00::1]:443', '127.0.0.1/32']\n"))
    assert len(load_outlets(path)["out"].options["image_allow_private_networks"]) == 3
    for bad, says in (("10.0.0.5:99999", "port must be a number from 1 to 65535"),
                      ("intranet", "not an IP address or CIDR network")):
        path = write(tmp_path, "outlets.yaml", outlet_yaml(
            "wordpress", f"    image_allow_private_networks:\n      - 10.0.0.6\n      - '{bad}'\n"))
        with pytest.raises(ConfigError, match=rf"{path}, line 9, outlet 'out', field "
                                              rf"'image_allow_private_networks'.*{says}"):
            load_outlets(path)
    good_sources(tmp_path)
    result = syndicate_check(tmp_path)
    assert result.returncode == 2 and f"{path}, line 9, outlet 'out'" in result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
