"""A structured source's declared article is made canonical with the scraped page's rules: kept whole,
cleaned (allowlist, furniture, the repeated lead figure and byline), credited, and refused only when it
holds no article."""
from __future__ import annotations

import pytest

from worker.errors import ExtractionError
from worker.extract.declared import article_from_declared
from worker.schema.declared import DeclaredArticle

BODY = ("<p>The harbour board approved the budget on Tuesday after a long debate about the dredging.</p>"
        "<p>Work on the eastern quay begins in May, the board said, and will take two years.</p>")


def declared(**fields: object) -> DeclaredArticle:
    return DeclaredArticle.model_validate({"url": "https://partner.example/news/harbour", "headline": "Harbour budget",
                                           "body_html": BODY, **fields})


def test_the_body_is_kept_whole_and_cleaned_of_scripts_and_plugin_furniture() -> None:
    article = article_from_declared(declared(body_html=(
        "<p>By Ana Lima</p>" + BODY + "<script>steal()</script><div class='sharedaddy sd-sharing-enabled'>"
        "<h3>Share this:</h3><ul><li><a href='/share?fb'>Facebook</a></li><li><a href='/share?x'>X</a></li></ul></div>"
        "<p onclick='x()'>A third paragraph with a <a href='javascript:alert(1)'>bad link</a> in it.</p>"),
        authors=["Ana Lima"]))
    assert article.body_text.split("\n\n") == [
        "The harbour board approved the budget on Tuesday after a long debate about the dredging.",
        "Work on the eastern quay begins in May, the board said, and will take two years.",
        "A third paragraph with a bad link in it."]
    assert "script" not in article.body_html and "javascript:" not in article.body_html
    assert "onclick" not in article.body_html and [a.name for a in article.authors] == ["Ana Lima"]


def test_the_lead_image_figure_is_not_repeated_in_the_body_and_its_caption_is_text() -> None:
    article = article_from_declared(declared(
        body_html="<figure><img src='/img/quay.jpg'><figcaption>The quay</figcaption></figure>" + BODY,
        lead_image={"url": "https://partner.example/img/quay.jpg", "caption": "<p>The <em>quay</em></p>",
                    "credit": "Photo: Ben Ode"}))
    assert article.lead_image is not None
    assert (article.lead_image.caption, article.lead_image.credit) == ("The quay", "Photo: Ben Ode")
    assert "quay.jpg" not in article.body_html and "The quay" not in article.body_text


def test_html_in_headline_description_and_tags_becomes_text() -> None:
    article = article_from_declared(declared(headline="Harbour &amp; <b>budget</b>", description="<p>In short.</p>",
                                             tags=["<i>Ports</i>", " "], section="<span>Local</span>"))
    assert (article.headline, article.description, article.tags, article.section) == (
        "Harbour & budget", "In short.", ["Ports"], "Local")


def test_a_missing_headline_is_taken_from_the_bodys_first_heading() -> None:
    article = article_from_declared(declared(headline=None, body_html="<h2>Harbour budget passes</h2>" + BODY))
    assert article.headline == "Harbour budget passes"


def test_a_closing_from_line_credits_the_original_publisher() -> None:
    article = article_from_declared(declared(body_html=BODY + "<p>From The Epoch Times</p>"))
    assert article.attribution == "From The Epoch Times" and "Epoch" not in article.body_text


@pytest.mark.parametrize(("fields", "reason"), [
    ({"headline": None}, "no headline"),
    ({"body_html": "<div class='share'><a href='/x'>Share</a></div>"}, "body is empty"),
    ({"url": "javascript:alert(1)"}, "absolute http"),
])
def test_an_item_without_an_article_is_refused_by_name(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(ExtractionError, match=reason):
        article_from_declared(declared(**fields))


def test_an_image_with_a_script_url_costs_the_image_not_the_article() -> None:
    article = article_from_declared(declared(lead_image={"url": "javascript:alert(1)"}))
    assert article.lead_image is None and article.headline == "Harbour budget"
