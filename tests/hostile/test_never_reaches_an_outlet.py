"""Script, style, iframes, event handlers, javascript: and data: URLs in a partner page never reach an outlet.

Each vector carries a unique marker. The page is extracted with a configured source; the test then looks
at the canonical Article (body_html, lead image, links), at what worker.outlets.render and to_ninjs make
of it, at the files the files outlet writes, and at the bytes the webhook outlet sends to a loopback
receiver. The marker must be nowhere in any of them, and no executable element, event handler or
non-http(s) URL may appear in the rendered pages or the ninjs.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile import corpus
from tests.support.webhook_receiver import WebhookReceiver
from worker.config import Source
from worker.extract import extract_article
from worker.outlets.files import FilesOptions, FilesOutlet
from worker.outlets.render import render_article_html
from worker.outlets.webhook import WebhookOptions, WebhookOutlet
from worker.schema import to_ninjs
from worker.settings import load_settings

PARTNER = "https://partner.test"
PROSE = ("Officials in the harbour town said on Monday that the new ferry schedule would begin next month, "
         "after a year of consultations with residents and businesses along the coast. ")
SECRET_ENV = "HOSTILE_TEST_WEBHOOK_SECRET"
SECRET = "hostile-test-secret"

#: (id, markup placed in the body, in the head) - every marker is a string no sanitized output may contain
VECTORS: list[tuple[str, str, str]] = [
    ("script", "<script>window.XSSMARK01=1</script>", ""),
    ("script-in-paragraph", "<p>Text <script>alert('XSSMARK02')</script> more text.</p>", ""),
    ("style", "<style>p{background:url(https://evil.test/XSSMARK03.png)}</style>", ""),
    ("style-attribute", '<p style="background:url(XSSMARK04)">Styled paragraph text here.</p>', ""),
    ("iframe", '<iframe src="https://evil.test/XSSMARK05"></iframe>', ""),
    ("iframe-srcdoc", '<iframe srcdoc="&lt;script&gt;XSSMARK06&lt;/script&gt;"></iframe>', ""),
    ("onclick", '<p onclick="XSSMARK07()">Click handler paragraph.</p>', ""),
    ("onerror-img", '<p><img src="https://partner.test/pic.jpg" onerror="XSSMARK08()" alt="pic"></p>', ""),
    ("onload-body-svg", '<svg onload="XSSMARK09()"><circle r="1"/></svg>', ""),
    ("onmouseover-link", '<p><a href="https://partner.test/x" onmouseover="XSSMARK10()">hover link</a></p>', ""),
    ("javascript-href", '<p><a href="javascript:XSSMARK11()">js link</a></p>', ""),
    ("javascript-href-mixed-case", '<p><a href="  JaVaScRiPt:XSSMARK12()">js link</a></p>', ""),
    ("javascript-href-entity", '<p><a href="java&#x09;script:XSSMARK13()">js link</a> <a href="&#106;avascript:XSSMARK14()">x</a></p>', ""),
    ("javascript-img-src", '<p><img src="javascript:XSSMARK15()" alt="x"></p>', ""),
    ("vbscript-and-file", '<p><a href="vbscript:XSSMARK16">vb</a> <a href="file:///etc/XSSMARK17">file</a></p>', ""),
    ("data-href", '<p><a href="data:text/html,XSSMARK18">data link</a></p>', ""),
    ("data-img", '<p><img src="data:image/svg+xml,&lt;svg onload=XSSMARK19()&gt;" alt="d"></p>', ""),
    ("data-srcset", '<p><img srcset="data:image/png;base64,XSSMARK20 2x" alt="s"></p>', ""),
    ("javascript-srcset", '<p><img src="https://partner.test/ok.jpg" srcset="javascript:XSSMARK21 1x"></p>', ""),
    ("object-embed", '<object data="https://evil.test/XSSMARK22.swf"></object><embed src="https://evil.test/XSSMARK23">', ""),
    ("form", '<form action="javascript:XSSMARK24"><input onfocus="XSSMARK25" autofocus><button formaction="javascript:XSSMARK26">b</button></form>', ""),
    ("math-xlink", '<math><mi xlink:href="javascript:XSSMARK27">m</mi></math>', ""),
    ("noscript-breakout", '<noscript><p title="</noscript><img src=x onerror=XSSMARK28()>"></p></noscript>', ""),
    ("template", "<template><script>XSSMARK29</script></template>", ""),
    ("meta-refresh-in-body", '<meta http-equiv="refresh" content="0;url=javascript:XSSMARK30">', ""),
    ("base-javascript", '<p><a href="relative/page.html">relative link</a></p>', '<base href="javascript:XSSMARK31/">'),
    ("og-image-javascript", "", '<meta property="og:image" content="javascript:XSSMARK32()">'),
    ("og-image-data", "", '<meta property="og:image" content="data:image/png;base64,XSSMARK33">'),
    ("jsonld-image-javascript", "", '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Ferry schedule",'
                                     ' "image": "javascript:XSSMARK34()", "url": "javascript:XSSMARK35()"}</script>'),
    ("canonical-javascript", "", '<link rel="canonical" href="javascript:XSSMARK36()">'),
    ("lead-figure-data", '<figure><img src="data:image/gif;base64,XSSMARK37"><figcaption>Caption</figcaption></figure>', ""),
    ("comment-conditional", "<!--[if IE]><script>XSSMARK38</script><![endif]-->", ""),
    # in HTML, <![CDATA[ opens a bogus comment that ends at the first ">", so the script here is a real one
    ("cdata-script", "<p>Text<![CDATA[</p><script>XSSMARK39</script>]]></p>", ""),
]
MARKER_IDS = [v[0] for v in VECTORS]


def page_with(body_markup: str, head_markup: str) -> str:
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>New ferry schedule for the harbour town</title>{head_markup}
<meta property="og:title" content="New ferry schedule for the harbour town">
</head><body><header><nav><a href="/">Home</a></nav></header>
<article><h1>New ferry schedule for the harbour town</h1>
<p>{PROSE}</p>{body_markup}<p>{PROSE}</p><p>Second paragraph. {PROSE}</p>
<p>Read more in <a href="https://partner.test/ferries.html">our ferry coverage</a>.</p>
</article><footer>Footer</footer></body></html>"""


