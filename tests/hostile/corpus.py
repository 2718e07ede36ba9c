"""Seeds, mutations and safety checks shared by the property tests and the long fuzz run.

Seeds are real documents: partner article pages (tests/fixtures/bench_pages: real news pages from the
extraction benchmark; tests/fixtures/partners), and the feeds, sitemaps and listing pages of
tests/fixtures/discovery. A mutation is a short list of edits (flip a byte, insert a hostile token, cut,
duplicate or delete a slice), so a failure shrinks to one seed and a few edits.

`run_*` are the targets: each feeds bytes to one parser and returns normally when the parser either
produced a result that passes the safety checks or refused with a named error (a
worker.errors.SyndicationError). Any other exception propagates: that is a crash.
"""
from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
from hypothesis import strategies as st

from worker.errors import SyndicationError
from worker.extract.clean import ALLOWED_ATTRIBUTES, ALLOWED_TAGS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REGRESSIONS = Path(__file__).resolve().parent / "regressions"
PAGE_URL = "https://partner.test/news/2024/story.html"
FEED_URL = "https://partner.test/feed.xml"

#: tokens an attacker (or a broken CMS) puts in documents: markup that must not execute, encodings that
#: must not crash a decoder, XML tricks that must be refused
HOSTILE_TOKENS: tuple[bytes, ...] = (
    b"<script>alert(1)</script>", b"<style>*{x:expression(alert(1))}</style>", b"<iframe src=//evil.test>",
    b" onerror=alert(1) ", b'<img src=x onerror="alert(1)">', b'<a href="javascript:alert(1)">x</a>',
    b'<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>', b'<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    b"<svg><script>alert(1)</script></svg>", b"<math><mi xlink:href=javascript:alert(1)>", b"<base href=javascript:/>",
    b"<object data=x.swf>", b"<embed src=x>", b"<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    b"<template><script>alert(1)</script></template>", b"<form action=javascript:alert(1)><button>",
    b"\x00", b"\x00\x00\x00\x00", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80",
    b"\x80\x81\x82", b"\x1b\x07\x0b\x0c\x01", b"&#0;", b"&#x110000;", b"&#xD800;", b"&#9999999999;", b"&amp", b"&;",
    b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?xml version='1.0' encoding='utf-16'?>", b"<?xml version='1.0' encoding='x-bogus'?>",
    b'<meta charset="utf-16">', b'<meta charset="bogus-charset">', b'<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>', b"&a;&b;",
    b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"&xxe;",
    b"<div>" * 64, b"</div>" * 64, b"<p>" * 32, b"<table><tr><td>" * 16, b"</", b"<", b">", b'"', b"'", b"=",
    b"<item>", b"</item>", b"<entry>", b"<url><loc>", b"</loc></url>", b"<loc>javascript:alert(1)</loc>",
    b"<link>http://[::1</link>", b"<link>http://%zz/</link>", b"<loc>http://a.test:99999/</loc>",
    b"<pubDate>Mon, 99 Foo 99999 99:99:99 +9999</pubDate>", b"<lastmod>0000-00-00T25:61:61+99:99</lastmod>",
    b'<script type="application/ld+json">{"@type":"NewsArticle","headline":{"x":[1]},"image":"javascript:alert(1)",'
    b'"author":[null,1,{"name":{}}],"datePublished":"99999-99-99"}</script>',
    b'<meta property="og:image" content="javascript:alert(1)">', b'<meta property="og:image" content="//[::1">',
    b'<link rel="canonical" href="http://[::1">', b'<link rel="canonical" href="javascript:alert(1)">',
    b"<time datetime='-999999-01-01'>", b"\xe2\x80\xae", b"\xf0\x9f\x92\xa9" * 8,
)


# --- seeds -------------------------------------------------------------------------------------------------

@cache
def page_seeds(max_bytes: int = 120_000) -> tuple[bytes, ...]:
    """Real article pages, the smaller ones (under max_bytes) so that one input stays quick to extract."""
    pages = [gzip.decompress(p.read_bytes()) for p in sorted((FIXTURES / "bench_pages").glob("*.html.gz"))]
    pages += [p.read_bytes() for p in sorted((FIXTURES / "partners").rglob("*.html"))]
    small = [p for p in pages if len(p) <= max_bytes]
    return tuple(sorted(small, key=len))


