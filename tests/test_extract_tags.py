"""Tags: the list the page shows (a class that says tags, a "Tags:" label, rel="tag" links), else the
declared article:tag, JSON-LD keywords or news_keywords; never the site's tag cloud, menu or teaser cards,
never the site-wide <meta name="keywords">."""
from __future__ import annotations

import json

from tests.support.article_html import article_page, prose
from worker.extract.document import parse
from worker.extract.metadata import extract_metadata

URL = "https://blog.example.org/2021/05/04/a-post/"
PROSE = prose("post")


def tags_of(head: str = "", article_extra: str = "", page_extra: str = "") -> list[str]:
    return extract_metadata(parse(article_page("A post", PROSE, head=head, after=article_extra, outside=page_extra)),
                            URL).tags


def test_a_tag_list_named_by_its_class() -> None:
    tags = '<div class="post-tags">Tags: <a href="/t/isis">ISIS</a> <a href="/t/iraq">Iraq</a> <a href="/t/syria">Syria</a></div>'
    assert tags_of(article_extra=tags) == ["ISIS", "Iraq", "Syria"]


def test_a_list_after_a_label_without_any_class() -> None:
    tags = '<div><span>Schlagworte:</span><ul><li><a href="/a">Bahn</a></li><li><a href="/b">Deutschland</a></li></ul></div>'
    assert tags_of(article_extra=tags) == ["Bahn", "Deutschland"]


def test_rel_tag_links_without_the_category_link() -> None:
    meta_line = ('<p>Posted on <a href="/2021/05/04/">May 4, 2021</a> in <a rel="category tag" href="/c/news">News</a>'
                 ' · <a rel="tag" href="/tag/python">Python</a>, <a rel="tag" href="/tag/hacks">Hacks</a>'
                 ' · <a href="#comments">3 comments</a></p>')
    assert tags_of(article_extra=meta_line) == ["Python", "Hacks"]


def test_visible_tags_win_over_declared_ones_and_hashes_are_dropped() -> None:
    head = '<meta name="news_keywords" content="tattoo, covid, sweden, epidemiologist">'
    tags = '<div class="tags-block"><a href="/t/tattoo">#tattoo</a> <a href="/t/covid-19">#Covid-19</a></div>'
    assert tags_of(head, article_extra=tags) == ["tattoo", "Covid-19"]


def test_tag_clouds_menus_and_teaser_cards_are_not_the_articles_tags() -> None:
    cloud = ('<aside class="widget widget_tag_cloud"><div class="tagcloud">'
             + "".join(f'<a href="/t/{w}">{w}</a>' for w in ("Brexit", "Corona", "EU", "Putin", "Trump")) + "</div></aside>")
    menu = '<ul class="tags-menu">' + "".join(f'<li><a href="/t/{w}">{w}</a></li>' for w in ("Apps", "Games", "Auto")) + "</ul>"
    cards = "".join(f'<div class="teaser"><h3><a href="/s{i}">Another story {i}</a></h3>'
                    f'<span class="tag"><a href="/t/x{i}">Topic {i}</a></span></div>' for i in range(4))
    own = '<div class="entry-tags"><a href="/t/fpo">FPÖ</a></div>'
    assert tags_of(page_extra=menu, article_extra=own + cards + cloud) == ["FPÖ"]
    assert tags_of(page_extra=menu, article_extra=cards + cloud) == []


def test_links_in_the_article_text_are_not_tags() -> None:
    text = '<p>Yesterday <a class="auto-tag" href="/t/jane">Jane Doe</a> said the long sentence went on and on.</p>'
    assert tags_of(article_extra=text) == []


def test_declared_tags_when_the_page_shows_none() -> None:
    article_tags = '<meta property="article:tag" content="markets"><meta property="article:tag" content="Rates">'
    assert tags_of(article_tags) == ["markets", "Rates"]
    keywords = f'<script type="application/ld+json">{json.dumps({"@type": "NewsArticle", "headline": "A post", "keywords": ["vote", "Vote", "parliament"]})}</script>'
    assert tags_of(keywords) == ["vote", "parliament"]
    assert tags_of('<meta name="news_keywords" content="storm, coast">') == ["storm", "coast"]


def test_the_site_wide_meta_keywords_are_not_tags() -> None:
    assert tags_of('<meta name="keywords" content="news, blog, japan, best site">') == []


def test_a_keyword_box_beside_the_article_and_a_list_of_tag_links() -> None:
    box = ('<aside class="suggested"><section class="mots-cles"><h3>Mots clés</h3>'
           '<a href="/motcle/a">Valérie Plante</a>, <a href="/motcle/b">trottinette</a></section></aside>')
    html = f"<html><body><article><h1>A post</h1>{PROSE}</article>{box}</body></html>"
    assert extract_metadata(parse(html), URL).tags == ["Valérie Plante", "trottinette"]
    links = "".join(f'<li><a class="article-tag" href="/t/{w}">{w}</a></li>' for w in ("Sejm", "Senat", "Premier"))
    assert tags_of(article_extra=f'<ul class="popular-subjects">{links}</ul>') == ["Sejm", "Senat", "Premier"]
    more = '<div class="tags"><a href="/t/cup">Davis Cup</a> <a href="#">Show more</a></div>'
    assert tags_of(article_extra=more) == ["Davis Cup"]
