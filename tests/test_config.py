"""Config files: valid ones load; every mistake names the file, the line, the entry and the field."""
from __future__ import annotations

from pathlib import Path

import pytest

from worker.config import load_config, load_outlets, load_sources
from worker.errors import ConfigError, UnknownSourceError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_shipped_example_config_is_valid() -> None:
    config = load_config(ROOT / "config")
    assert "theepochtimes" in config.sources and "local-files" in config.outlets


def test_wrong_type_names_file_line_entry_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: a\n    name: A\n    allowed_domains: [a.example]\n"
                 "    selectors:\n      drop: .ad\n")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert str(caught.value.reason).startswith(f"{path}, line 6, source 'a', field 'selectors.drop'")


def test_missing_field_points_at_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: a\n    name: A\n")
    with pytest.raises(ConfigError, match=r"line 2, source 'a', field 'allowed_domains': Field required"):
        load_sources(path)


def test_unknown_field_is_an_error_not_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: a\n    name: A\n    allowed_domains: [a.example]\n"
                 "    selector: {body: main}\n")
    with pytest.raises(ConfigError, match=r"line 5, source 'a', field 'selector': Extra inputs are not permitted"):
        load_sources(path)


def test_bad_attribution_template(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: a\n    name: A\n    allowed_domains: [a.example]\n"
                 "    attribution: 'From {partner}'\n")
    with pytest.raises(ConfigError, match=r"line 5, source 'a', field 'attribution'.*source_name"):
        load_sources(path)


def test_invalid_yaml_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: a\n   name: [\n")
    with pytest.raises(ConfigError, match=rf"{path}, line \d+, column \d+: not valid YAML"):
        load_sources(path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n" + "  - {id: a, name: A, allowed_domains: [a.example]}\n" * 2)
    with pytest.raises(ConfigError, match="source id 'a' is used twice"):
        load_sources(path)


def test_outlet_options_are_validated_by_their_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "outlets.yaml", "outlets:\n  - id: out\n    kind: files\n    directry: /tmp/x\n")
    with pytest.raises(ConfigError) as caught:
        load_outlets(path)
    message = caught.value.reason
    assert f"{path}, line 2, outlet 'out', field 'directory': Field required" in message
    assert f"{path}, line 4, outlet 'out', field 'directry': Extra inputs are not permitted" in message


def test_unknown_outlet_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "outlets.yaml", "outlets:\n  - id: out\n    kind: carrier-pigeon\n")
    with pytest.raises(ConfigError, match=r"line 3, outlet 'out', field 'kind': unknown outlet kind 'carrier-pigeon'"):
        load_outlets(path)


def test_a_class_that_is_not_an_outlet_is_refused_at_load(tmp_path: Path) -> None:
    # a discovery kind has an options model too; named as an outlet it must be refused when the file is
    # read (with its line), not when the first delivery builds it
    path = write(tmp_path, "outlets.yaml", "outlets:\n  - id: out\n    kind: worker.discover.feeds:FeedKind\n")
    with pytest.raises(ConfigError, match=r"line 3, outlet 'out', field 'kind': .*no publish\(\) method"):
        load_outlets(path)


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_sources(tmp_path / "sources.yaml")


def test_unknown_source_lists_the_known(tmp_path: Path) -> None:
    write(tmp_path, "sources.yaml", "sources:\n  - {id: a, name: A, allowed_domains: [A.example]}\n")
    config = load_config(tmp_path)
    assert config.sources["a"].allows_host("www.a.example") and not config.sources["a"].allows_host("a.example.evil")
    with pytest.raises(UnknownSourceError, match=r"known: a"):
        config.source("b")


def test_invalid_css_selector_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: a\n    name: A\n    allowed_domains: [a.example]\n"
                 "    selectors:\n      body: 'div[class'\n")
    with pytest.raises(ConfigError, match=r"line 6, source 'a', field 'selectors.body'.*not a valid CSS selector"):
        load_sources(path)