@cache
def feed_seeds() -> tuple[bytes, ...]:
    names = ("atom.xml", "epochtimes_feed.xml", "rss091.xml", "rss1_rdf.xml", "rss2_content.xml")
    return tuple((FIXTURES / "discovery" / n).read_bytes() for n in names)


@cache
def sitemap_seeds() -> tuple[bytes, ...]:
    names = ("news_sitemap.xml", "sitemap_index.xml", "urlset.xml", "urlset.xml.gz")
    return tuple((FIXTURES / "discovery" / n).read_bytes() for n in names)


@cache
def listing_seeds() -> tuple[bytes, ...]:
    return tuple((FIXTURES / "discovery" / n).read_bytes() for n in ("listing_page1.html", "listing_page2.html"))


# --- mutations ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Edit:
    """One change to a document; `at` and `to` are fractions of its length so an edit fits any seed."""

    kind: str  # flip | insert | delete | duplicate | truncate
    at: float
    to: float = 0.0
    token: bytes = b""
    byte: int = 0


def apply_edits(data: bytes, edits: list[Edit]) -> bytes:
    for edit in edits:
        n = len(data)
        i = min(int(edit.at * n), n)
        j = min(i + int(edit.to * n) + 1, n)
        if edit.kind == "flip" and n:
            i = min(i, n - 1)
            data = data[:i] + bytes([edit.byte]) + data[i + 1:]
        elif edit.kind == "insert":
            data = data[:i] + edit.token + data[i:]
        elif edit.kind == "delete":
            data = data[:i] + data[j:]
        elif edit.kind == "duplicate":
            chunk = data[i:min(j, i + 65_536)]  # bounded, so a mutant stays a realistic size
            data = data[:j] + chunk + data[j:]
        elif edit.kind == "truncate":
            data = data[:i]
    return data


_fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
edits_strategy = st.lists(
    st.one_of(
        st.builds(Edit, kind=st.just("insert"), at=_fraction,
                  token=st.one_of(st.sampled_from(HOSTILE_TOKENS), st.binary(min_size=1, max_size=16))),
        st.builds(Edit, kind=st.just("flip"), at=_fraction, byte=st.integers(0, 255)),
        st.builds(Edit, kind=st.sampled_from(["delete", "duplicate"]), at=_fraction,
                  to=st.floats(min_value=0.0, max_value=0.2, allow_nan=False)),
        st.builds(Edit, kind=st.just("truncate"), at=_fraction),
    ),
    min_size=1, max_size=8,
)


def random_edits(rng: random.Random) -> list[Edit]:
    """The same kinds of edits as edits_strategy, drawn from a plain Random (the long fuzz run)."""
    edits = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.choices(["insert", "flip", "delete", "duplicate", "truncate"], weights=[5, 3, 2, 2, 1])[0]
        if kind == "insert":
            token = rng.choice(HOSTILE_TOKENS) if rng.random() < 0.8 else rng.randbytes(rng.randint(1, 16))
            edits.append(Edit("insert", rng.random(), token=token))
        elif kind == "flip":
            edits.append(Edit("flip", rng.random(), byte=rng.randrange(256)))
        elif kind in ("delete", "duplicate"):
            edits.append(Edit(kind, rng.random(), to=rng.random() * 0.2))
        else:
            edits.append(Edit("truncate", rng.random()))
    return edits


# --- safety checks -----------------------------------------------------------------------------------------

_ACTIVE_TAGS = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
                "form", "input", "button", "textarea", "select", "meta", "base", "link", "template", "noscript"}
_URL_ATTRIBUTES = ("href", "src", "action", "formaction", "data", "srcset", "poster", "background", "xlink:href")


def is_web_url(value: str | None) -> bool:
    return value is not None and urlsplit(value.strip()).scheme.lower() in ("http", "https")


