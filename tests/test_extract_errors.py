"""Input handling: bytes in any declared charset, and a named ExtractionError when there is no article."""
from __future__ import annotations

import pytest

from worker.errors import ExtractionError, PermanentError
from worker.extract import extract_article
from worker.http.decode import sniff_encoding as detect_encoding

URL = "https://news.example.com/a"
PROSE = " ".join(f"Le texte numéro {i} raconte l’histoire complète aux lecteurs de ce journal français." for i in range(6))


def test_bytes_with_non_utf8_meta_charset() -> None:
    html = (
        '<html lang="fr"><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<title>Café crème – à Paris</title></head><body><article><h1>Café crème – à Paris</h1>"
        f"<p>{PROSE}</p><p>{PROSE} “Déjà vu”.</p></article></body></html>"
    )
    raw = html.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the test is only meaningful if utf-8 would get it wrong
    article = extract_article(raw, URL)
    assert article.headline == "Café crème – à Paris"
    assert "“Déjà vu”" in article.body_text
    assert "l’histoire" in article.body_html
    assert article.language == "fr"


def test_iso_8859_1_label_is_read_as_windows_1252() -> None:
    raw = '<meta charset="iso-8859-1"><p>“quoted”</p>'.encode("cp1252")
    assert detect_encoding(raw) == "cp1252"


def test_bom_wins_and_default_is_utf8() -> None:
    assert detect_encoding(b"\xef\xbb\xbf<html><meta charset='latin-1'>") == "utf-8"
    assert detect_encoding(b"<html><p>no declaration</p></html>") == "utf-8"
    assert detect_encoding(b"<meta charset='no-such-codec'>") == "utf-8"


def test_utf8_bytes_with_bom_and_xml_declaration() -> None:
    html = f'<?xml version="1.0" encoding="utf-8"?><html><head><title>Ünïcode</title></head><body><div><p>{PROSE}</p><p>{PROSE}</p></div></body></html>'
    article = extract_article(b"\xef\xbb\xbf" + html.encode("utf-8"), URL)
    assert article.headline == "Ünïcode"


@pytest.mark.parametrize("html", ["", "   ", b""])
def test_empty_page_raises(html: str | bytes) -> None:
    with pytest.raises(ExtractionError, match="empty"):
        extract_article(html, URL)


def test_page_without_headline_raises() -> None:
    # a page with text has a headline (its first line, at worst: tests/test_extract_headline.py); one
    # with no text at all has none
    with pytest.raises(ExtractionError, match="no headline"):
        extract_article("<html><body><div><img src='/a.jpg'></div></body></html>", URL)


def test_page_without_body_raises_a_permanent_error() -> None:
    html = "<html><head><title>Only A Title</title></head><body><nav><a href='/x'>Home</a></nav></body></html>"
    with pytest.raises(ExtractionError) as info:
        extract_article(html, URL)
    assert isinstance(info.value, PermanentError)
    assert "body" in info.value.reason


def test_body_of_only_boilerplate_raises() -> None:
    html = (
        "<html><head><title>Just Furniture</title></head><body><h1>Just Furniture</h1>"
        '<div class="share-bar"><a href="/fb">Share on Facebook</a></div>'
        '<div class="newsletter-signup"><p>Sign up for our newsletter today.</p></div></body></html>'
    )
    with pytest.raises(ExtractionError):
        extract_article(html, URL)


def test_windows_1251_without_any_charset_label_is_detected() -> None:
    html = ("<html><head><title>Новости дня</title></head><body><article><h1>Новости дня</h1>"
            + "".join(f"<p>Это предложение номер {i} рассказывает читателю о важных событиях в городе.</p>"
                      for i in range(8))
            + "</article></body></html>")
    raw = html.encode("cp1251")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    article = extract_article(raw, URL)
    assert article.headline == "Новости дня"
    assert article.body_text.startswith("Это предложение номер 0")


def test_page_without_article_says_so() -> None:
    html = "<html><head><title>Section Front</title></head><body><h1>Section Front</h1><ul><li><a href='/a'>A</a></li></ul></body></html>"
    with pytest.raises(ExtractionError, match="no article found"):
        extract_article(html, URL)


def test_deeply_nested_page_does_not_crash() -> None:
    html = ("<html><head><title>Deep</title></head><body>" + "<div>" * 3000
            + f"<p>{PROSE}</p><p>{PROSE}</p>" + "</div>" * 3000 + "</body></html>")
    try:
        article = extract_article(html, URL)
    except ExtractionError as error:  # the parser's depth limit may cut the text off: a named failure
        assert "no article found" in str(error)
    else:
        assert "Le texte numéro 0" in article.body_text


def test_huge_page_is_extracted() -> None:
    paragraphs = "".join(f"<p>Paragraph {i}. {PROSE}</p>" for i in range(3000))  # about 1.5 MB
    html = f"<html><head><title>Long Read</title></head><body><article><h1>Long Read</h1>{paragraphs}</article></body></html>"
    article = extract_article(html.encode("utf-8"), URL)
    assert article.body_text.startswith("Paragraph 0.")
    assert "Paragraph 2999." in article.body_text


@pytest.mark.parametrize("url", ["hard::page.html", "/relative/a", "javascript:alert(1)", "ftp://news.example.com/a", ""])
def test_a_page_url_that_is_not_absolute_http_is_a_named_extraction_error(url: str) -> None:
    # the caller's mistake (a file imported with a bad --url, a corpus key): named, never a schema
    # ValidationError from deep inside, which a task would not know how to record
    html = f"<html><head><title>A Title</title></head><body><article><p>{PROSE}</p></article></body></html>"
    with pytest.raises(ExtractionError, match="absolute http"):
        extract_article(html, url)
