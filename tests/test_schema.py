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
    # as ninjs 2.1 has them (tests/test_ninjs_schema.py validates against IPTC's schema): no top-level
    # "$schema" but `standard`, "full", the section a subject, the role of an author an altid
    assert "$schema" not in doc and doc["standard"]["schema"] == "http://www.iptc.org/std/ninjs/ninjs-schema_2.1.json"
    assert doc["representationtype"] == "full"
    assert doc["subjects"] == [{"name": "ISIS", "rel": "about"}, {"name": "Iraq", "rel": "about"},
                               {"name": "World News", "rel": "section"}] and "genres" not in doc
    assert doc["people"][1] == {"name": "Jane Roe", "rel": "author"}
    assert {"role": "author-role:1", "value": "editor"} in doc["altids"]
    assert all(isinstance(altid["value"], str) for altid in to_ninjs(sample(updated=None))["altids"])


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


# --- URL fields accept http(s) only; text fields carry no bidi overrides ----------------------------

HOSTILE_URLS = ["javascript:alert(1)", "  JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "\x01javascript:alert(1)",
                "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "vbscript:msgbox(1)",
                "file:///etc/passwd", "http:no-host", "http://[::1", "https://partner.test:99999/"]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_an_author_link_that_is_not_http_is_dropped_and_the_author_kept(url: str) -> None:
    article = sample(authors=[Author(name="Henry Bevington", url=url), {"name": "Jane Roe", "url": url}])
    assert [(a.name, a.url) for a in article.authors] == [("Henry Bevington", None), ("Jane Roe", None)]
    assert all("uri" not in person for person in to_ninjs(article)["people"])


def test_an_author_built_around_the_check_is_checked_when_it_enters_an_article() -> None:
    # the extractor adds JSON-LD links with model_copy(update=...), which runs no validator
    sneaked = Author(name="Henry Bevington").model_copy(update={"url": "javascript:alert(1)"})
    assert sample(authors=[sneaked]).authors == [Author(name="Henry Bevington")]


def test_a_relative_author_link_is_read_against_the_article_url() -> None:
    # as the extractor hands them over: JSON-LD's link put on the Author with model_copy
    article = sample(authors=[Author(name="A").model_copy(update={"url": "/authors/a"}),
                              {"name": "B", "url": "//people.test/b"}])
    assert [a.url for a in article.authors] == ["http://partner.test/authors/a", "http://people.test/b"]


@pytest.mark.parametrize("url", HOSTILE_URLS)
def test_a_lead_image_that_is_not_http_is_left_out_and_the_article_kept(url: str) -> None:
    with pytest.raises(ValidationError, match="http"):
        Image(url=url)
    sneaked = Image(url="http://partner.test/i.jpg").model_copy(update={"url": url})
    for image in ({"url": url, "caption": "c"}, sneaked):
        article = sample(lead_image=image)
        assert article.lead_image is None
        assert article.content_hash == sample(lead_image=None).content_hash
        assert "associations" not in to_ninjs(article)


@pytest.mark.parametrize("url", HOSTILE_URLS + ["/relative/a.html", "urn:other:1"])
def test_an_article_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="url"):
        sample(url=url)


def test_body_links_and_images_are_http_only_and_relative_ones_resolved() -> None:
    body = ('<p onclick="alert(1)">One <a href="javascript:alert(1)">js</a> <a href="java&#x09;script:alert(2)">tab</a>'
            ' <a href="data:text/html,x">data</a> <a href="mailto:x@partner.test">mail</a>'
            ' <a href="/b.html">relative</a> <a href="//other.test/c">scheme-relative</a></p>'
            '<p><img src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;" alt="d"><img src="pic.jpg" alt="p"></p>'
            '<script>alert(3)</script><iframe src="https://evil.test/"></iframe><svg onload="alert(4)"></svg>'
            '<p style="x">Two &lt;script&gt;alert(5)&lt;/script&gt;</p>')
    article = sample(body_html=body)
    assert article.body_html == (
        '<p>One <a>js</a> <a>tab</a> <a>data</a> <a>mail</a> <a href="http://partner.test/b.html">relative</a>'
        ' <a href="http://other.test/c">scheme-relative</a></p>'
        '<p><img alt="d"><img src="http://partner.test/pic.jpg" alt="p"></p>'
        '<p>Two &lt;script&gt;alert(5)&lt;/script&gt;</p>')
    assert article.content_hash == sample(body_html=article.body_html).content_hash  # hash of what it holds
    assert Article.model_validate(article.model_dump()) == article  # stored and read back: unchanged


def test_bidi_overrides_are_taken_out_of_short_text_and_encoded_in_urls() -> None:
    rlo, pdi = "\u202e", "\u2069"
    article = sample(headline=f"Breaking{rlo} news", description=f"{rlo}txt.exe", section=f"World{pdi}",
                     tags=[f"Iraq{rlo}", rlo], authors=[Author(name=f"Ann{rlo}", url=f"https://partner.test/{rlo}ann")],
                     lead_image=Image(url="http://partner.test/i.jpg", caption=f"A{rlo}", credit=f"B{rlo}", alt=f"C{rlo}"))
    assert (article.headline, article.description, article.section, article.tags) == (
        "Breaking news", "txt.exe", "World", ["Iraq"])
    assert article.authors == [Author(name="Ann", url="https://partner.test/%E2%80%AEann")]
    assert (article.lead_image.caption, article.lead_image.credit, article.lead_image.alt) == ("A", "B", "C")
    assert "\u202e" not in article.model_dump_json()


def test_a_hostile_ninjs_document_from_elsewhere_is_made_safe() -> None:
    doc = to_ninjs(sample())
    doc["people"] = [{"name": "Mallory", "rel": "author", "uri": "javascript:alert(1)"}]
    doc["associations"][0]["uri"] = doc["associations"][0]["renditions"][0]["href"] = "data:image/png;base64,AA"
    doc["bodies"][0]["value"] = '<p>Hi<script>alert(1)</script><a href="vbscript:x">x</a></p>'
    article = from_ninjs(doc)
    assert article.authors == [Author(name="Mallory")]
    assert article.lead_image is None
    assert article.body_html == "<p>Hi<a>x</a></p>"
