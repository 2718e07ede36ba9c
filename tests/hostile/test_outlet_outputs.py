"""A hostile article delivered to every outlet kind, each output read back by its consumer's own parser.

The corpus: one article per payload (script, event handlers, javascript: and data: URLs, entities that
decode to tags, attribute and CDATA breakouts, svg, iframe, math, style, shortcodes, bidi overrides),
the payload in every text field (headline, byline, author names, caption, credit, alt, section, tags,
summary, attribution, source name, rights) and in the body both as markup and as text; hostile URLs as
author links, body links and images, and as some lead images. The articles are built with make_article,
as any producer of the contract builds them (the extractor, a ninjs document from elsewhere), plus one
extracted from a hostile partner page.

Each outlet's output is read the way its consumer reads it:
- files page: an HTML parser (lxml.html), the whole page; the ninjs file: json + a ninjs 2.x structural
  check (the official ninjs JSON Schema is not in the repository, so the check is written out here);
- RSS and Atom: feedparser, as a reader would (sanitizing) and raw (sanitize_html=False, what a reader
  without its sanitizer gets); every value feedparser says is HTML is parsed as HTML; plus the XML itself;
- JSON Feed: json + a JSON Feed 1.1 structural check; content_html parsed as HTML;
- webhook: the bodies a loopback receiver got, both formats;
- WordPress: the real WordPress of the outlet tests, read back over REST (context=edit: raw and
  rendered) and the public page of the post.

"Active content" is an element that runs or loads something (script, iframe, svg, object, form...), an
event handler or style attribute, or a URL attribute that is not http(s). Every payload carries a marker
(XSSnn); on a whole WordPress page, which has scripts of its own, the check is that no marker is where it
would run. No output may hold a bidi embedding, override or isolate control.
"""
from __future__ import annotations

import html
import json
import re
import struct
import subprocess
import sys
import uuid
import zlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser
import lxml.html
import pytest
import requests
from lxml import etree
from pytest_httpserver import HTTPServer

from tests.support.webhook_receiver import WebhookReceiver
from worker.outlets.feeds import FeedsOptions, FeedsOutlet
from worker.outlets.files import FilesOptions, FilesOutlet
from worker.outlets.webhook import WebhookOptions, WebhookOutlet
from worker.outlets.wordpress import WordPressOptions, WordPressOutlet
from worker.schema import Article, make_article
from worker.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
BASE = datetime(2024, 5, 1, tzinfo=timezone.utc)

#: (id, payload): each carries its marker XSSnn where it would run if it ran
PAYLOADS: list[tuple[str, str]] = [
    ("script", "<script>alert('XSS01')</script>"),
    ("img-onerror", "<img src=x onerror=alert('XSS02')>"),
    ("svg-onload", "<svg onload=alert('XSS03')><circle r=1 /></svg>"),
    ("iframe-javascript", "<iframe src=\"javascript:alert('XSS04')\"></iframe>"),
    ("entities-decoding-to-a-tag", "&lt;script&gt;alert('XSS05')&lt;/script&gt;"),
    ("double-encoded-tag", "&amp;lt;img src=x onerror=alert('XSS06')&amp;gt;"),
    ("javascript-link", "<a href=\"javascript:alert('XSS07')\">click</a>"),
    ("data-link", "<a href=\"data:text/html,<script>alert('XSS08')</script>\">data</a>"),
    ("attribute-breakout", "\"><img src=x onerror=alert('XSS09')>"),
    ("quote-breakout", "' onmouseover='alert(\"XSS10\")' x='"),
    ("cdata-breakout", "]]><script>alert('XSS11')</script><![CDATA["),
    ("title-textarea-breakout", "</title></textarea><script>alert('XSS12')</script>"),
    ("math-xlink", "<math><mi xlink:href=\"javascript:alert('XSS13')\">m</mi></math>"),
    ("style", "<style>@import 'https://evil.test/XSS14.css';</style><b style=\"background:url(javascript:alert('XSS14'))\">s</b>"),
    ("comment", "<!--<img src=x onerror=alert('XSS15')>-->"),
    ("shortcodes", "[video src=\"https://evil.test/XSS16.mp4\"][/video] [audio src=\"https://evil.test/XSS16.mp3\"] [embed]https://evil.test/XSS16[/embed]"),
    ("bidi-override", "\u202eXSS17 gnp.exe\u2066 and \u202dmore\u2069"),
    ("body-onload", "<body onload=alert('XSS18')>"),
    ("meta-refresh", "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert('XSS19')\">"),
    ("noscript-breakout", "<noscript><p title=\"</noscript><img src=x onerror=alert('XSS20')>\"></p></noscript>"),
    ("json-breakout", "\"}]}</script><script>alert('XSS21')</script>"),
    ("javascript-text", "javascript:alert('XSS22')"),
]
PAYLOAD_IDS = [p[0] for p in PAYLOADS]
#: author links, body links and images; every fourth article also has one as its lead image
HOSTILE_URLS = ["javascript:alert('XSS90')", "  JaVaScRiPt:alert('XSS91')", "java\tscript:alert('XSS92')",
                "data:text/html,<script>alert('XSS93')</script>", "vbscript:msgbox('XSS94')", "file:///etc/XSS95"]
