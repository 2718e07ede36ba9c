"""Metadata accuracy against hand-annotated real pages (tests/fixtures/metadata_truth*.json, merged).

The truth was written by reading each page's source (title, byline, datelines, og:image, JSON-LD) as an
editor would, not by copying the extractor's output; ambiguous cases are explained in each entry's notes.
Run with -s to see the per-field table and every miss.

Comparison rules:
- headline: equal after whitespace and quote-style normalisation (curly vs straight quotes);
- authors: equal as sets of case-folded, whitespace-normalised names;
- published: the extracted day *in the page's own timezone* equals the annotated day. The metadata layer
  keeps the offset the page declared (or inferred from its visible dateline), so the day is read in that
  offset; article.published must be the same instant in UTC. There is no tolerance: a page that gives no
  zone is read as wall-clock time, which keeps the day the page shows;
- lead image: equal after dropping the scheme and fragment and lowercasing the host (query kept), to the
  annotated image or one of its listed alternates (other renditions of the same picture the page declares);
- tags, only where the truth has "tags" (the page shows a tag list): equal as sets of case-folded,
  whitespace-normalised tags.

bench/extraction.py imports load_truth, compare and FIELDS from here, so the benchmark and the tests
score against one truth with one set of rules.
"""
from __future__ import annotations

import gzip
import json
import re
import sys
import unicodedata
from datetime import timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from worker.errors import ExtractionError
from worker.extract import extract_article
from worker.extract.document import parse
from worker.extract.metadata import extract_metadata

FIXTURES = Path(__file__).parent / "fixtures"
FIELDS = ("headline", "authors", "published", "lead_image", "tags")
# per field, over the pages annotated for it (tags: the pages that show tags)
THRESHOLDS = {"headline": 0.90, "authors": 0.85, "published": 0.90, "lead_image": 0.90, "tags": 0.80}


def truth_files() -> list[Path]:
    """Every truth file: the seed set and the extra sets annotators add beside it."""
    return sorted(FIXTURES.glob("metadata_truth*.json"))


def load_truth() -> dict[str, dict]:
    """All truth files merged into {page id: truth}; a page annotated twice is an error, not a silent pick."""
    merged: dict[str, dict] = {}
    for path in truth_files():
        for page_id, truth in json.loads(path.read_text(encoding="utf-8")).items():
            if page_id in merged:
                raise ValueError(f"{page_id} is annotated twice (again in {path.name})")
            merged[page_id] = truth
    return merged


TRUTH = load_truth()
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "′": "'", "“": '"', "”": '"', "„": '"', "″": '"'})


def norm_text(text: str | None) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip()


def norm_image(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    return f"{(parts.netloc or '').lower()}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def page_html(page_id: str) -> bytes:
    return gzip.decompress((FIXTURES / "bench_pages" / f"{page_id}.html.gz").read_bytes())


def norm_tags(tags: list[str]) -> set[str]:
    return {norm_text(t).casefold() for t in tags if norm_text(t)}


def compare(page_id: str, truth: dict) -> dict[str, tuple[bool, object]]:
    """{field: (correct, what was extracted)} for one page; "tags" only when the truth annotates tags."""
    html = page_html(page_id)
    try:
        article = extract_article(html, truth["url"])
    except ExtractionError as refused:  # an annotated page is an article: a refusal misses every field
        fields = {name: (False, f"refused: {refused}") for name in FIELDS}
        return fields if "tags" in truth else {k: v for k, v in fields.items() if k != "tags"}
    meta = extract_metadata(parse(html), truth["url"])

    authors = {norm_text(a.name).casefold() for a in article.authors}
    expected_authors = {norm_text(a).casefold() for a in truth["authors"]}

    local = meta.published
    day = local.date().isoformat() if local else None
    same_instant = (article.published is None and local is None) or (
        article.published is not None and local is not None and article.published == local
        and article.published.tzinfo == timezone.utc
    )

    image = article.lead_image.url if article.lead_image else None
    accepted = {norm_image(u) for u in [truth["lead_image"], *truth.get("lead_image_alternates", [])]}
    image_ok = norm_image(image) in accepted if truth["lead_image"] else image is None
    fields = {
        "headline": (norm_text(article.headline) == norm_text(truth["headline"]), article.headline),
        "authors": (authors == expected_authors, sorted(authors)),
        "published": (day == truth["published"] and same_instant, local.isoformat() if local else None),
        "lead_image": (image_ok, image),
    }
    if "tags" in truth:
        fields["tags"] = (norm_tags(article.tags) == norm_tags(truth["tags"]), list(article.tags))
    return fields


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, tuple[bool, object]]]:
    return {page_id: compare(page_id, truth) for page_id, truth in TRUTH.items()}


