"""Bylines: organisations stay whole, section and role words are not names, initials are not names,
Dublin Core's creator beats a decoy meta author, and a visible "By NAME" line is read when nothing else
names the writer."""
from __future__ import annotations

import json

import pytest

from tests.support.article_html import article_page, prose
from worker.extract.authors import ORGANIZATION, byline_authors
from worker.extract.document import parse
from worker.extract.metadata import extract_metadata

URL = "https://news.example.net/2020/01/02/story"
PROSE = prose("story")


def authors_of(head: str = "", before: str = "", after: str = "") -> list[str]:
    return extract_metadata(parse(article_page("A story", PROSE, head=head, before=before, after=after)), URL).authors


def names(byline: str) -> list[str]:
    return [a.name for a in byline_authors(byline)]


def test_an_organisation_with_a_comma_and_an_ampersand_is_one_author() -> None:
    found = byline_authors("ACLU Speech, Privacy & Technology Project")
    assert [(a.name, a.role) for a in found] == [("ACLU Speech, Privacy & Technology Project", ORGANIZATION)]
    assert names("By Jane Doe & John Roe") == ["Jane Doe", "John Roe"]


@pytest.mark.parametrize(
    ("byline", "expected"),
    [
        ("Tech Industry by Steven Musil", ["Steven Musil"]),  # the section in front of the byline
        ("Analysis by Chris Cillizza", ["Chris Cillizza"]),
        ("By Jane Roe, a deputy editor, and Max Doe; other outlets", ["Jane Roe", "Max Doe"]),
        ("Von Moritz Gathmann am", ["Moritz Gathmann"]),  # the date that follows sits in another element
        ("Isabella.DiBiase am Samstag, 12. Mai 2019", ["Isabella.DiBiase"]),
        ("Von Eurosport Publiziert 12.03.2020", ["Eurosport"]),
        ("Autor John Doe", ["John Doe"]),
        ("Nicolas Gutierrez C.", ["Nicolas Gutierrez C."]),  # the dot of an initial stays
        ("Alexa von Heyden", ["Alexa von Heyden"]),  # "von" inside a name is not a byline prefix
        ("The Associated Press", ["The Associated Press"]),
    ],
)
def test_section_role_and_date_words_are_not_part_of_names(byline: str, expected: list[str]) -> None:
    assert names(byline) == expected


def test_initials_and_placeholders_are_not_names() -> None:
    assert names("J J") == []
    assert names("ln") == []
    assert names("By J J and Ann Lee") == ["Ann Lee"]
    assert names("No Author") == []
    assert names("Copyright Example Media GmbH - all rights reserved") == []
    assert names("RT") == ["RT"]  # an outlet's own two-capital abbreviation is its name


def test_dublin_core_creator_beats_a_decoy_meta_author() -> None:
    head = '<meta name="author" content="Webredaktion Portal"><meta name="DC.creator" content="Lena Vogt">'
    assert authors_of(head) == ["Lena Vogt"]


def test_jsonld_author_beats_a_meta_author() -> None:
    ld = {"@type": "NewsArticle", "headline": "A story", "author": {"@type": "Person", "name": "Omar Haddad"}}
    head = f'<meta name="author" content="Site Admin Team"><script type="application/ld+json">{json.dumps(ld)}</script>'
    assert authors_of(head) == ["Omar Haddad"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("<p><i>von Daniela Obers</i></p>", ["Daniela Obers"]),
        ('<div class="postdata">Posted by Konstantin 21.10.2019</div>', ["Konstantin"]),
        ('<h4>By Giovanni Gaggero | 12/10/2020</h4>', ["Giovanni Gaggero"]),
        ('<div class="dates_auteurs"><span>par Didier Roy</span>, 21 juin 2018</div>', ["Didier Roy"]),
    ],
)
def test_a_visible_by_line_names_the_writer_when_nothing_else_does(line: str, expected: list[str]) -> None:
    assert authors_of(before=line) == expected


def test_by_lines_of_comments_captions_and_other_stories_are_not_the_writer() -> None:
    comments = '<div class="comments"><p>By Random Reader</p></div>'
    caption = '<figure><img src="/a.jpg"><figcaption>By Pat Photographer</figcaption></figure>'
    rail = '<div class="related"><p>By Other Writer</p></div>'
    assert authors_of(before=caption, after=comments + rail) == []
    assert authors_of(before="<p>By the way, this is not a byline.</p>") == []


def test_a_by_line_does_not_override_declared_authors() -> None:
    ld = {"@type": "NewsArticle", "headline": "A story", "author": {"@type": "Person", "name": "Alex Durán"}}
    head = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
    assert authors_of(head, after="<p>Posted by Alex Durán, AMP Project Marketing, Google</p>") == ["Alex Durán"]


def test_the_newsroom_shorthand_and_the_sites_own_name_are_not_authors() -> None:
    assert names("red") == [] and names("red.") == []
    head = ('<meta property="og:site_name" content="unocero">'
            '<meta name="author" content="unocero - Alberto Ávila">')
    assert authors_of(head) == ["Alberto Ávila"]


def test_a_photo_credit_marked_as_author_is_not_the_writer() -> None:
    photo = ('<div class="article-photo"><img src="/p.jpg"><div class="photo-text">'
             '<span class="author">Foto von Anna Bild</span></div></div>')
    assert authors_of(before=photo) == []
    assert authors_of(before=photo + '<p class="byline">By Ben Writer</p>') == ["Ben Writer"]
