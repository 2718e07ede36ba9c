"""The operator's commands, run as a subprocess exactly as typed in a terminal."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.plugins.celery_worker import ROOT, SOURCES_YAML

FIXTURE = ROOT / "tests/fixtures/partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
EXPECTED = json.loads((ROOT / "tests/fixtures/expected/coalition-begins-clearing-out-last-isis-pockets-in-iraq.json").read_text())
CANONICAL_KEYS = {
    "id", "version", "source", "attribution", "url", "headline", "description", "authors", "published",
    "updated", "section", "tags", "language", "lead_image", "body_html", "body_text", "word_count",
    "content_hash", "rights", "fetched_at",
}


def syndicate(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "worker.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, cwd=cwd, timeout=120)


def test_extract_json_has_the_canonical_fields_and_expected_values() -> None:
    result = syndicate("extract", str(FIXTURE), "--url", EXPECTED["url"], "--format", "json")
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert set(article) == CANONICAL_KEYS
    assert set(article["source"]) == {"id", "name"}
    assert set(article["lead_image"]) >= {"url", "caption", "credit", "width", "height"}
    assert article["headline"] == EXPECTED["headline"]
    assert [a["name"] for a in article["authors"]] == EXPECTED["authors"]
    assert article["published"].replace("Z", "+00:00") == EXPECTED["published"]
    assert article["updated"].replace("Z", "+00:00") == EXPECTED["updated"]
    assert article["section"] == EXPECTED["section"]
    assert article["source"]["name"] == EXPECTED["source_name"]
    assert article["attribution"] == EXPECTED["attribution"]
    for key in ("url", "caption", "credit"):
        assert article["lead_image"][key] == EXPECTED["lead_image"][key]
    paragraphs = [" ".join(p.split()) for p in article["body_text"].split("\n\n")]
    assert paragraphs == [" ".join(p.split()) for p in EXPECTED["body_paragraphs"]]
    for banned in EXPECTED["must_not_contain"]:
        assert banned not in article["body_html"] and banned not in article["body_text"]


def test_extract_text_ends_with_the_attribution() -> None:
    result = syndicate("extract", str(FIXTURE), "--url", EXPECTED["url"], "--format", "text")
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("From The Epoch Times")


def test_extract_of_a_file_without_url_takes_the_pages_canonical_link(tmp_path: Path) -> None:
    # a file has no http(s) address: without --url the article is named by the page's canonical link
    # and relative links resolve against a placeholder on the reserved .invalid domain
    page = tmp_path / "saved page.html"
    page.write_text(
        "<html><head><title>Saved</title><link rel=canonical href='https://partner.example/news/saved'>"
        "</head><body><article><h1>Saved</h1>"
        + "<p>A paragraph long enough to be the article body, with <a href='/more'>a link</a> in it.</p>" * 4
        + "</article></body></html>", "utf8")
    result = syndicate("extract", str(page), "--format", "json")
    assert result.returncode == 0, result.stderr
    article = json.loads(result.stdout)
    assert article["url"] == "https://partner.example/news/saved"
    assert 'href="https://file.invalid/more"' in article["body_html"]


def test_extract_missing_file_is_a_clear_error() -> None:
    result = syndicate("extract", "no/such/page.html")
    assert result.returncode == 2
    assert "no/such/page.html: no such file" in result.stderr


def test_schema_prints_the_article_json_schema() -> None:
    result = syndicate("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Article" and set(schema["properties"]) == CANONICAL_KEYS


def test_import_refuses_a_url_outside_the_allowed_domains(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML)
    result = syndicate("import", "https://evil.example/a.html", "--source", "theepochtimes",
                       env={"CONFIG_DIR": str(tmp_path), "SYNDICATION_VAR_DIR": str(tmp_path / "var")})
    assert result.returncode == 2
    assert "host 'evil.example' is not in the allowed_domains of source 'theepochtimes' (127.0.0.1, localhost, partner.test)" in result.stderr
    assert "Traceback" not in result.stderr


def test_import_of_an_unknown_source_names_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML)
    result = syndicate("import", "http://127.0.0.1/a.html", "--source", "nope", env={"CONFIG_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "no source 'nope' in sources.yaml or sources.d/ (known: theepochtimes)" in result.stderr


def test_check_reports_file_line_entry_and_field_of_a_malformed_config(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        "  - id: good\n"
        "    name: Good\n"
        "    allowed_domains: [good.example]\n"
        "  - id: bad\n"
        "    name: Bad\n"
        "    allowed_domains: bad.example\n"
    )
    result = syndicate("check", env={"CONFIG_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert f"{tmp_path / 'sources.yaml'}, line 7, source 'bad', field 'allowed_domains'" in result.stderr


def test_worker_refuses_to_start_on_a_broken_config(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES_YAML)
    (tmp_path / "outlets.yaml").write_text("outlets:\n  - id: out\n    kind: files\n")
    result = syndicate("worker", env={"CONFIG_DIR": str(tmp_path), "SYNDICATION_VAR_DIR": str(tmp_path / "var")})
    assert result.returncode == 2
    assert f"{tmp_path / 'outlets.yaml'}, line 2, outlet 'out', field 'directory': Field required" in result.stderr
    assert not (tmp_path / "var" / "redis").exists()  # nothing was started


def test_help_teaches_the_commands() -> None:
    result = syndicate("--help")
    assert result.returncode == 0
    for command in ("extract", "import", "worker", "articles", "demo", "schema", "REDIS_URL"):
        assert command in result.stdout