def markers_in(markup: str) -> list[str]:
    import re

    return sorted(set(re.findall(r"XSSMARK\d\d", markup)))


@pytest.fixture(scope="module")
def source() -> Source:
    return Source(id="partner", name="Partner News", allowed_domains=["partner.test"])


def check_outputs(texts: dict[str, str], markers: list[str]) -> None:
    for name, text in texts.items():
        for marker in markers:
            assert marker not in text, f"{marker} reached {name}"


@pytest.mark.parametrize(("name", "body", "head"), VECTORS, ids=MARKER_IDS)
def test_hostile_markup_never_reaches_the_article_or_an_outlet(
        name: str, body: str, head: str, source: Source, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    markers = markers_in(body + head)
    assert markers, "every vector carries a marker"
    html = page_with(body, head)
    article = extract_article(html.encode("utf-8"), f"{PARTNER}/news/ferry.html", source)

    # the canonical article
    corpus.assert_body_allowlisted(article.body_html)
    assert "harbour town" in article.body_text
    assert corpus.is_web_url(article.url)
    assert article.lead_image is None or corpus.is_web_url(article.lead_image.url)
    check_outputs({"body_html": article.body_html, "body_text": article.body_text,
                   "lead_image": article.lead_image.model_dump_json() if article.lead_image else "",
                   "article": article.model_dump_json()}, markers)

    # what outlets make of it: the rendered page and the ninjs document
    page = render_article_html(article)
    ninjs = to_ninjs(article)
    corpus.assert_no_active_content(page, "the rendered page")
    corpus.assert_ninjs_safe(ninjs)
    check_outputs({"rendered page": page, "ninjs": json.dumps(ninjs)}, markers)

    # what the files outlet writes
    files = FilesOutlet("files", FilesOptions(directory=str(tmp_path / "out")), load_settings({}))
    files.publish(article, None)
    written = {str(p.relative_to(tmp_path)): p.read_text("utf-8") for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert any(k.endswith(".html") for k in written) and any(k.endswith(".ninjs.json") for k in written)
    check_outputs(written, markers)
    for path, text in written.items():
        if path.endswith(".html"):
            corpus.assert_no_active_content(text, path)
        elif path.endswith(".json"):
            corpus.assert_ninjs_safe(json.loads(text))

    # what the webhook outlet sends, in both formats
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with WebhookReceiver(SECRET) as receiver:
        for fmt in ("ninjs", "canonical"):
            hook = WebhookOutlet("hook", WebhookOptions(url=receiver.url, secret_env=SECRET_ENV, format=fmt, timeout=5),
                                 load_settings({}))
            hook.publish(article, None)
        sent = receiver.wait_for(2)
    for record in sent:
        assert record.signature_ok
        check_outputs({"webhook body": record.body.decode("utf-8"), "webhook headers": json.dumps(record.headers)}, markers)
    corpus.assert_ninjs_safe(sent[0].json())
    corpus.assert_body_allowlisted(sent[1].json()["body_html"])


def test_the_marker_check_would_see_a_leak() -> None:
    """Guard against a vacuous test: an unsanitized body does contain the markers the test looks for."""
    for _name, body, head in VECTORS:
        assert markers_in(page_with(body, head))
    with pytest.raises(AssertionError):
        check_outputs({"raw page": page_with(VECTORS[0][1], "")}, ["XSSMARK01"])


def test_a_headline_and_byline_made_of_markup_are_text_everywhere(source: Source, tmp_path: Path) -> None:
    html = f"""<html><head><title>&lt;script&gt;alert(1)&lt;/script&gt; Ferry</title>
<meta name="author" content="&lt;img src=x onerror=alert(2)&gt;">
<meta name="description" content="&lt;iframe src=javascript:alert(3)&gt;">
</head><body><article><h1>&lt;script&gt;alert(1)&lt;/script&gt; Ferry</h1><p>{PROSE}</p><p>{PROSE}</p></article></body></html>"""
    article = extract_article(html, f"{PARTNER}/news/ferry.html", source)
    assert "<script>" in article.headline  # kept as text: an outlet escapes it
    corpus.assert_no_active_content(render_article_html(article), "the rendered page")
    files = FilesOutlet("files", FilesOptions(directory=str(tmp_path)), load_settings({}))
    files.publish(article, None)
    for path in tmp_path.rglob("*.html"):
        corpus.assert_no_active_content(path.read_text("utf-8"), str(path))
