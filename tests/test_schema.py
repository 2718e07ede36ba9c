"""The canonical article contract: stable ids, content hashes, attribution, and ninjs both ways."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from worker.schema import (
    Article,
    Author,
    Image,
    Rights,
    SourceRef,
    article_id_for,
    from_ninjs,
    make_article,
    render_attribution,
    to_ninjs,
)


def sample(**changes: object) -> Article:
    fields: dict[str, object] = dict(
        source=SourceRef(id="theepochtimes", name="The Epoch Times"),
        attribution="From The Epoch Times",
        url="http://partner.test/a.html",
        headline="Coalition Begins Clearing Out Last ISIS Pockets in Iraq",
        description="Coalition forces have begun attacks.",
        authors=[Author(name="Henry Bevington"), Author(name="Jane Roe", role="editor")],
        published=datetime(2017, 9, 22, 14, 5, tzinfo=timezone(timedelta(hours=-4))),
        updated="2017-09-22T15:40:12-04:00",
        section="World News",
        tags=["ISIS", "Iraq"],
        language="en",
        lead_image=Image(url="http://partner.test/i.jpg", caption="Paratroopers.", credit="Army photo",
                         alt="Paratroopers", width=1200, height=800),
        body_html="<p>First paragraph.</p><p>Second one.</p>",
        body_text="First paragraph.\n\nSecond one.",
        rights=Rights(copyright_notice="© The Epoch Times", usage_terms="Syndication agreement"),
        fetched_at=datetime(2026, 11, 29, tzinfo=timezone.utc),
    )
    fields.update(changes)
    return make_article(**fields)


def test_dates_are_stored_in_utc() -> None:
    article = sample()
    assert article.published == datetime(2017, 9, 22, 18, 5, tzinfo=timezone.utc)
    assert article.published.utcoffset() == timedelta(0)
    assert article.updated.isoformat() == "2017-09-22T19:40:12+00:00"


def test_naive_dates_are_refused() -> None:
    with pytest.raises(ValidationError):
        sample(published=datetime(2017, 9, 22, 14, 5))


def test_id_is_stable_and_ignores_scheme_fragment_and_host_case() -> None:
    assert article_id_for("http://Partner.Test/a.html#top") == article_id_for("https://partner.test/a.html")
    assert article_id_for("http://partner.test/a.html") != article_id_for("http://partner.test/b.html")
    assert sample().id == article_id_for("http://partner.test/a.html")


def test_content_hash_ignores_fetch_time_and_whitespace_but_not_content() -> None:
    base = sample()
    assert sample(fetched_at=datetime(2030, 1, 1, tzinfo=timezone.utc)).content_hash == base.content_hash
    assert sample(body_html="<p>First paragraph.</p><p>Second one!</p>").content_hash != base.content_hash
    assert sample(headline="Another headline").content_hash != base.content_hash
    assert sample(lead_image=None).content_hash != base.content_hash


def test_attribution_template() -> None:
    assert render_attribution(None, "The Epoch Times") == "From The Epoch Times"
    assert render_attribution("Originally published by {source_name}", "NTD") == "Originally published by NTD"


def test_word_count_is_derived_from_body_text() -> None:
    assert sample().word_count == 4


def test_ninjs_round_trip_is_lossless() -> None:
    article = sample(version=3)
    assert from_ninjs(to_ninjs(article)) == article


def test_ninjs_round_trip_without_optional_fields() -> None:
    article = sample(lead_image=None, rights=None, description=None, updated=None, section=None, tags=[], authors=[])
    assert from_ninjs(to_ninjs(article)) == article


def test_ninjs_document_has_the_iptc_fields() -> None:
    doc = to_ninjs(sample(version=2))
    assert doc["uri"].endswith(sample().id)
    assert doc["version"] == "2"
    assert doc["headlines"] == [{"role": "main", "value": "Coalition Begins Clearing Out Last ISIS Pockets in Iraq"}]
    assert doc["by"] == "Henry Bevington, Jane Roe"
    assert doc["firstcreated"] == "2017-09-22T18:05:00Z"
    assert doc["versioncreated"] == "2017-09-22T19:40:12Z"
    assert doc["bodies"][0] == {"role": "main", "contenttype": "text/html", "charcount": 29, "wordcount": 4,
                                "value": "<p>First paragraph.</p><p>Second one.</p>"}
    assert doc["infosources"][0]["role"] == "originator" and doc["infosources"][0]["name"] == "The Epoch Times"
    picture = doc["associations"][0]
    assert picture["type"] == "picture" and picture["by"] == "Army photo"
    assert picture["renditions"][0] == {"name": "original", "href": "http://partner.test/i.jpg", "width": 1200, "height": 800}
    assert doc["copyrightnotice"] == "© The Epoch Times" and doc["usageterms"] == "Syndication agreement"
    assert {"role": "canonical-url", "value": "http://partner.test/a.html"} in doc["altids"]


def test_from_ninjs_reads_a_foreign_document() -> None:
    doc = {
        "uri": "urn:other:1", "version": "4", "headlines": [{"role": "main", "value": "Hello"}],
        "by": "A. Writer, B. Writer", "firstcreated": "2020-01-01T10:00:00+02:00",
        "versioncreated": "2020-01-02T10:00:00Z", "bodies": [{"contenttype": "text/html", "value": "<p>x</p>"}],
        "infosources": [{"name": "Wire", "role": "originator", "uri": "https://wire.example/1"}],
    }
    article = from_ninjs(doc)
    assert article.headline == "Hello" and article.version == 4
    assert [a.name for a in article.authors] == ["A. Writer", "B. Writer"]
    assert article.published == datetime(2020, 1, 1, 8, tzinfo=timezone.utc)
    assert article.url == "https://wire.example/1" and article.attribution == "From Wire"
