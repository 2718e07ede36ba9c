"""A word in a class marks furniture only on furniture-shaped elements (issue 12, cause 1).

Each page is minimal and of a kind seen on many sites, not copied from one: a container whose name
happens to contain a furniture word ("sharing-", "with-navigation", WordPress' post classes) but
holds the article; a furniture word on an inline element inside a sentence; an unclosed <nav> that
swallows the page. Each test fails if the name alone is trusted again. The counter-tests show the
same words still remove real furniture (short, link-dense, or a run of like items).
"""
from __future__ import annotations

import lxml.html
import pytest

from worker.extract import extract_article
from worker.extract.boilerplate import remove_boilerplate
from worker.extract.postfilter import filter_blocks

URL = "https://news.example.org/2024/05/a-story.html"


def _paragraphs(label: str, count: int) -> str:
    return "".join(
        f"<p>{label} paragraph {i} tells the reader one more specific fact about the council vote and what "
        f"it means for the people who live on the east side of the river this year.</p>"
        for i in range(count)
    )


def _page(body: str) -> str:
    return f"<html><head><title>Council votes on the bridge</title></head><body>{body}</body></html>"


def _body_text(html: str) -> str:
    return extract_article(html, URL).body_text


def test_a_container_named_sharing_that_holds_half_the_article_stays() -> None:
    page = _page(
        "<h1>Council votes on the bridge</h1><article>"
        f"<div class='intro'>{_paragraphs('First-half', 4)}</div>"
        f"<div id='sharing-module-7' class='sharing-wrapper'>{_paragraphs('Second-half', 4)}</div>"
        "</article><footer><a href='/a'>About</a> <a href='/c'>Contact</a></footer>"
    )
    text = _body_text(page)
    assert "First-half paragraph 3" in text
    assert "Second-half paragraph 0" in text and "Second-half paragraph 3" in text


def test_an_inline_popup_link_inside_a_sentence_keeps_its_words() -> None:
    root = lxml.html.fromstring(
        "<div><p>The mayor said the plan was <a class='popup' href='/g'>a costly mistake</a> and asked for a "
        "new vote before the summer recess, which the council refused.</p>" + _paragraphs("Other", 3) + "</div>"
    )
    remove_boilerplate(root, link_boxes=True)
    assert "the plan was a costly mistake and asked" in " ".join(root.text_content().split())


@pytest.mark.parametrize("classes", [
    "post type-post status-publish enable-pin-share category-no-newsletter-rss",
    "entry has-sidebar-widget popup-enabled",
])
def test_post_classes_with_furniture_words_on_the_article_element_do_not_remove_it(classes: str) -> None:
    page = _page(
        f"<h1>Council votes on the bridge</h1><article class='{classes}'>{_paragraphs('Body', 6)}</article>"
        "<aside class='sidebar'><a href='/1'>Most read story one</a><a href='/2'>Most read story two</a></aside>"
    )
    text = _body_text(page)
    assert "Body paragraph 0" in text and "Body paragraph 5" in text


def test_main_with_navigation_holding_the_article_stays() -> None:
    root = lxml.html.fromstring(
        "<div><div class='menu'><a href='/'>Home</a> <a href='/n'>News</a></div>"
        f"<div id='main' class='with-navigation'>{_paragraphs('Main', 5)}</div>"
        "<div class='share'><a href='/fb'>Facebook</a> <a href='/tw'>Twitter</a></div></div>"
    )
    remove_boilerplate(root, link_boxes=True)
    text = root.text_content()
    assert "Main paragraph 0" in text and "Main paragraph 4" in text
    assert "Facebook" not in text  # the real share bar, short and all links, still goes


def test_an_unclosed_nav_that_swallows_the_page_does_not_take_the_article_with_it() -> None:
    # the <nav> is never closed: the parser makes the rest of the page its content
    page = (
        "<html><head><title>Council votes on the bridge</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a>"
        f"<h1>Council votes on the bridge</h1><div class='story'>{_paragraphs('Swallowed', 5)}</div>"
        "</body></html>"
    )
    assert "Swallowed paragraph 4" in lxml.html.fromstring(page).find(".//nav").text_content()
    text = _body_text(page)
    assert "Swallowed paragraph 0" in text and "Swallowed paragraph 4" in text


