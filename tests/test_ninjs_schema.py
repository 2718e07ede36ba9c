"""ninjs that IPTC's own schema accepts: every document the product writes, validated with the jsonschema
library against the official ninjs 2.1 JSON Schema (tests/fixtures/ninjs/, copied from iptc/newsinjson).

What is validated: to_ninjs of the seed article, of the hostile corpus (the hostile articles every outlet
is tested with, and the real partner pages of tests/hostile/corpus.py, as they are and mutated), the files
outlet's .ninjs.json files, the webhook's bodies as a loopback receiver got them, and IPTC's own example
documents read through from_ninjs and written back; plus our own documents of the older mapping, which
from_ninjs still reads and writes back valid.

The validator is the one the schema's own `$schema` names (draft 2020-12). There `format` is an annotation
unless a validator is asked to assert it; we assert it too (uri, date-time...) wherever the article's URLs
are ordinary ones. The hostile corpus is validated as the schema says, without asserting formats: its URLs
keep spaces and brackets on purpose (worker/schema/sanitize.py), which RFC 3986's `uri` does not allow.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from referencing import Registry, Resource

from tests.hostile import corpus as hostile_pages
from tests.hostile.test_outlet_outputs import corpus as hostile_articles
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_schema import sample
from worker.errors import SyndicationError
from worker.extract import extract_article
from worker.outlets.files import FilesOptions, FilesOutlet
from worker.outlets.webhook import WebhookOptions, WebhookOutlet
from worker.schema import NINJS_SCHEMA_URI, Article, Author, from_ninjs, to_ninjs
from worker.settings import load_settings

FIXTURES = Path(__file__).parent / "fixtures"
NINJS = FIXTURES / "ninjs"
SEED_PAGE = FIXTURES / "partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
SEED_URL = "http://partner.test/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
SECRET, SECRET_ENV = "ninjs-schema-secret", "TEST_NINJS_WEBHOOK_SECRET"


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@cache
def validator(formats: bool) -> Validator:
    """The official schema's validator, the draft its own `$schema` names; the GeoJSON schema it refers to
    is given under its `$id`, so validating never fetches anything."""
    schema = load(NINJS / "ninjs-schema_2.1.json")
    geojson = load(NINJS / "GeoJSON.json")
    cls = validator_for(schema)
    assert cls is Draft202012Validator and schema["$id"] == NINJS_SCHEMA_URI + "#"
    cls.check_schema(schema)
    # jsonschema skips a format it has no checker for: without rfc3986-validator (jsonschema[format-nongpl]
    # in pyproject's test extra) "uri" would pass unchecked
    assert not formats or {"uri", "date-time"} <= set(cls.FORMAT_CHECKER.checkers)
    registry = Registry().with_resource(geojson["$id"], Resource.from_contents(geojson))
    return cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER if formats else None)


def violations(doc: Any, formats: bool = True) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in validator(formats).iter_errors(doc)]


def seed_article() -> Article:
    return extract_article(SEED_PAGE.read_bytes(), SEED_URL)


def variants() -> list[Article]:
    """Articles that take each branch of the mapping: roles, no dates, no image, no section, no authors."""
    return [
        seed_article(),
        sample(version=3, url="http://partner.test/1.html"),
        sample(url="http://partner.test/2.html", updated=None, lead_image=None, rights=None, description=None, tags=[]),
        sample(url="http://partner.test/3.html", published=None, section=None,
               authors=[Author(name="Desk", role="organization")]),
        sample(url="http://partner.test/4.html", published=None, updated=None, authors=[],
               lead_image={"url": "https://partner.test/i.jpg"}),
    ]


# --- what we write ------------------------------------------------------------------------------------

def test_the_seed_articles_ninjs_is_valid_and_reads_back_the_same() -> None:
    article = seed_article()
    doc = to_ninjs(article)
    assert violations(doc) == []
    assert doc["standard"] == {"name": "ninjs", "version": "2.1", "schema": NINJS_SCHEMA_URI}
    assert from_ninjs(json.loads(json.dumps(doc))) == article


def test_every_branch_of_the_mapping_is_valid_and_lossless() -> None:
    for article in variants():
        doc = json.loads(json.dumps(to_ninjs(article)))
        assert violations(doc) == [], article.headline
        assert from_ninjs(doc) == article


def test_the_hostile_corpus_ninjs_is_valid() -> None:
    articles = hostile_articles(lambda n: f"https://partner.test/img/{n}.png")
    rng = random.Random(15)
    pages = [*hostile_pages.page_seeds(), *(hostile_pages.apply_edits(page, hostile_pages.random_edits(rng))
                                            for page in hostile_pages.page_seeds() for _ in range(2))]
    for page in pages:
        try:
            articles.append(extract_article(page, hostile_pages.PAGE_URL))
        except SyndicationError:
            continue  # refused with a named error: nothing is written
    assert len(articles) > 100
    problems = {article.url: found for article in articles if (found := violations(to_ninjs(article), formats=False))}
    assert problems == {}
    assert all(from_ninjs(json.loads(json.dumps(to_ninjs(a)))) == a for a in articles)


def test_the_files_outlet_writes_valid_ninjs(tmp_path: Path) -> None:
    outlet = FilesOutlet("files", FilesOptions(directory=str(tmp_path / "out")), load_settings({}))
    articles = variants()
    for article in articles:
        outlet.publish(article, None)
    written = sorted((tmp_path / "out").glob("*/*.ninjs.json"))
    assert len(written) == 2 * len({a.id for a in articles})  # v<n>.ninjs.json and article.ninjs.json
    for path in written:
        doc = load(path)
        assert violations(doc) == [], path.name
        assert from_ninjs(doc) in articles


def test_the_webhook_sends_valid_ninjs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    articles = variants()
    with WebhookReceiver(SECRET) as receiver:
        hook = WebhookOutlet("hook", WebhookOptions(url=receiver.url, secret_env=SECRET_ENV, timeout=10),
                             load_settings({}))
        for article in articles:
            hook.publish(article, None)
        sent = receiver.wait_for(len(articles))
    assert all(record.signature_ok for record in sent)
    for record, article in zip(sent, articles):
        doc = record.json()
        assert violations(doc) == [], article.headline
        assert from_ninjs(doc) == article


# --- what we read -------------------------------------------------------------------------------------

def iptc_example(name: str) -> Any:
    return load(NINJS / "iptc-examples" / name)


def test_iptcs_examples_read_through_from_ninjs_and_written_back_valid() -> None:
    examples = sorted(p.name for p in (NINJS / "iptc-examples").glob("*.json"))
    assert len(examples) == 6
    for name in examples:  # as IPTC wrote them, by the schema's own rules
        assert violations(iptc_example(name), formats=False) == [], name
    readable = {}
    for name in examples:
        try:
            readable[name] = from_ninjs(iptc_example(name))
        except ValueError as refused:  # pydantic's ValidationError: no http(s) URL to be the article's
            assert "url" in str(refused), name
    assert sorted(readable) == ["003_associations_example.json", "ninjsExSimpleText_2.json", "tt_text_image_2.json"]
    for name, article in readable.items():
        doc = json.loads(json.dumps(to_ninjs(article)))
        assert violations(doc) == [], name
        assert from_ninjs(doc) == article, name

    tt = readable["tt_text_image_2.json"]
    assert (tt.headline, tt.language, tt.version) == ("Militärövning i jätteformat hålls 2023", "sv", 1)
    assert tt.url == "http://tt.se/media/text/210526-militarovning-a0f2d045"
    assert tt.lead_image is not None and tt.lead_image.url == "http://tt.se/media/image/sdlk2sirkPaauM"
    assert (tt.lead_image.credit, tt.lead_image.width, tt.lead_image.height) == ("Karl Melander/TT", 4724, 3149)
    assert tt.tags == ["Krig, konflikter och oroligheter"] and "Sydöstran" in tt.body_html
    assert tt.updated == datetime(2021, 5, 26, 11, 40, 18, tzinfo=timezone.utc)
    simple = readable["ninjsExSimpleText_2.json"]
    assert simple.body_html.startswith("<p>GROSSETO, Italy (AP)") and simple.body_text.startswith("GROSSETO")
    assert [a.name for a in simple.authors] == ["Paulo Santalucia and Frances d'Emilio"]
    dell = readable["003_associations_example.json"]  # its body is application/xhtml+xml, its image a picture
    assert dell.body_html == "[ ... ]"
    assert dell.lead_image is not None and dell.lead_image.url.endswith("/0025lf.jpg")


@pytest.mark.parametrize("name", ["seed-article.ninjs.json", "editor-and-section.ninjs.json",
                                  "no-dates-no-image.ninjs.json"])
def test_a_document_of_the_older_mapping_reads_and_is_written_back_valid(name: str) -> None:
    old = load(NINJS / "old-mapping" / name)
    assert violations(old, formats=False) != []  # why it was changed: `$schema`, "complete", genres[].rel
    article = from_ninjs(old)
    doc = json.loads(json.dumps(to_ninjs(article)))
    assert violations(doc) == []
    assert from_ninjs(doc) == article
    expected = {"editor-and-section.ninjs.json": sample(version=3),
                "no-dates-no-image.ninjs.json": sample(updated=None, published=None, lead_image=None, section=None)}
    if name in expected:
        assert article == expected[name]  # the role, the section and the missing dates come back as they were
    else:
        assert article.section == "World News" and article.lead_image is not None


def test_an_author_role_and_the_section_are_kept_where_the_schema_allows() -> None:
    doc = to_ninjs(sample(authors=[Author(name="Ann"), Author(name="Bo Chan", role="Staff Writer")]))
    assert doc["people"] == [{"name": "Ann", "rel": "author"}, {"name": "Bo Chan", "rel": "author"}]
    assert {"role": "author-role:1", "value": "Staff Writer"} in doc["altids"]
    assert {"name": "World News", "rel": "section"} in doc["subjects"] and "genres" not in doc
    assert [a.role for a in from_ninjs(doc).authors] == [None, "Staff Writer"]
    assert violations(doc) == []