MARKER = re.compile(r"XSS\d\d")
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")

#: elements that run or load something; <meta>/<link> only count outside a page's own <head>
ACTIVE_TAGS = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math",
               "form", "input", "button", "textarea", "select", "meta", "base", "link", "template", "noscript",
               "video", "audio", "source", "track", "portal"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcset", "poster", "background", "xlink:href",
                  "codebase", "cite", "longdesc", "ping", "manifest", "icon", "lowsrc", "dynsrc"}


# --- what "active" means ------------------------------------------------------------------------------

def is_web_url(value: str) -> bool:
    value = value.strip()
    return value.split(":", 1)[0].lower() in ("http", "https") and "://" in value


def _parse(markup: str, document: bool) -> etree._Element:
    if document:
        return lxml.html.document_fromstring(markup)
    return lxml.html.fragment_fromstring(markup, create_parent="div")


def _in_own_head(element: etree._Element) -> bool:
    parent = element.getparent()
    return parent is not None and parent.tag == "head"


def _outlets_own(tag: str, element: etree._Element) -> bool:
    """The outlet's own head: its meta and link elements, and the page's stylesheet exactly as
    worker/outlets/render.py writes it for every article (nothing of the partner's in it)."""
    from worker.outlets.render import STYLESHEET

    if tag == "style":
        return _in_own_head(element) and (element.text or "").strip() == STYLESHEET.strip()
    return tag in ("meta", "link") and _in_own_head(element)


def active_content(markup: str, where: str, document: bool = False) -> list[str]:
    """What in `markup`, parsed as HTML, would run or load something."""
    if not markup.strip():
        return []
    problems = []
    for element in _parse(markup, document).iter():
        if not isinstance(element.tag, str):
            continue  # comments
        tag = element.tag.lower()
        if tag in ACTIVE_TAGS and not (document and _outlets_own(tag, element)):
            problems.append(f"{where}: <{tag}>")
        for name, value in element.attrib.items():
            name = name.lower()
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                problems.append(f"{where}: {name}={value!r} on <{tag}>")
            elif name in URL_ATTRIBUTES and not is_web_url(value):
                problems.append(f"{where}: {name}={value!r} on <{tag}>")
    return problems


def markers_where_they_run(markup: str, where: str) -> list[str]:
    """For a whole page with scripts of its own: a marker inside a script or style, an active element,
    an event handler, a style attribute or a URL attribute that is not http(s)."""
    problems = []
    for element in _parse(markup, True).iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if (tag in ACTIVE_TAGS and not (tag in ("meta", "link") and _in_own_head(element))
                and MARKER.search(etree.tostring(element, encoding="unicode"))):
            problems.append(f"{where}: a marker inside <{tag}>")
        for name, value in element.attrib.items():
            name = name.lower()
            runs = name.startswith("on") or name in ("style", "srcdoc") or (
                name in URL_ATTRIBUTES and not is_web_url(value))
            if runs and MARKER.search(value):
                problems.append(f"{where}: a marker in {name}={value!r} on <{tag}>")
    return problems


