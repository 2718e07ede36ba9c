"""Config files: valid ones load; every mistake names the file, the line, the entry and the field."""
from __future__ import annotations

import re
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


# --- read fast: libyaml's loader, errors located only when there is one (issue 18) ---------------------

def test_the_common_path_parses_with_libyaml_and_still_refuses_a_duplicate_key_with_its_line(tmp_path: Path) -> None:
    import yaml

    from worker.config.yamlfile import FAST_LOADER

    assert yaml.__with_libyaml__, "PyYAML without libyaml: the config is read by the slow pure-Python parser"
    assert issubclass(FAST_LOADER, yaml.CSafeLoader)
    path = write(tmp_path, "sources.yaml", "sources:\n  - id: a\n    name: A\n    allowed_domains: [a.example]\n"
                 "    interval: 600\n    discover: [{kind: feed, url: 'https://a.example/f', url: 'https://a.example/g'}]\n"
                 "    interval: 60\n")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert caught.value.reason.splitlines() == [
        f"{path}, line 6, source 'a', field 'discover.0.url': key 'url' is given twice, on line 6 column 29 and "
        "line 6 column 57; YAML would silently keep only the last one, so remove or merge one of them",
        f"{path}, line 7, source 'a', field 'interval': key 'interval' is given twice, on line 5 and line 7; "
        "YAML would silently keep only the last one, so remove or merge one of them",
    ]


def test_merge_keys_overridden_by_the_mapping_are_not_duplicates_but_a_key_twice_in_a_merged_one_is(
        tmp_path: Path) -> None:
    # the fast loader notices duplicates while it constructs, where `<<` merges are flattened into the
    # mapping: it must look before the merge (an override is no duplicate) and at each node once
    from worker.config.yamlfile import read_yaml

    path = write(tmp_path, "sources.yaml", "sources:\n  - &base {id: a, name: A, allowed_domains: [a.example]}\n"
                 "  - {<<: *base, id: b}\n  - {<<: *base, id: c, name: C}\n  - {<<: [*base], id: d}\n")
    assert [s["name"] for s in read_yaml(path).data["sources"]] == ["A", "A", "C", "A"]
    assert [s.name for s in load_sources(path).values()] == ["A", "A", "C", "A"]
    path = write(tmp_path, "sources.yaml", "sources:\n  - <<: {id: a, name: A, name: B}\n"
                 "    allowed_domains: [a.example]\n")
    with pytest.raises(ConfigError, match=rf"{path}, line 2, source #1, field '<<.name': key 'name' is given twice, "
                                          "on line 2 column 17 and line 2 column 26"):
        read_yaml(path)


@pytest.mark.parametrize(("text", "says"), [
    ("sources:\n  - *nope\n", r"line 2, column 5: not valid YAML: found undefined alias 'nope'"),
    ("sources:\n  - id: a\n   name: [\n", r"line 3, column 4: not valid YAML: expected <block end>, but found"),
    ("sources: " + "[" * 3000, r"not valid YAML: nested too deeply"),
])
def test_yaml_the_fast_parser_refuses_is_described_as_the_pure_python_parser_does(tmp_path: Path, text: str,
                                                                                   says: str) -> None:
    # libyaml says "found undefined alias" without the alias's name: its refusals are re-read by the
    # pure-Python parser, whose messages say more
    from worker.config.yamlfile import read_yaml

    path = write(tmp_path, "sources.yaml", text)
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    assert re.match(rf"{re.escape(str(path))}(, |: ){says}", caught.value.reason), caught.value.reason


def test_a_duplicate_id_names_the_lines_of_both_entries(tmp_path: Path) -> None:
    path = write(tmp_path, "sources.yaml", "sources:\n  - {id: a, name: A, allowed_domains: [a.example]}\n"
                 "  - {id: b, name: B, allowed_domains: [b.example]}\n  - id: a\n    name: A again\n"
                 "    allowed_domains: [a.example]\n")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert caught.value.reason == (f"{path}, line 4, source 'a', field 'id': source id 'a' is used twice, on line 2 "
                                   "and line 4; ids must be unique")


def test_sources_sharing_patterns_and_selectors_each_keep_their_own_values(tmp_path: Path) -> None:
    # the RE2 and CSS checks are cached per distinct text: a shared pattern is checked once, a bad one is
    # still refused on every source that has it, with that source's line
    entry = ("  - id: s{n}\n    name: S\n    allowed_domains: [s{n}.example]\n    include: ['/news/', '{pattern}']\n"
             "    selectors: {{body: '{css}'}}\n")
    from worker.config.patterns import pattern_problem

    text = "sources:\n" + "".join(entry.format(n=n, pattern="/x/", css="main") for n in range(3))
    hits = pattern_problem.cache_info().hits
    loaded = load_sources(write(tmp_path, "sources.yaml", text))
    assert [s.include for s in loaded.values()] == [["/news/", "/x/"]] * 3
    assert pattern_problem.cache_info().hits - hits >= 4  # compiled once per distinct pattern, not per source
    text += entry.format(n=3, pattern="(?=a)", css="main") + entry.format(n=4, pattern="(?=a)", css="div[")
    path = write(tmp_path, "sources.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    lines = caught.value.reason.splitlines()
    assert sum("lookahead" in line for line in lines) == 2
    assert any("not a valid CSS selector 'div['" in line for line in lines)
    assert sorted(line.split(": ")[0] for line in lines) == [
        f"{path}, line 20, source 's3', field 'include'", f"{path}, line 25, source 's4', field 'include'",
        f"{path}, line 26, source 's4', field 'selectors.body'"]
