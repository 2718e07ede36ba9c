"""Lead image: caption and credit kept apart whatever way the page mixes them."""
from __future__ import annotations

import pytest

from worker.extract import extract_article
from worker.extract.image import split_credit

URL = "https://news.example.com/2024/story"
PROSE = " ".join(f"Paragraph sentence {i} describes the scene at length for the readers of this story." for i in range(6))


def page_with_figure(figure: str, head: str = "") -> str:
    return (
        f"<html><head>{head}</head><body><article><h1>Lead Image Story</h1>{figure}"
        f"<p>{PROSE}</p><p>{PROSE}</p></article></body></html>"
    )


@pytest.mark.parametrize(
    ("caption", "expected_caption", "expected_credit"),
    [
        ("Troops advance. (Army photo by Sgt. X)", "Troops advance.", "Army photo by Sgt. X"),
        ("A crowd gathers (Getty Images)", "A crowd gathers", "Getty Images"),
        ("A crowd gathers. Photo: Jane Doe/Reuters", "A crowd gathers.", "Jane Doe/Reuters"),
        ("A crowd gathers. [AP Photo/John Smith]", "A crowd gathers.", "AP Photo/John Smith"),
        ("The mayor speaks in Paris (France).", "The mayor speaks in Paris (France).", None),
        ("Credit: Some Agency", None, "Some Agency"),
        ("", None, None),
    ],
)
def test_split_credit_variations(caption: str, expected_caption: str | None, expected_credit: str | None) -> None:
    assert split_credit(caption) == (expected_caption, expected_credit)


def test_credit_element_inside_figcaption() -> None:
    figure = (
        '<figure class="wp-block-image"><img src="/img/lead.jpg" width="800" height="533" alt="Alt text">'
        '<figcaption>The harbour at dawn. <span class="photo-credit">Photo: Lee Lens</span></figcaption></figure>'
    )
    article = extract_article(page_with_figure(figure), URL)
    image = article.lead_image
    assert image is not None
    assert image.url == "https://news.example.com/img/lead.jpg"
    assert image.caption == "The harbour at dawn."
    assert image.credit == "Lee Lens"
    assert (image.width, image.height, image.alt) == (800, 533, "Alt text")
    assert "The harbour at dawn" not in article.body_text
    assert "lead.jpg" not in article.body_html


def test_copyright_element_outside_the_caption() -> None:
    figure = (
        '<figure><img src="https://cdn.example.com/a.jpg"><figcaption>Caption only</figcaption>'
        '<small class="copyright">© Agency 2024</small></figure>'
    )
    image = extract_article(page_with_figure(figure), URL).lead_image
    assert image is not None
    assert (image.caption, image.credit) == ("Caption only", "© Agency 2024")


def test_trailing_parenthesised_credit_in_plain_figcaption() -> None:
    figure = '<figure><img src="a.jpg"><figcaption>Fans cheer. (Getty Images)</figcaption></figure>'
    image = extract_article(page_with_figure(figure), URL).lead_image
    assert image is not None
    assert image.url == "https://news.example.com/2024/a.jpg"
    assert (image.caption, image.credit) == ("Fans cheer.", "Getty Images")


def test_falls_back_to_og_image_then_jsonld() -> None:
    """og:image is the picture the publisher chose to represent the article (JSON-LD image is often an
    author avatar or a site logo in a Yoast graph); JSON-LD still lends its caption and credit."""
    jsonld = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Lead Image Story", '
        '"image": {"@type": "ImageObject", "url": "https://cdn.example.com/ld.jpg", "width": 1600, "height": 900, '
        '"caption": "Declared caption", "creditText": "Declared Credit"}}</script>'
    )
    og = ('<meta property="og:image" content="https://cdn.example.com/og.jpg">'
          '<meta property="og:image:width" content="1200"><meta property="og:image:height" content="630">')
    image = extract_article(page_with_figure("", jsonld + og), URL).lead_image
    assert image is not None
    assert (image.url, image.width, image.height) == ("https://cdn.example.com/og.jpg", 1200, 630)
    assert (image.caption, image.credit) == ("Declared caption", "Declared Credit")
    ld_only = extract_article(page_with_figure("", jsonld), URL).lead_image
    assert ld_only is not None and (ld_only.url, ld_only.width) == ("https://cdn.example.com/ld.jpg", 1600)


def test_a_declared_site_logo_is_not_the_lead_image() -> None:
    og = '<meta property="og:image" content="https://s.example.com/blavatar/abc?s=200">'
    assert extract_article(page_with_figure("", og), URL).lead_image is None


def test_the_declared_rendition_wins_over_the_figures_small_one() -> None:
    og = '<meta property="og:image" content="https://cdn.example.com/photo-1200x630.jpg">'
    figure = ('<figure><img src="https://cdn.example.com/photo-320.jpg" alt="A harbour">'
              '<figcaption>The harbour at dawn. (Photo: Jane Doe)</figcaption></figure>')
    image = extract_article(page_with_figure(figure, og), URL).lead_image
    assert image is not None
    assert (image.url, image.caption, image.credit, image.alt) == (
        "https://cdn.example.com/photo-1200x630.jpg", "The harbour at dawn.", "Jane Doe", "A harbour")


def test_inline_figure_after_the_text_starts_is_not_the_lead_image() -> None:
    html = (
        f"<html><body><article><h1>Lead Image Story</h1><p>{PROSE}</p>"
        '<figure><img src="/inline.jpg"><figcaption>Inline chart</figcaption></figure>'
        f"<p>{PROSE}</p></article></body></html>"
    )
    article = extract_article(html, URL)
    assert article.lead_image is None


def test_lazy_loaded_image_uses_real_source() -> None:
    figure = '<figure><img src="data:image/gif;base64,R0lGOD" data-src="/real.jpg"><figcaption>Lazy</figcaption></figure>'
    image = extract_article(page_with_figure(figure), URL).lead_image
    assert image is not None and image.url == "https://news.example.com/real.jpg"