def hidden_controls(text: str, where: str) -> list[str]:
    return [f"{where}: bidi control U+{ord(c):04X}" for c in set(BIDI_CONTROLS.findall(text))]


def shown_text(markup: str) -> str:
    """What a reader sees of an HTML value: its text."""
    return _parse(markup, False).text_content() if markup.strip() else ""


# --- consumers' structural checks ---------------------------------------------------------------------

def ninjs_problems(doc: dict[str, Any], where: str) -> list[str]:
    """ninjs 2.x as a newsroom system reads it: the types of the fields we send, http(s) or URN URIs,
    the text/html bodies free of active content."""
    problems = []

    def uri(value: Any, field: str) -> None:
        if not isinstance(value, str) or not (is_web_url(value) or value.startswith("urn:")):
            problems.append(f"{where}: {field} = {value!r}")

    uri(doc.get("uri"), "uri")
    if not isinstance(doc.get("version"), str):
        problems.append(f"{where}: version is not a string")
    for key in ("headlines", "descriptions", "bodies", "people", "subjects", "genres", "infosources", "altids",
                "associations"):
        if not isinstance(doc.get(key, []), list):
            problems.append(f"{where}: {key} is not an array")
    for item in doc.get("headlines", []) + doc.get("descriptions", []):
        if not isinstance(item.get("value"), str):
            problems.append(f"{where}: a headline/description without a string value")
    for body in doc.get("bodies", []):
        if body.get("contenttype") == "text/html":
            problems += active_content(body["value"], f"{where} body text/html")
    for key in ("people", "infosources"):
        for item in doc.get(key, []):
            if "uri" in item:
                uri(item["uri"], f"{key}[].uri")
    for association in doc.get("associations", []):
        uri(association.get("uri"), "associations[].uri")
        for rendition in association.get("renditions", []):
            uri(rendition.get("href"), "associations[].renditions[].href")
    return problems


def json_feed_problems(feed: dict[str, Any], where: str) -> list[str]:
    """JSON Feed 1.1 (jsonfeed.org/version/1.1) as a reader takes it: required keys and types, every
    URL http(s), content_html free of active content."""
    problems = []
    if feed.get("version") != "https://jsonfeed.org/version/1.1" or not isinstance(feed.get("title"), str):
        problems.append(f"{where}: not a JSON Feed 1.1 (version, title)")
    if not isinstance(feed.get("items"), list):
        return problems + [f"{where}: items is not an array"]

    def url(value: Any, field: str) -> None:
        if not isinstance(value, str) or not is_web_url(value):
            problems.append(f"{where}: {field} = {value!r}")

    for item in feed["items"]:
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: an item without an id")
        if not (isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str)):
            problems.append(f"{where}: an item without content_html or content_text")
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item:
                url(item[key], f"items[].{key}")
        for key in ("title", "summary", "content_text", "language"):
            if key in item and not isinstance(item[key], str):
                problems.append(f"{where}: items[].{key} is not a string")
        if not all(isinstance(tag, str) for tag in item.get("tags", [])):
            problems.append(f"{where}: a tag that is not a string")
        for author in item.get("authors", []):
            if not isinstance(author.get("name"), str):
                problems.append(f"{where}: an author without a name")
            for key in ("url", "avatar"):
                if key in author:
                    url(author[key], f"items[].authors[].{key}")
        for attachment in item.get("attachments", []):
            url(attachment.get("url"), "items[].attachments[].url")
            if not isinstance(attachment.get("mime_type"), str):
                problems.append(f"{where}: an attachment without mime_type")
        problems += active_content(item.get("content_html", ""), f"{where} content_html")
    return problems