def test_furniture_words_still_remove_furniture_shaped_elements() -> None:
    related = "".join(
        f"<li class='related-item'><a href='/r{i}'>Another story number {i} about something else</a> "
        f"with a summary line that reads like a sentence of prose.</li>" for i in range(4)
    )
    root = lxml.html.fromstring(
        f"<div>{_paragraphs('Kept', 5)}<ul class='related-posts'>{related}</ul>"
        "<div class='author-box'><p>Jo Writer covers the city council and has written for the paper "
        "since 2009.</p></div></div>"
    )
    remove_boilerplate(root, link_boxes=False)
    text = root.text_content()
    assert "Kept paragraph 4" in text
    assert "Another story number" not in text  # a run of like items named "related"
    assert "covers the city council" not in text  # a short box named "author"


def test_a_container_holding_most_of_the_text_stays_whatever_its_name() -> None:
    root = lxml.html.fromstring(
        f"<div><div class='social-share-enabled post'>{_paragraphs('Most', 8)}</div>{_paragraphs('Rest', 1)}</div>"
    )
    remove_boilerplate(root, link_boxes=True)
    assert "Most paragraph 7" in root.text_content()


def test_elements_the_page_hides_from_readers_are_not_extracted() -> None:
    page = _page(
        f"<h1>Council votes on the bridge</h1><article>{_paragraphs('Visible', 4)}"
        "<div style='display: none'><p>A copy of the text for scripts, hidden from every reader of the "
        "page, that says something the article does not.</p></div></article>"
    )
    text = _body_text(page)
    assert "Visible paragraph 3" in text
    assert "hidden from every reader" not in text


def test_a_heading_with_nothing_under_it_is_a_box_label_and_goes() -> None:
    wrapper = lxml.html.fromstring(
        "<div><h2>What the vote means</h2><p>The bridge will close for two years while it is rebuilt.</p>"
        "<h2>Background</h2><h3>The first plan</h3><p>An earlier plan was dropped in 2019.</p>"
        "<h2>More on this story</h2></div>"
    )
    filter_blocks(wrapper)
    headings = [h.text_content() for h in wrapper.iter("h2", "h3")]
    assert headings == ["What the vote means", "Background", "The first plan"]


def test_a_noscript_holding_the_article_is_what_a_reader_without_scripts_sees() -> None:
    # a script-built page's fallback copy; the fetcher runs no scripts, so this is the page
    page = _page(f"<h1>Council votes on the bridge</h1><div id='app'></div><noscript><article>"
                 f"{_paragraphs('Fallback', 4)}</article></noscript><noscript><img src='/pixel.gif'></noscript>")
    text = _body_text(page)
    assert "Fallback paragraph 0" in text and "Fallback paragraph 3" in text


def test_a_layout_region_holding_most_of_the_text_stays_even_without_long_lines() -> None:
    # a blog post of short lines (code, verse, a list written with <br>) in a "widget Blog" wrapper
    lines = "<br>".join(f"(defun step-{i} () (message \"step {i} of the walk\"))" for i in range(30))
    root = lxml.html.fromstring(f"<div><div class='widget Blog' id='Blog1'><div class='post-body'>{lines}"
                                "</div></div><div class='widget Profile'><a href='/p'>View my profile</a></div></div>")
    remove_boilerplate(root, link_boxes=True)
    text = root.text_content()
    assert "step-29" in text
    assert "View my profile" not in text


def test_a_comment_list_with_alternating_classes_is_a_run_of_like_items() -> None:
    comments = "".join(
        f"<li class='comment {'even' if i % 2 else 'odd'} depth-1'><p>Reader {i} thinks the council got this "
        f"one badly wrong and says so at some length, with a long argument about bridges and budgets, "
        f"traffic and taxes, and what the last council did about all of it.</p></li>" for i in range(4)
    )
    root = lxml.html.fromstring(f"<div>{_paragraphs('Story', 6)}<ol class='comment-list'>{comments}</ol></div>")
    remove_boilerplate(root, link_boxes=True)
    text = root.text_content()
    assert "Story paragraph 5" in text
    assert "Reader 3 thinks" not in text
