"""Fixed hostile inputs, each a known way to break a parser: size, depth, encodings, NUL bytes, huge feeds,
XML entity bombs, and config files of the wrong shape.

Each case must end with a result or a named worker.errors.SyndicationError, within its time limit, and
with the process's peak memory (measured by the kernel, so lxml's C allocations count) bounded.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import corpus
from tests.hostile.memory import RSS_BOUND_BYTES, peak_rss_growth
from worker.config import load_outlets, load_sources
from worker.discover import MAX_FEED_ENTRIES, MAX_SITEMAP_URLS, UnsafeXmlError, parse_feed, parse_sitemap
from worker.errors import ConfigError, ExtractionError, SyndicationError
from worker.extract import extract_article

PROSE = ("The council voted on the harbour budget after a long debate about the future of the district, "
         "and the mayor said the work would start in the spring. ") * 4
URL = corpus.PAGE_URL


def bounded(run, seconds: float):
    """Run `run()`; fail when it took longer than `seconds` or grew peak RSS past the bound."""
    with peak_rss_growth() as growth:
        started = time.monotonic()
        result = run()
        elapsed = time.monotonic() - started
    assert elapsed < seconds, f"took {elapsed:.1f}s (limit {seconds}s)"
    assert growth() < RSS_BOUND_BYTES, f"peak RSS grew by {growth() / 2**20:.0f} MB"
    return result


def extract_or_named(html: bytes | str):
    try:
        article = extract_article(html, URL)
    except SyndicationError as error:
        return error
    corpus.assert_article_safe(article)
    return article


# --- size and depth ----------------------------------------------------------------------------------------

@pytest.mark.timeout(180)
def test_a_10_mb_single_line_page_is_extracted_in_bounded_time_and_memory() -> None:
    head = "<html><head><title>One Line</title></head><body><article><h1>One Line</h1><p>"
    tail = "</p></article></body></html>"
    filler = ("word " * 2_100_000)[:10_000_000 - len(head) - len(tail)]
    data = (head + filler + tail).encode("utf-8")
    assert b"\n" not in data and len(data) >= 10_000_000
    article = bounded(lambda: extract_or_named(data), seconds=120)
    assert not isinstance(article, Exception), article
    assert article.word_count > 1_000_000


@pytest.mark.parametrize("tag", ["div", "blockquote", "span", "ul", "li", "table", "a", "p", "em", "figure", "section"])
def test_10000_deep_nesting_ends_in_a_result_or_a_named_error(tag: str) -> None:
    page = ("<html><head><title>Deep</title></head><body>" + f"<{tag}>" * 10_000
            + f"<p>{PROSE}</p><p>{PROSE}</p>" + f"</{tag}>" * 10_000 + "</body></html>")
    result = bounded(lambda: extract_or_named(page), seconds=30)
    assert isinstance(result, ExtractionError) or "harbour budget" in result.body_text


def test_10000_deep_mixed_nesting_of_allowlisted_blocks() -> None:
    """Tags the sanitizer keeps (blockquote, ul, li), so the depth reaches nh3 and serialization."""
    opening, closing = "<blockquote><ul><li>" * 3_334, "</li></ul></blockquote>" * 3_334
    page = f"<html><head><title>Deep</title></head><body><article><h1>Deep</h1>{opening}<p>{PROSE}</p>{closing}</article></body></html>"
    result = bounded(lambda: extract_or_named(page), seconds=30)
    assert isinstance(result, ExtractionError) or "harbour budget" in result.body_text


# --- encodings and bytes ----------------------------------------------------------------------------------

INVALID_UTF8 = [b"\xff\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80\x81", b"\xe2\x82", b"\xf4\x90\x80\x80"]


@pytest.mark.parametrize("bad", INVALID_UTF8, ids=[b.hex() for b in INVALID_UTF8])
def test_invalid_utf8_in_a_page_declared_utf8(bad: bytes) -> None:
    page = (b"<html><head><meta charset='utf-8'><title>Bad " + bad + b" bytes</title></head><body><article><h1>Bad "
            + bad + b" bytes</h1><p>" + PROSE.encode() + bad + b"</p><p>" + bad + PROSE.encode() + b"</p>"
            + b"<p><a href='https://partner.test/" + bad + b"'>link</a></p></article></body></html>")
    result = bounded(lambda: extract_or_named(page), seconds=20)
    assert not isinstance(result, Exception), result  # the text around the bad bytes is an article
    assert "harbour budget" in result.body_text


@pytest.mark.parametrize("where", ["text", "attribute", "tag", "title", "everywhere"])
def test_nul_and_control_bytes(where: str) -> None:
    nul = b"\x00\x01\x0b\x1b"
    parts = {"text": b"", "attribute": b"", "tag": b"", "title": b""}
    for key in parts:
        if where in (key, "everywhere"):
            parts[key] = nul
    page = (b"<html><head><title>Title" + parts["title"] + b"</title></head><body><article><h1>Title" + parts["title"]
            + b"</h1><p" + parts["tag"] + b">" + PROSE.encode() + parts["text"] + b"</p><p>" + PROSE.encode()
            + b" <a href='https://partner.test/x" + parts["attribute"] + b"y'>a link</a>"
            + b"<img src='https://partner.test/i" + parts["attribute"] + b".jpg'></p></article></body></html>")
    result = bounded(lambda: extract_or_named(page), seconds=20)
    if not isinstance(result, Exception):
        assert "\x00" not in result.body_html and "\x00" not in result.body_text and "\x00" not in result.headline


def test_utf16_page_and_bom_mismatch() -> None:
    page = f"<html><head><meta charset='utf-8'><title>Wide</title></head><body><article><h1>Wide</h1><p>{PROSE}</p></article></body></html>"
    for data in (page.encode("utf-16"), b"\xef\xbb\xbf" + page.encode("utf-16-le"), page.encode("utf-32")):
        bounded(lambda data=data: extract_or_named(data), seconds=20)


# --- feeds and sitemaps ------------------------------------------------------------------------------------

def _rss(items: int) -> bytes:
    item = "<item><title>Story {0}</title><link>https://partner.test/s/{0}.html</link><guid>g{0}</guid></item>"
    body = "".join(item.format(i) for i in range(items))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{body}</channel></rss>'.encode()


@pytest.mark.timeout(120)
def test_a_feed_with_100000_items_is_capped_in_bounded_time_and_memory() -> None:
    data = _rss(100_000)
    candidates = bounded(lambda: parse_feed(data, corpus.FEED_URL), seconds=60)
    assert len(candidates) == MAX_FEED_ENTRIES
    assert candidates[0].url == "https://partner.test/s/0.html"


@pytest.mark.timeout(120)
def test_a_sitemap_with_100000_urls_is_capped() -> None:
    urls = "".join(f"<url><loc>https://partner.test/s/{i}.html</loc></url>" for i in range(100_000))
    data = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode()
    page = bounded(lambda: parse_sitemap(data, "https://partner.test/sitemap.xml"), seconds=60)
    assert len(page.urls) == MAX_SITEMAP_URLS


BILLION_LAUGHS = ('<!DOCTYPE {root} [<!ENTITY a "aaaaaaaaaa">' + "".join(
    f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)) + "]>")
QUADRATIC = '<!DOCTYPE {root} [<!ENTITY big "' + "x" * 100_000 + '">]>'


@pytest.mark.parametrize("declaration", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic-blowup"])
@pytest.mark.parametrize("kind", ["rss", "atom", "sitemap"])
def test_xml_entity_bombs_are_refused_by_name(declaration: str, kind: str) -> None:
    use = "&j;" if declaration is BILLION_LAUGHS else "&big;" * 1000
    if kind == "rss":
        data = (f'<?xml version="1.0"?>{declaration.format(root="rss")}<rss version="2.0"><channel><title>{use}</title>'
                f"<item><title>{use}</title><link>https://partner.test/a.html</link></item></channel></rss>")
        parse = lambda: parse_feed(data.encode(), corpus.FEED_URL)  # noqa: E731
    elif kind == "atom":
        data = (f'<?xml version="1.0"?>{declaration.format(root="feed")}<feed xmlns="http://www.w3.org/2005/Atom">'
                f'<title>{use}</title><entry><title>{use}</title><link href="https://partner.test/a.html"/></entry></feed>')
        parse = lambda: parse_feed(data.encode(), corpus.FEED_URL)  # noqa: E731
    else:
        data = (f'<?xml version="1.0"?>{declaration.format(root="urlset")}'
                f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://partner.test/{use}</loc></url></urlset>')
        parse = lambda: parse_sitemap(data.encode(), "https://partner.test/sitemap.xml")  # noqa: E731
    with pytest.raises(UnsafeXmlError):
        bounded(parse, seconds=10)


@pytest.mark.parametrize("declaration", [BILLION_LAUGHS, QUADRATIC], ids=["billion-laughs", "quadratic-blowup"])
def test_entity_bombs_in_an_article_page_are_not_expanded(declaration: str) -> None:
    """An XHTML page with an internal DTD: the HTML parser must not expand the entities into the article."""
    use = "&j;" if declaration is BILLION_LAUGHS else "&big;" * 1000
    page = (f'<?xml version="1.0"?>{declaration.format(root="html")}<html xmlns="http://www.w3.org/1999/xhtml">'
            f"<head><title>Bomb {use}</title></head><body><article><h1>Bomb</h1><p>{PROSE}{use}</p>"
            f"<p>{PROSE}</p></article></body></html>")
    result = bounded(lambda: extract_or_named(page.encode()), seconds=20)
    if not isinstance(result, Exception):
        assert "aaaaaaaaaa" not in result.body_text and "x" * 1000 not in result.body_text
        assert len(result.body_html) < 100_000


# --- config files of the wrong shape ---------------------------------------------------------------------

CONFIG_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None)
VALID_SOURCE = {"id": "partner", "name": "Partner", "allowed_domains": ["partner.test"]}
#: source fields and values of a type each cannot take
WRONG_SOURCE_VALUES = {
    "name": [["a", "list"], {"a": "map"}],
    "allowed_domains": [42, {"a": "map"}, "partner.test"],
    "interval": ["often", [1], {"a": 1}, 1.5],
    "language": [["en"], {"a": 1}],
    "ignore_robots": [[True], {"a": 1}, "sometimes"],
    "rate_limit_per_second": ["fast", [1]],
    "include": [{"a": 1}, 7],
    "discover": ["https://partner.test/feed.xml", 12, [{"kind": "feed", "url": ["x"]}]],
    "selectors": ["main", [1, 2]],
    "allow_private_networks": [{"a": 1}, 3],
}


@settings(CONFIG_SETTINGS)
@given(field=st.sampled_from(sorted(WRONG_SOURCE_VALUES)), data=st.data())
def test_a_source_field_of_the_wrong_type_names_file_entry_and_field(tmp_path_factory, field: str, data) -> None:
    value = data.draw(st.sampled_from(WRONG_SOURCE_VALUES[field]))
    path = tmp_path_factory.mktemp("config") / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": [{**VALID_SOURCE, "id": "good"}, {**VALID_SOURCE, field: value}]}))
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    message = str(caught.value)
    assert str(path) in message, message
    assert "source 'partner'" in message, message
    assert f"'{field}" in message, message


@settings(CONFIG_SETTINGS)
@given(document=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["sources", "outlets", "id", "name", "kind", "allowed_domains", "discover", "url",
                         "routing", "directory", "x"]), children, max_size=5),
    max_leaves=20))
def test_any_yaml_document_is_loaded_or_refused_with_a_config_error(tmp_path_factory, document) -> None:
    folder = tmp_path_factory.mktemp("config")
    for name, load in (("sources.yaml", load_sources), ("outlets.yaml", load_outlets)):
        path = folder / name
        path.write_text(yaml.safe_dump(document))
        try:
            load(path)
        except ConfigError as error:
            assert str(path) in str(error), str(error)


@pytest.mark.parametrize("text", ["sources: [\n", "\x00\x01", "sources:\n  - *nope\n", "sources: !!python/object:os.system x\n",
                                  "a: &a [*a]\n", "sources:\n" + "  " * 5000 + "- x\n", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")])
def test_broken_yaml_is_a_config_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(ConfigError) as caught:
        load_sources(path)
    assert str(path) in str(caught.value)


# regressions found by these tests: each raised a bare exception (ReaderError, UnicodeDecodeError,
# RecursionError) out of config loading instead of a ConfigError naming the file
@pytest.mark.parametrize("data", [b"sources: \x00\x01\n", b"\xff\xfe\x00", b"sources:\n  - id: \xc3\x28\n",
                                  b"sources: " + b"[" * 5000, b"sources: " + b"{a: " * 3000, b"- " * 4000 + b"x"],
                         ids=["control-characters", "utf16-bom", "invalid-utf8", "deep-flow-list", "deep-flow-map",
                              "deep-block-list"])
@pytest.mark.parametrize("name", ["sources.yaml", "outlets.yaml"])
def test_unreadable_config_bytes_are_a_config_error_naming_the_file(tmp_path: Path, data: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        (load_sources if name == "sources.yaml" else load_outlets)(path)
    assert str(caught.value).startswith(f"config: {path}")