def host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def test_the_annotated_set_is_large_enough_and_well_formed() -> None:
    extra = [p for p in truth_files() if p.name != "metadata_truth.json"]
    pages, hosts = len(TRUTH), len({host(t["url"]) for t in TRUTH.values()})
    # the issue's target, asserted once annotators' extra sets are in; the seed set alone is 80 pages
    assert (pages >= 150 and hosts >= 100) if extra else pages >= 45, (pages, hosts)
    for page_id, truth in TRUTH.items():
        assert (FIXTURES / "bench_pages" / f"{page_id}.html.gz").exists(), page_id
        assert truth["headline"] and isinstance(truth["authors"], list)
        assert truth["published"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", truth["published"])
        assert "tags" not in truth or (isinstance(truth["tags"], list) and all(isinstance(t, str) for t in truth["tags"]))


def test_each_metadata_field_meets_its_accuracy_threshold(results) -> None:
    scored = {f: [r[f][0] for r in results.values() if f in r] for f in FIELDS}
    accuracy = {f: sum(oks) / len(oks) for f, oks in scored.items() if oks}
    print(f"\nmetadata accuracy on {len(results)} hand-annotated pages ({len(scored['tags'])} with tags)")
    print(" | ".join(f"{f}: {accuracy[f]:.1%}" for f in accuracy))
    for page_id, fields in results.items():
        for name, (ok, got) in fields.items():
            if not ok:
                print(f"  MISS {page_id[:24]} {name}: got {got!r} expected {TRUTH[page_id][name]!r}")
    assert all(accuracy[f] >= THRESHOLDS[f] for f in accuracy), accuracy


def test_a_page_annotated_twice_is_an_error(tmp_path, monkeypatch) -> None:
    (tmp_path / "metadata_truth.json").write_text(json.dumps({"p1": {}, "p2": {}}))
    (tmp_path / "metadata_truth_extra_x.json").write_text(json.dumps({"p3": {}, "p2": {}}))
    monkeypatch.setattr(sys.modules[__name__], "FIXTURES", tmp_path)
    with pytest.raises(ValueError, match="p2"):
        load_truth()
    (tmp_path / "metadata_truth_extra_x.json").write_text(json.dumps({"p3": {}}))
    assert sorted(load_truth()) == ["p1", "p2", "p3"]


def test_the_comparison_rules_catch_real_differences() -> None:
    """The normalisations used above are not so loose that different values compare equal."""
    assert norm_text("‘We had some issues,’ exec says") == norm_text("'We had some issues,' exec says")
    assert norm_text("Republicans Are Following Trump") != norm_text("Opinion | Republicans Are Following Trump")
    assert norm_image("http://Example.com/a.jpg?w=1#x") == norm_image("https://example.com/a.jpg?w=1")
    assert norm_image("https://example.com/a.jpg?w=1") != norm_image("https://example.com/a.jpg?w=2")
    assert norm_tags([" Covid-19", "tattoo "]) == norm_tags(["covid-19", "Tattoo"])
    assert norm_tags(["Covid-19"]) != norm_tags(["Covid-19", "tattoo"])