def feedparser_problems(data: bytes, where: str, articles: dict[str, Article]) -> list[str]:
    """The feed through feedparser, sanitizing (as readers use it) and raw (sanitize_html=False): each
    value feedparser says is HTML is parsed as HTML; each link is http(s); each title reads as the headline."""
    problems = []
    for sanitize in (True, False):
        parsed = feedparser.parse(data, sanitize_html=sanitize)
        assert not parsed.bozo, parsed.get("bozo_exception")
        label = f"{where} ({'sanitized' if sanitize else 'raw'})"
        for entry in parsed.entries:
            details = [("title", entry.get("title_detail")), ("summary", entry.get("summary_detail")),
                       *(("content", c) for c in entry.get("content", [])),
                       ("source title", entry.get("source", {}).get("title_detail"))]
            for name, detail in details:
                if detail is None:
                    continue
                if detail.type in ("text/html", "application/xhtml+xml"):
                    problems += active_content(detail.value, f"{label} {name}")
                problems += hidden_controls(detail.value, f"{label} {name}")
            for author in entry.get("authors", []):
                if "href" in author and not is_web_url(author["href"]):
                    problems.append(f"{label}: author href {author['href']!r}")
                problems += hidden_controls(author.get("name", ""), f"{label} author")
            for link in entry.get("links", []) + entry.get("enclosures", []):
                if not is_web_url(link.get("href", "")):
                    problems.append(f"{label}: link {link.get('href')!r}")
            for tag in entry.get("tags", []):
                problems += hidden_controls(tag.get("term") or "", f"{label} category")
            # escaped exactly once for HTML: the reader shows the headline as the partner wrote it
            article = articles[entry.id]
            shown = shown_text(entry.title) if entry.title_detail.type == "text/html" else entry.title
            if shown != article.headline:
                problems.append(f"{label}: title reads {shown!r}, not {article.headline!r}")
    return problems


# --- the corpus ---------------------------------------------------------------------------------------

def hostile_article(n: int, payload: str, image_url: str) -> Article:
    bad_url = HOSTILE_URLS[n % len(HOSTILE_URLS)]
    in_attribute = html.escape(bad_url, quote=True)
    return make_article(
        source={"id": "partner", "name": f"Partner {payload}"},
        attribution=f"From Partner {payload}",
        url=f"https://partner.test/news/{n}.html?q={payload}",
        headline=f"{payload} headline {n}",
        description=f"{payload} summary",
        authors=[{"name": f"{payload} author", "url": bad_url},
                 {"name": f"Jane {payload}", "url": f"/authors/{n}"}],
        published=BASE + timedelta(hours=n),
        section=f"{payload} section",
        tags=[f"{payload} tag", f"plain tag {n}"],
        language="en",
        lead_image={"url": bad_url if n % 4 == 3 else image_url, "caption": f"{payload} caption",
                    "credit": f"{payload} credit", "alt": f"{payload} alt", "width": 4, "height": 4},
        body_html=(f"<p>Lead paragraph {n}.</p><p>{payload}</p><p>{html.escape(payload)}</p>"
                   f'<p><a href="{in_attribute}">bad link</a> <img src="{in_attribute}" alt="bad">'
                   f' <a href="/relative/{n}.html">relative link</a></p>'),
        body_text=f"Lead paragraph {n}.\n\n{payload}",
        rights={"copyright_notice": f"© {payload}", "usage_terms": payload},
        fetched_at=BASE + timedelta(days=1),
    )


HOSTILE_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>&lt;img src=x onerror=alert('XSS31')&gt; Harbour ferries</title>
<meta name="description" content="&lt;script&gt;alert('XSS32')&lt;/script&gt; Summary">
<script type="application/ld+json">{"@type": "NewsArticle",
 "headline": "<img src=x onerror=alert('XSS31')> Harbour ferries",
 "author": [{"@type": "Person", "name": "<svg onload=alert('XSS33')> Ann \u202eLee", "url": "javascript:alert('XSS34')"},
            {"@type": "Person", "name": "Bo Chan", "url": "data:text/html,%3Cscript%3Ealert('XSS35')%3C/script%3E"}],
 "articleSection": "<iframe src=javascript:alert('XSS36')>", "keywords": ["<b onclick=alert('XSS37')>tag</b>"]}