def assert_utf8(text: str, what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a broken byte sequence
        raise AssertionError(f"{what} is not encodable as UTF-8: {exc}") from None


def assert_body_allowlisted(body_html: str) -> None:
    """body_html holds only the contract's tags and attributes, and only http(s) URLs."""
    assert_utf8(body_html, "body_html")
    if not body_html.strip():
        return
    wrapper = lxml.html.fragment_fromstring(body_html, create_parent="div")
    for element in wrapper.iter():
        if element is wrapper:
            continue
        assert isinstance(element.tag, str), f"comment or processing instruction in body_html: {body_html[:200]!r}"
        assert element.tag in ALLOWED_TAGS, f"<{element.tag}> in body_html"
        allowed = ALLOWED_ATTRIBUTES.get(element.tag, set())
        for name, value in element.attrib.items():
            assert name in allowed, f"attribute {name}= on <{element.tag}> in body_html"
            if name in ("href", "src"):
                assert is_web_url(value), f"{name}={value!r} in body_html"


def _own_stylesheet() -> str:
    from worker.outlets.render import STYLESHEET

    return STYLESHEET.strip()


def assert_no_active_content(html: str, what: str) -> None:
    """A whole page (an outlet's rendering): no executable element, no event handler, no script URL."""
    assert_utf8(html, what)
    root = lxml.html.document_fromstring(html)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        in_head = element.getparent() is not None and element.getparent().tag == "head"
        if tag in ("meta", "link") and in_head:
            # the outlet's own head: charset, canonical link, syndication ids
            pass
        elif tag == "style" and in_head and (element.text or "").strip() == _own_stylesheet():
            pass  # the page's own stylesheet (worker/outlets/render.py), the same for every article
        else:
            assert tag not in _ACTIVE_TAGS, f"<{tag}> in {what}"
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"event handler {name}={value!r} in {what}"
            assert name.lower() != "style", f"style= in {what}"
            if name.lower() in _URL_ATTRIBUTES:
                assert is_web_url(value), f"{name}={value!r} on <{tag}> in {what}"


def _json_strings(value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in ([(k, v)] if isinstance(v, str) else _json_strings(v))]
    if isinstance(value, list):
        return [pair for v in value for pair in _json_strings(v)]
    return []


def assert_ninjs_safe(document: dict) -> None:
    """The ninjs an outlet sends: body_html allowlisted, every URL-valued field http(s)."""
    text = json.dumps(document, ensure_ascii=False)
    assert_utf8(text, "the ninjs document")
    assert_body_allowlisted(document.get("body_html") or "")
    for key, value in _json_strings(document):
        if key in ("uri", "href", "url") and not value.startswith("urn:"):
            assert is_web_url(value), f"ninjs {key}={value!r}"


def assert_article_safe(article: object) -> None:
    from worker.outlets.render import render_article_html
    from worker.schema import Article, to_ninjs

    assert isinstance(article, Article)
    assert_body_allowlisted(article.body_html)
    for field in ("headline", "body_text", "attribution", "description", "section"):
        assert_utf8(getattr(article, field) or "", field)
    assert is_web_url(article.url), f"article url {article.url!r}"
    if article.lead_image is not None:
        assert is_web_url(article.lead_image.url), f"lead image {article.lead_image.url!r}"
    assert_no_active_content(render_article_html(article), "the rendered article page")
    assert_ninjs_safe(to_ninjs(article))


# --- targets -----------------------------------------------------------------------------------------------

def run_extract(data: bytes, url: str = PAGE_URL) -> object | None:
    from worker.extract import extract_article

    try:
        article = extract_article(data, url)
    except SyndicationError:
        return None
    assert_article_safe(article)
    return article


def run_feed(data: bytes) -> None:
    from worker.discover import parse_feed

    try:
        candidates = parse_feed(data, FEED_URL)
    except SyndicationError:
        return
    for candidate in candidates:
        assert is_web_url(candidate.url), f"feed candidate {candidate.url!r}"


def run_sitemap(data: bytes) -> None:
    from worker.discover import parse_sitemap

    try:
        page = parse_sitemap(data, "https://partner.test/sitemap.xml")
    except SyndicationError:
        return
    for candidate in page.urls:
        assert is_web_url(candidate.url), f"sitemap candidate {candidate.url!r}"


def run_listing(data: bytes) -> None:
    from worker.discover import parse_listing

    try:
        page = parse_listing(data, "https://partner.test/news/", "a", "a.next, a[rel=next]")
    except SyndicationError:
        return
    for candidate in page.links:
        assert is_web_url(candidate.url), f"listing link {candidate.url!r}"
    assert page.next_url is None or is_web_url(page.next_url)


def run_decode(data: bytes, content_type: str) -> None:
    from worker.http.decode import decode_body

    text, encoding = decode_body(data, content_type)
    assert isinstance(text, str) and encoding


TARGETS = {"extract": run_extract, "feed": run_feed, "sitemap": run_sitemap, "listing": run_listing}
SEEDS = {"extract": page_seeds, "feed": feed_seeds, "sitemap": sitemap_seeds, "listing": listing_seeds}

