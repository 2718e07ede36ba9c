"""Acceptance: the partner fixture page yields exactly the expected canonical fields, with and without
per-source selectors."""
from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from worker.config import Selectors, Source
from worker.extract import extract_article
from worker.schema import Article

FIXTURES = Path(__file__).parent / "fixtures"
PAGE = FIXTURES / "partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
EXPECTED = json.loads((FIXTURES / "expected/coalition-begins-clearing-out-last-isis-pockets-in-iraq.json").read_text("utf-8"))
URL = "http://partner.test/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
WHITESPACE = re.compile(r"\s+")  # \s covers the no-break space in Python's unicode regexes

SELECTOR_SOURCE = Source(
    id="theepochtimes",
    name="The Epoch Times",
    allowed_domains=["partner.test"],
    selectors=Selectors(body=".post-content", drop=[".ad-slot", ".newsletter-inline", ".related-inline"]),
)


def squash(text: str) -> str:
    return WHITESPACE.sub(" ", text).strip()


@pytest.fixture(scope="module", params=["generic", "selectors"])
def article(request: pytest.FixtureRequest) -> Article:
    source = SELECTOR_SOURCE if request.param == "selectors" else None
    return extract_article(PAGE.read_bytes(), URL, source)


def test_headline_authors_section(article: Article) -> None:
    assert article.headline == EXPECTED["headline"]
    assert [a.name for a in article.authors] == EXPECTED["authors"]
    assert article.section == EXPECTED["section"]
    assert article.url == EXPECTED["url"]


def test_tags_are_the_ones_the_page_shows(article: Article) -> None:
    assert article.tags == EXPECTED["tags"]


def test_dates_in_utc(article: Article) -> None:
    assert article.published == datetime.fromisoformat(EXPECTED["published"])
    assert article.updated == datetime.fromisoformat(EXPECTED["updated"])
    assert article.published.utcoffset().total_seconds() == 0
    assert article.updated.utcoffset().total_seconds() == 0


def test_source_and_attribution(article: Article) -> None:
    assert article.source.name == EXPECTED["source_name"]
    assert article.attribution == EXPECTED["attribution"]


def test_lead_image(article: Article) -> None:
    assert article.lead_image is not None
    for key in ("url", "caption", "credit"):
        assert getattr(article.lead_image, key) == EXPECTED["lead_image"][key]
    assert (article.lead_image.width, article.lead_image.height) == (1200, 800)


def test_body_paragraphs_exact_and_in_order(article: Article) -> None:
    got = [squash(p) for p in article.body_text.split("\n\n")]
    assert got == [squash(p) for p in EXPECTED["body_paragraphs"]]


@pytest.mark.parametrize("phrase", EXPECTED["must_not_contain"])
def test_no_boilerplate(article: Article, phrase: str) -> None:
    assert phrase not in article.body_html
    assert phrase not in article.body_text


def test_headline_byline_and_lead_figure_not_repeated_in_body(article: Article) -> None:
    assert EXPECTED["headline"] not in article.body_text
    assert "By Henry" not in article.body_text
    assert "mosul-artillery" not in article.body_html
    assert "<figure" not in article.body_html


def test_metadata_extras(article: Article) -> None:
    assert article.language == "en-US"
    assert article.description and article.description.startswith("Coalition forces have begun")
    assert article.word_count > 400
    assert article.content_hash.startswith("sha256:")


def test_selector_source_is_used_for_source_fields() -> None:
    source = SELECTOR_SOURCE.model_copy(update={"attribution": "Courtesy of {source_name}", "language": "de"})
    article = extract_article(PAGE.read_text("utf-8"), URL, source)
    assert article.source.id == "theepochtimes"
    assert article.attribution == "Courtesy of The Epoch Times"
    assert article.language == "en-US"  # the page's own lang wins over the source's fallback


def test_same_id_and_hash_for_bytes_and_str() -> None:
    from_bytes = extract_article(PAGE.read_bytes(), URL)
    from_text = extract_article(PAGE.read_text("utf-8"), URL)
    assert from_bytes.id == from_text.id
    assert from_bytes.content_hash == from_text.content_hash
