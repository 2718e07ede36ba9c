"""Republished pages: the original outlet is recognised and its attribution line leaves the body."""
from __future__ import annotations

import lxml.html

from worker.extract import extract_article
from worker.extract.document import parse
from worker.extract.republished import Original, attribution_name, drop_attribution, find_original

PARAGRAPH = "<p>" + "The council voted on Tuesday to approve the new budget for the coming year. " * 3 + "</p>"


def page(closing: str = "", canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f"<html><head><title>Budget approved</title>{link}</head><body><article><h1>Budget approved</h1>"
        f"{PARAGRAPH}{PARAGRAPH}{closing}</article></body></html>"
    )


def body(html: str) -> lxml.html.HtmlElement:
    return parse(html).find(".//article")


def test_from_the_epoch_times_is_recognised_and_removed_from_the_body() -> None:
    html = page("<p>From The Epoch Times</p>")
    assert find_original(body(html), "https://partner.example/budget", None) == Original(name="The Epoch Times")
    article = extract_article(html, "https://partner.example/budget")
    assert "Epoch Times" not in article.body_text
    assert "council voted" in article.body_text


def test_originally_published_by_the_conversation_is_recognised_and_removed() -> None:
    html = page("<p><em>Originally published by The Conversation.</em></p>")
    assert find_original(body(html), "https://partner.example/budget", None) == Original(name="The Conversation")
    wrapper = body(html)
    assert drop_attribution(wrapper) == "The Conversation"
    assert "Conversation" not in wrapper.text_content()
    assert "Conversation" not in extract_article(html, "https://partner.example/budget").body_text


def test_other_attribution_wordings() -> None:
    assert attribution_name("This article was originally published on Futurism.") == "Futurism"
    assert attribution_name("Republished with permission from The Daily Signal") == "The Daily Signal"
    assert attribution_name("This article is republished from The Conversation under a Creative Commons license.") == (
        "The Conversation"
    )


def test_a_canonical_on_another_host_gives_the_original_url() -> None:
    original = "https://www.nbcnews.com/news/latino/doctors-offer-flu-shots-n1085206"
    html = page(canonical=original)
    found = find_original(body(html), "https://www.msn.com/en-us/news/ar-BBWZedJ", original)
    assert found == Original(name=None, url=original)


def test_a_normal_page_has_no_original() -> None:
    html = page("<p>From Monday onwards, residents will pay less for parking.</p>",
                canonical="https://www.partner.example/budget")
    assert find_original(body(html), "https://partner.example/budget", "https://www.partner.example/budget") is None
    assert "From Monday onwards" in extract_article(html, "https://partner.example/budget").body_text


def test_the_sites_own_name_is_no_republication() -> None:
    html = page("<p>From The Epoch Times</p>")
    assert find_original(body(html), "https://www.theepochtimes.com/x", None, site_name="The Epoch Times") is None


def test_a_mention_in_the_middle_of_the_story_is_not_an_attribution() -> None:
    html = page() .replace(PARAGRAPH, "<p>From Reuters</p>" + PARAGRAPH, 1) + ""
    html = html.replace("</article>", PARAGRAPH * 5 + "</article>")
    assert find_original(body(html), "https://partner.example/budget", None) is None


def _republished_page(closing: str, canonical: str = "https://ntd.example/story.html") -> str:
    paragraphs = "".join(f"<p>Paragraph {i} of the story, long enough to count as article text for the extractor.</p>"
                         for i in range(8))
    return (
        "<html><head><title>Storm Hits Coast | NTD</title>"
        '<meta property="og:site_name" content="NTD">'
        f'<link rel="canonical" href="{canonical}"></head>'
        f"<body><article><h1>Storm Hits Coast</h1>{paragraphs}<p>{closing}</p></article></body></html>"
    )


def test_a_republished_page_credits_the_original_partner() -> None:
    from worker.config import Source
    from worker.extract import extract_article

    source = Source(id="ntd", name="NTD", allowed_domains=["ntd.example"])
    article = extract_article(_republished_page("From The Epoch Times"), "https://ntd.example/story.html", source)
    assert article.attribution == "From The Epoch Times"
    assert article.source.id == "ntd"
    assert "From The Epoch Times" not in article.body_text
    assert article.body_text.endswith("for the extractor.")


def test_a_canonical_on_another_host_changes_the_url_not_the_credit() -> None:
    from worker.extract import extract_article

    page = _republished_page("Paragraph 9 closes the story.", canonical="https://origin.example/story.html")
    article = extract_article(page, "https://ntd.example/story.html")
    assert article.url == "https://origin.example/story.html"
    assert article.attribution == "From NTD"
