"""The files outlet's article page as a reader sees it: the stored images beside it and loading, the lead
image's caption and credit two elements, the caption's text once on the page, the alt text never shown
again as text, and a small readable stylesheet of its own (nothing fetched from elsewhere).

Read back with an HTML5 parser (html5lib, the WHATWG algorithm browsers use) and in headless Chromium
(tests/plugins/browser.py) over HTTP from a loopback server of the outlet's folder. The article is
ingested from a loopback partner and delivered through worker/flow/deliver.py.
"""
from __future__ import annotations

import functools
from datetime import datetime, timezone
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import html5lib
from pytest_httpserver import HTTPServer

from tests.support.image_partner import LEAD_ALT, deployment, ingest_story, serve_story
from tests.support.loopback_http import LoopbackHTTPServer
from tests.plugins.browser import screenshot
from worker.flow.deliver import deliver_article
from worker.outlets.render import render_article_html
from worker.schema import Image, SourceRef, make_article
from worker.store import DeliveryState

NS = {"h": "http://www.w3.org/1999/xhtml"}


def text_of(element: Any) -> str:
    return "".join(element.itertext())


def delivered_folder(tmp_path: Path, httpserver: HTTPServer) -> tuple[Path, Any]:
    services = deployment(tmp_path, f"outlets:\n  - id: files\n    kind: files\n    directory: {tmp_path / 'out'}\n")
    story = serve_story(httpserver)
    report = ingest_story(services, story)
    assert deliver_article(services, report.article_id, 1, "files").state == DeliveryState.DELIVERED
    article = services.store.get_article(report.article_id)
    return tmp_path / "out" / report.article_id, article


def test_the_page_read_by_an_html5_parser(tmp_path: Path, httpserver: HTTPServer) -> None:
    folder, article = delivered_folder(tmp_path, httpserver)
    document = html5lib.parse((folder / "index.html").read_bytes(), namespaceHTMLElements=True)
    [figure] = document.iterfind(".//h:figure[@class='lead-image']", NS)
    img = figure.find("h:img", NS)
    assert (folder / img.get("src")).is_file() and "/" not in img.get("src")  # beside the page, linked relatively
    assert (img.get("width"), img.get("height"), img.get("alt")) == ("80", "50", LEAD_ALT)  # the bytes' size
    [caption] = figure.iterfind("h:figcaption/h:span[@class='caption']", NS)
    [credit] = figure.iterfind("h:figcaption/h:span[@class='credit']", NS)
    assert (text_of(caption), text_of(credit)) == (article.lead_image.caption, article.lead_image.credit)
    page_text = text_of(document.find("h:body", NS))
    assert page_text.count(article.lead_image.caption) == 1
    [style] = document.iterfind(".//h:head/h:style", NS)
    assert "max-width" in text_of(style) and "figcaption .credit" in text_of(style)
    assert list(document.iterfind(".//h:link[@rel='stylesheet']", NS)) == []  # nothing to fetch


def test_alt_text_that_repeats_the_caption_is_not_written_again() -> None:
    caption = "Paratroopers engage the enemy in Mosul, Iraq, on July 6, 2017."
    article = make_article(
        source=SourceRef(id="p", name="Partner"), attribution="From Partner", url="https://partner.example/a.html",
        headline="Headline", body_html="<p>Body.</p>", body_text="Body.", fetched_at=datetime(2024, 1, 1, tzinfo=timezone.utc),
        lead_image=Image(url="https://partner.example/i.jpg", caption=caption, credit="Army photo", alt=caption),
    )
    document = html5lib.parse(render_article_html(article), namespaceHTMLElements=True)
    img = document.find(".//h:figure/h:img", NS)
    assert img.get("alt") is None  # the figcaption describes the image; a reader gets the caption once
    assert text_of(document.find("h:body", NS)).count(caption) == 1
    # a lead image the body shows already is not shown twice
    shown = article.recomputed(body_html=f'<figure><img src="https://partner.example/i.jpg" alt="x"><figcaption>{caption}'
                                         '</figcaption></figure><p>Body.</p>')
    document = html5lib.parse(render_article_html(shown), namespaceHTMLElements=True)
    assert len(list(document.iterfind(".//h:img", NS))) == 1
    assert text_of(document.find("h:body", NS)).count(caption) == 1


def test_the_page_in_chromium_loads_its_image_and_shows_caption_and_credit_apart(
    tmp_path: Path, httpserver: HTTPServer, browser_page: Any
) -> None:
    folder, article = delivered_folder(tmp_path, httpserver)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    requested: list[str] = []
    browser_page.on("request", lambda request: requested.append(request.url))
    with LoopbackHTTPServer(handler, name="files-outlet") as server:  # type: ignore[arg-type]
        browser_page.goto(server.url("/index.html"))
        browser_page.wait_for_function("Array.from(document.images).every(img => img.complete)")
        page = browser_page.evaluate("""() => {
            const figure = document.querySelector('figure.lead-image');
            const img = figure.querySelector('img');
            const caption = figure.querySelector('figcaption .caption');
            const credit = figure.querySelector('figcaption .credit');
            const style = getComputedStyle(document.querySelector('article'));
            return {
                naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, src: img.getAttribute('src'),
                caption: caption && caption.textContent, credit: credit && credit.textContent,
                apart: !!(caption && credit && caption !== credit && !caption.contains(credit) && !credit.contains(caption)),
                creditOwnLine: !!(caption && credit && credit.getBoundingClientRect().top >= caption.getBoundingClientRect().bottom - 1),
                text: document.body.innerText,
                bodyImages: Array.from(document.querySelectorAll('.article-body img')).map(
                    i => ({src: i.getAttribute('src'), naturalWidth: i.naturalWidth})),
                maxWidth: style.maxWidth, font: getComputedStyle(document.body).fontFamily,
            };
        }""")
        screenshot(browser_page, "files-outlet-page")
        origin = server.origin
    assert page["naturalWidth"] == 80 and page["naturalHeight"] == 50  # the stored lead image, loaded
    assert page["src"].startswith("image-")
    assert page["caption"] == article.lead_image.caption and page["credit"] == article.lead_image.credit
    assert page["apart"] and page["creditOwnLine"]
    assert page["text"].count(article.lead_image.caption) == 1
    assert LEAD_ALT not in page["text"]  # alt text is never shown as text (the image loaded)
    stored = [i for i in page["bodyImages"] if i["src"].startswith("image-")]
    assert len(stored) == 2 and all(i["naturalWidth"] > 0 for i in stored)
    assert page["maxWidth"] == "672px" and "Georgia" in page["font"]  # the page's own stylesheet applies
    # nothing was fetched but the page, its images beside it and the one image the store lacks (a hotlink)
    outside = [url for url in requested if not url.startswith(origin)]
    assert outside == [url for url in outside if url.endswith("/gone.png")] and len(outside) <= 1