</script></head><body><article><h1>&lt;img src=x onerror=alert('XSS31')&gt; Harbour ferries</h1>
<p>Officials in the harbour town said on Monday that the new ferry schedule would begin next month, after a
year of consultations with residents and businesses along the coast.</p>
<p>Second paragraph <a href="javascript:alert('XSS38')">link</a> and <img src="x" onerror="alert('XSS39')">
with more words about the ferries, the harbour and the town council's budget for the coming year.</p>
</article></body></html>"""
PAGE_URL = "https://partner.test/news/ferries.html"


def extract_json(tmp_path: Path, fmt: str) -> Any:
    """`syndicate extract page.html --url ... --format json|ninjs`, as an operator runs it."""
    page = tmp_path / "hostile.html"
    page.write_text(HOSTILE_PAGE, encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "worker.cli", "extract", str(page), "--url", PAGE_URL,
                             "--format", fmt], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def extracted_article() -> Article:
    from worker.extract import extract_article

    return extract_article(HOSTILE_PAGE, PAGE_URL)


def corpus(image_url: Any) -> list[Article]:
    """`image_url(n)` gives article n's lead image URL."""
    return [hostile_article(n, payload, image_url(n)) for n, (_, payload) in enumerate(PAYLOADS)] + [extracted_article()]


def assert_none(problems: list[str]) -> None:
    assert not problems, f"{len(problems)} problems, e.g.:\n" + "\n".join(sorted(set(problems))[:40])


# --- the checks see what they must see -----------------------------------------------------------------

def test_the_checks_see_active_content_and_hidden_controls() -> None:
    """Guard against vacuous checks: each markup payload, taken as HTML, is active content."""
    inert = {"entities-decoding-to-a-tag", "double-encoded-tag", "quote-breakout", "comment", "shortcodes",
             "bidi-override", "javascript-text", "body-onload"}  # text, or a tag a fragment parser drops
    for name, payload in PAYLOADS:
        if name not in inert:
            assert active_content(payload, name), name
            assert markers_where_they_run(f"<html><body>{payload}</body></html>", name), name
    assert hidden_controls(dict(PAYLOADS)["bidi-override"], "bidi")
    # RSS's classic bug: plain text escaped once for XML only, which a reader decodes as HTML
    once = b"<rss version='2.0'><channel><title>t</title><item><guid>g</guid><title>t</title>" \
           b"<description>Summary &lt;img src=x onerror=alert(1)&gt;</description></item></channel></rss>"
    assert feedparser_problems(once, "rss", {"g": make_article(
        source={"id": "p", "name": "P"}, attribution="From P", url="https://p.test/", headline="t",
        fetched_at=BASE)})


# --- the canonical article, and `syndicate extract` -------------------------------------------------

def test_a_hostile_page_still_yields_an_article_with_http_links_only(tmp_path: Path) -> None:
    """The issue's case: a JSON-LD author url of javascript: reached `syndicate extract --format json`
    and the ninjs people[].uri. The authors stay; their links go."""
    article = extract_json(tmp_path, "json")
    assert [(a["name"], a["url"]) for a in article["authors"]] == [
        ("<svg onload=alert('XSS33')> Ann Lee", None), ("Bo Chan", None)]  # text, for each outlet to escape
    assert "XSS34" not in json.dumps(article) and "XSS35" not in json.dumps(article)
    assert_none(active_content(article["body_html"], "extract json body_html"))
    assert_none(hidden_controls(json.dumps(article, ensure_ascii=False), "extract json"))
    ninjs = extract_json(tmp_path, "ninjs")
    assert_none(ninjs_problems(ninjs, "extract ninjs"))
    assert all("uri" not in person for person in ninjs["people"])


# --- outlets writing files ----------------------------------------------------------------------------

