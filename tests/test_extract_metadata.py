"""Metadata: JSON-LD (with @graph and @id links), OpenGraph/meta fallbacks, visible-page fallbacks,
bylines, dates and the source derived from the page when none is configured."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from worker.config import Selectors, Source
from worker.extract import extract_article
from worker.extract.authors import split_byline
from worker.extract.dates import first_date, parse_date
from worker.extract.metadata import strip_site_suffix
from worker.schema import Rights

URL = "https://news.example.com/world/story-1"
PROSE = " ".join(f"Sentence number {i} of the story tells the reader something new about the events." for i in range(6))


def page(head: str = "", body: str = "", lang: str = "en") -> str:
    article_body = body or f"<h1>Visible Headline</h1><p>{PROSE}</p><p>{PROSE}</p>"
    return f"<!DOCTYPE html><html lang='{lang}'><head>{head}</head><body><article>{article_body}</article></body></html>"


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_jsonld_graph_with_id_references() -> None:
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "@id": "#site", "name": "Example Site"},
            {"@type": "Organization", "@id": "#org", "name": "Example News"},
            {"@type": "Person", "@id": "#p1", "name": "Ann Author"},
            {"@type": ["ReportageNewsArticle"], "headline": "Graph Headline", "author": [{"@id": "#p1"}, {"@type": "Person", "name": "Ben Byline"}],
             "publisher": {"@id": "#org"}, "datePublished": "2024-03-01T10:00:00+02:00", "dateModified": "2024-03-02T00:30:00-05:00",
             "articleSection": ["Politics", "World"], "keywords": "vote, parliament", "description": "Graph description.",
             "image": [{"@type": "ImageObject", "url": "/img/a.jpg", "width": "640", "height": 480}]},
        ],
    }
    article = extract_article(page(ld(graph)), URL)
    assert article.headline == "Graph Headline"
    assert [a.name for a in article.authors] == ["Ann Author", "Ben Byline"]
    assert article.source.name == "Example News"
    assert article.source.id == "example-news"
    assert article.attribution == "From Example News"
    assert article.published == datetime(2024, 3, 1, 8, 0, tzinfo=timezone.utc)
    assert article.updated == datetime(2024, 3, 2, 5, 30, tzinfo=timezone.utc)
    assert article.section == "Politics"
    assert article.tags == ["vote", "parliament"]
    assert article.description == "Graph description."
    assert article.lead_image is not None
    assert article.lead_image.url == "https://news.example.com/img/a.jpg"
    assert (article.lead_image.width, article.lead_image.height) == (640, 480)


def test_jsonld_list_picks_the_article_node() -> None:
    blocks = [{"@type": "BreadcrumbList", "name": "crumbs"}, {"@type": "NewsArticle", "headline": "Listed Headline"}]
    assert extract_article(page(ld(blocks)), URL).headline == "Listed Headline"


def test_opengraph_and_meta_fallbacks_without_jsonld() -> None:
    head = (
        "<title>OG Headline | Example Daily</title>"
        '<meta property="og:title" content="OG Headline">'
        '<meta property="og:site_name" content="Example Daily">'
        '<meta property="og:description" content="OG description.">'
        '<meta property="og:url" content="/world/story-1?ref=canonical">'
        '<meta property="og:image" content="https://cdn.example.com/lead.jpg">'
        '<meta property="article:published_time" content="2024-01-05T09:00:00+01:00">'
        '<meta property="article:modified_time" content="2024-01-05T12:00:00Z">'
        '<meta property="article:section" content="Business">'
        '<meta property="article:tag" content="markets"><meta property="article:tag" content="rates">'
        '<meta name="author" content="Cleo Columnist">'
    )
    article = extract_article(page(head, f"<p>{PROSE}</p><p>{PROSE}</p>"), URL)
    assert article.headline == "OG Headline"
    assert article.source.name == "Example Daily"
    assert article.source.id == "example-daily"
    assert article.url == "https://news.example.com/world/story-1?ref=canonical"
    assert article.description == "OG description."
    assert article.published == datetime(2024, 1, 5, 8, 0, tzinfo=timezone.utc)
    assert article.updated == datetime(2024, 1, 5, 12, 0, tzinfo=timezone.utc)
    assert article.section == "Business"
    assert article.tags == ["markets", "rates"]
    assert [a.name for a in article.authors] == ["Cleo Columnist"]
    assert article.lead_image is not None and article.lead_image.url == "https://cdn.example.com/lead.jpg"


def test_visible_page_fallbacks_without_any_structured_data() -> None:
    body = (
        '<h1 class="title">A Page With No Metadata</h1>'
        '<p class="byline">By Dana Doe and Eli Roe</p>'
        '<time datetime="2023-07-04T12:00:00-07:00">July 4, 2023</time>'
        f"<p>{PROSE}</p><p>{PROSE}</p>"
    )
    html = f"<html><head><title>Whatever - Site</title></head><body><article>{body}</article></body></html>"
    article = extract_article(html, "https://www.plain-site.org/a/b")
    assert article.headline == "A Page With No Metadata"
    assert [a.name for a in article.authors] == ["Dana Doe", "Eli Roe"]
    assert article.published == datetime(2023, 7, 4, 19, 0, tzinfo=timezone.utc)
    assert article.source.name == "plain-site.org"
    assert article.source.id == "plain-site-org"
    assert article.url == "https://www.plain-site.org/a/b"
    assert article.language is None
    assert "Dana Doe" not in article.body_text
    assert "A Page With No Metadata" not in article.body_text
    assert "July 4, 2023" not in article.body_text


def test_zoneless_updated_text_never_beats_jsonld_date_modified() -> None:
    head = ld({"@type": "NewsArticle", "headline": "H", "dateModified": "2017-09-22T15:40:12-04:00"})
    body = f'<h1>H</h1><span class="updated">Updated: September 22, 2017 3:40 pm</span><p>{PROSE}</p><p>{PROSE}</p>'
    article = extract_article(page(head, body), URL)
    assert article.updated == datetime(2017, 9, 22, 19, 40, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("By A. Smith and Bob Jones", ["A. Smith", "Bob Jones"]),
        ("by Jane Doe, John Roe & Max Power", ["Jane Doe", "John Roe", "Max Power"]),
        ("BY JANE DOE | September 22, 2017", ["JANE DOE"]),
        ("By Sandy Andrews", ["Sandy Andrews"]),  # "and" inside a name is not a separator
        ("By Jane Doe Updated: Sept. 1, 2020", ["Jane Doe"]),
        ("", []),
    ],
)
def test_byline_splitting(byline: str, names: list[str]) -> None:
    assert split_byline(byline) == names


def test_by_a_and_b_in_jsonld_author_string_is_split() -> None:
    head = ld({"@type": "Article", "headline": "H", "author": "By Ann One and Bo Two"})
    assert [a.name for a in extract_article(page(head), URL).authors] == ["Ann One", "Bo Two"]


@pytest.mark.parametrize(
    ("title", "site", "expected"),
    [
        ("Coalition Begins | The Epoch Times", "The Epoch Times", "Coalition Begins"),
        ("Storm Hits Coast - Daily Planet", "Daily Planet", "Storm Hits Coast"),
        ("Daily Planet — Storm Hits Coast", "Daily Planet", "Storm Hits Coast"),
        ("Storm Hits Coast | Weather | Site", None, "Storm Hits Coast | Weather"),
        ("Well-Known Rock-Band Returns", "Daily Planet", "Well-Known Rock-Band Returns"),
    ],
)
def test_headline_without_site_suffix(title: str, site: str | None, expected: str) -> None:
    assert strip_site_suffix(title, site) == expected


def test_title_suffix_stripped_when_only_title_present() -> None:
    html = f"<html><head><title>Lonely Title | Tiny Blog</title></head><body><div><p>{PROSE}</p><p>{PROSE}</p></div></body></html>"
    assert extract_article(html, URL).headline == "Lonely Title"


def test_dates_are_utc_and_zoneless_text_is_a_last_resort() -> None:
    assert parse_date("2017-09-22T14:05:00-04:00") == datetime(2017, 9, 22, 18, 5, tzinfo=timezone.utc)
    assert parse_date("Updated: September 22, 2017 3:40 pm EDT") == datetime(2017, 9, 22, 19, 40, tzinfo=timezone.utc)
    assert parse_date("no date here") is None
    assert first_date("Updated: September 22, 2017 3:40 pm", "2017-09-22T15:40:12-04:00") == datetime(
        2017, 9, 22, 19, 40, 12, tzinfo=timezone.utc
    )


def test_configured_source_and_selectors_override_generic_rules() -> None:
    body = (
        '<h1>Generic H1</h1><div class="kicker">The Real Headline</div>'
        '<div class="who">Written by Fay Writer</div><span class="when">2022-02-02T02:02:02Z</span>'
        f'<div class="story"><p>{PROSE}</p></div><div class="other"><p>Not the story at all, just filler text here.</p></div>'
    )
    source = Source(
        id="partner-x", name="Partner X", attribution="Via {source_name}", allowed_domains=["example.com"],
        language="fr", rights=Rights(usage_terms="Republish with credit"),
        selectors=Selectors(body=".story", headline=".kicker", byline=".who", date=".when"),
    )
    html = f"<html><head></head><body>{body}</body></html>"
    article = extract_article(html, URL, source)
    assert article.headline == "The Real Headline"
    assert [a.name for a in article.authors] == ["Fay Writer"]
    assert article.published == datetime(2022, 2, 2, 2, 2, 2, tzinfo=timezone.utc)
    assert article.source.id == "partner-x" and article.attribution == "Via Partner X"
    assert article.language == "fr"
    assert article.rights == Rights(usage_terms="Republish with credit")
    assert "filler" not in article.body_text
    assert article.body_text.startswith("Sentence number 0")


def test_canonical_link_made_absolute_and_preferred_over_og_url() -> None:
    head = '<link rel="canonical" href="/canonical/path"><meta property="og:url" content="https://other.example/x">'
    assert extract_article(page(head), URL).url == "https://news.example.com/canonical/path"


def test_bylines_lose_roles_handles_and_affiliations_and_mark_organisations() -> None:
    from worker.extract.authors import ORGANIZATION, byline_authors, to_authors

    assert [(a.name, a.role) for a in byline_authors("By Meg James Staff Writer")] == [("Meg James", "Staff Writer")]
    assert [a.name for a in byline_authors("By Sarah E. Needleman and Bruce Y. Lee")] == [
        "Sarah E. Needleman", "Bruce Y. Lee"]
    assert [a.name for a in byline_authors("by Roger Gonzalez @rgonzalezcbs Nov 19, 2019 at 6:46 pm ET")] == [
        "Roger Gonzalez"]
    assert [(a.name, a.role) for a in byline_authors("By Troy L. Smith, Cleveland.com")] == [
        ("Troy L. Smith", "Cleveland.com")]
    assert [a.name for a in byline_authors("Tom Davies Associated Press")] == ["Tom Davies"]
    assert byline_authors("by jdadmin") == []
    assert [(a.name, a.role) for a in to_authors(["Reuters", "Telegraph Sport", "Jane Doe"])] == [
        ("Reuters", ORGANIZATION), ("Telegraph Sport", ORGANIZATION), ("Jane Doe", None)]


def test_published_keeps_the_pages_own_day_when_the_machine_date_is_utc() -> None:
    """23:03 in California is the next day in UTC; the visible dateline reveals the page's offset."""
    from worker.extract.document import parse
    from worker.extract.metadata import extract_metadata

    head = '<meta property="article:published_time" content="2019-11-19T07:03:25+00:00">'
    body = (f'<h1>H</h1><time datetime="2019-11-19T07:03:25+00:00">November 18, 2019 11:03 PM</time>'
            f"<p>{PROSE}</p>")
    meta = extract_metadata(parse(f"<html><head>{head}</head><body><article>{body}</article></body></html>"), URL)
    assert meta.published is not None and meta.published.date().isoformat() == "2019-11-18"
    assert meta.published == datetime(2019, 11, 19, 7, 3, 25, tzinfo=timezone.utc)


def test_the_url_date_is_a_fallback() -> None:
    from worker.extract.dates import url_date

    assert url_date("https://x.example/2017/09/22/story/") == datetime(2017, 9, 22, tzinfo=timezone.utc)
    assert url_date("https://x.example/statements/2019/nov/18/a/") == datetime(2019, 11, 18, tzinfo=timezone.utc)
    assert url_date("https://x.example/story-1471170") is None


def test_the_visible_h1_beats_a_differing_social_title_when_the_page_title_confirms_it() -> None:
    head = ('<title>Taylor Swift is allowed to play her music at the AMAs after all - BBC News</title>'
            '<meta property="og:title" content="Taylor Swift\'s AMA row seems to be over">')
    body = f"<h1>Taylor Swift is allowed to play her music at the AMAs after all</h1><p>{PROSE}</p><p>{PROSE}</p>"
    article = extract_article(f"<html><head>{head}</head><body><article>{body}</article></body></html>", URL)
    assert article.headline == "Taylor Swift is allowed to play her music at the AMAs after all"