def test_the_files_outlet_page_and_ninjs_hold_no_active_content(tmp_path: Path) -> None:
    articles = corpus(lambda n: f"https://partner.test/img/{n}.png")
    outlet = FilesOutlet("files", FilesOptions(directory=str(tmp_path / "out")), load_settings({}))
    problems: list[str] = []
    for article in articles:
        outlet.publish(article, None)
        folder = tmp_path / "out" / article.id
        page = (folder / f"v{article.version}.html").read_text("utf-8")
        problems += active_content(page, f"page {article.headline[:30]!r}", document=True)
        problems += hidden_controls(page, "page")
        root = lxml.html.document_fromstring(page)
        if root.findtext(".//h1") != article.headline:  # escaped once: the reader sees the text as written
            problems.append(f"page h1 reads {root.findtext('.//h1')!r}")
        ninjs = (folder / f"v{article.version}.ninjs.json").read_text("utf-8")
        problems += ninjs_problems(json.loads(ninjs), f"ninjs {article.headline[:30]!r}")
        problems += hidden_controls(ninjs, "ninjs")
    assert_none(problems)


def test_rss_atom_and_json_feed_read_back_by_their_readers_hold_no_active_content(tmp_path: Path) -> None:
    articles = corpus(lambda n: f"https://partner.test/img/{n}.png")
    feeds = FeedsOutlet("feeds", FeedsOptions(directory=str(tmp_path), title="Outlet <News> & Co",
                                              link="https://outlet.test/", description="Partner stories",
                                              max_items=100), load_settings({}))
    for article in articles:
        feeds.publish(article, None)
    by_entry_id = {f"urn:syndication-worker:article:{a.id}": a for a in articles}
    problems: list[str] = []
    for kind in ("rss", "atom"):
        data = feeds.feed_paths[kind].read_bytes()
        problems += feedparser_problems(data, kind, by_entry_id)
        problems += hidden_controls(data.decode("utf-8"), kind)
        assert len(feedparser.parse(data).entries) == len(articles)
    problems += xml_html_slot_problems(feeds.feed_paths["rss"].read_bytes(), feeds.feed_paths["atom"].read_bytes())
    data = feeds.feed_paths["json"].read_bytes()
    feed = json.loads(data)
    problems += json_feed_problems(feed, "json feed")
    problems += hidden_controls(data.decode("utf-8"), "json feed")
    for item in feed["items"]:
        if item["title"] != by_entry_id[item["id"]].headline:  # plain text by the spec: as written
            problems.append(f"json feed title reads {item['title']!r}")
    assert len(feed["items"]) == len(articles)
    assert_none(problems)


def xml_html_slot_problems(rss: bytes, atom: bytes) -> list[str]:
    """The XML itself, without feedparser: each element a reader takes as HTML, parsed as HTML."""
    problems = []
    for item in etree.fromstring(rss).iter("item"):
        for tag in ("title", "description", "{http://purl.org/rss/1.0/modules/content/}encoded"):
            problems += active_content(item.findtext(tag) or "", f"rss <{tag}>")
    for element in etree.fromstring(atom).iter():
        if element.get("type") == "html":
            problems += active_content(element.text or "", f"atom <{etree.QName(element).localname}>")
    return problems


# --- outlets sending JSON -----------------------------------------------------------------------------

SECRET_ENV = "HOSTILE_OUTPUT_WEBHOOK_SECRET"


def test_webhook_bodies_hold_only_http_urls_and_inert_html(monkeypatch: pytest.MonkeyPatch) -> None:
    articles = corpus(lambda n: f"https://partner.test/img/{n}.png")
    monkeypatch.setenv(SECRET_ENV, "hostile-output-secret")
    with WebhookReceiver("hostile-output-secret") as receiver:
        for fmt in ("ninjs", "canonical"):
            hook = WebhookOutlet(f"hook-{fmt}", WebhookOptions(url=receiver.url, secret_env=SECRET_ENV, format=fmt,
                                                               timeout=10), load_settings({}))
            for article in articles:
                hook.publish(article, None)
        sent = receiver.wait_for(2 * len(articles))
    problems: list[str] = []
    for record in sent:
        problems += hidden_controls(record.body.decode("utf-8"), "webhook body")
        doc = record.json()
        if "bodies" in doc:
            problems += ninjs_problems(doc, "webhook ninjs")
        else:
            problems += active_content(doc["body_html"], "webhook canonical body_html")
            urls = [doc["url"]] + [a["url"] for a in doc["authors"] if a["url"] is not None]
            urls += [doc["lead_image"]["url"]] if doc["lead_image"] else []
            problems += [f"webhook canonical url {u!r}" for u in urls if not is_web_url(u)]
    assert_none(problems)


# --- WordPress ----------------------------------------------------------------------------------------

PASSWORD_ENV = "HOSTILE_OUTPUT_WP_APP_PASSWORD"


def png() -> bytes:
    raw = b"".join(b"\x00" + b"\xc8\x1e\x1e" * 4 for _ in range(4))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def images(httpserver: HTTPServer) -> Iterator[Any]:
    """The partner's images on loopback, a fresh path per test run (uploads are shared by image URL)."""
    run = uuid.uuid4().hex[:8]
    for n in range(len(PAYLOADS) + 1):
        httpserver.expect_request(f"/img/{run}-{n}.png").respond_with_data(png(), content_type="image/png")
    yield lambda n: httpserver.url_for(f"/img/{run}-{n}.png")


def wordpress_views(site: Any, post_id: str) -> dict[str, str]:
    """Every HTML view of the post and its featured image that WordPress gives back over REST."""
    post = site.rest(f"/wp/v2/posts/{post_id}", params={"context": "edit"})
    views = {f"post {field} {form}": post[field][form] for field in ("title", "content", "excerpt")
             for form in ("raw", "rendered")}
    if post.get("featured_media"):
        media = site.rest(f"/wp/v2/media/{post['featured_media']}", params={"context": "edit"})
        for field in ("title", "caption", "description"):
            for form in ("raw", "rendered"):
                views[f"media {field} {form}"] = media[field][form]
        views["media alt_text"] = html.escape(media["alt_text"])  # an attribute value, printed escaped
    for taxonomy in ("categories", "tags"):
        for term in post[taxonomy]:
            views[f"{taxonomy} {term} name"] = site.rest(f"/wp/v2/{taxonomy}/{term}")["name"]
    views["post link"] = post["link"]
    return views


@pytest.mark.wordpress
def test_wordpress_posts_read_back_over_rest_and_on_the_site_hold_no_active_content(
        wordpress: Any, images: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, wordpress.app_password)
    outlet = WordPressOutlet("wordpress", WordPressOptions.model_validate({
        "url": wordpress.url, "username": wordpress.user, "app_password_env": PASSWORD_ENV, "status": "publish",
        "default_categories": ["Syndicated"], "image_allow_private_networks": ["127.0.0.1/32"], "timeout": 30,
    }), load_settings({}))
    run = uuid.uuid4().hex[:8]
    articles = [a.recomputed(url=f"{a.url}&run={run}") for a in corpus(images)]  # a new post per test run
    problems: list[str] = []
    featured = 0
    for article in articles:
        ref = outlet.publish(article, None)
        views = wordpress_views(wordpress, ref.id)
        featured += any(k.startswith("media ") for k in views)
        page = requests.get(views.pop("post link"), timeout=30)
        assert page.status_code == 200
        where = f"post of {article.headline[:30]!r}"
        for name, value in views.items():
            problems += active_content(value, f"{where}: {name}")
            problems += hidden_controls(value, f"{where}: {name}")
        problems += markers_where_they_run(page.text, f"{where}: the public page")
        problems += hidden_controls(page.text, f"{where}: the public page")
        shown = html.unescape(views["post title raw"])
        if shown != article.headline:  # stored escaped once: WordPress shows the headline as written
            problems.append(f"{where}: the title reads {shown!r}")
    assert featured >= len(articles) // 2  # captions and credits really went through the media library
    assert_none(problems)
