"""The feeds outlet with the version's stored images, read back by feedparser (what feed readers use) and
json: the lead image as the enclosure with its real length and type, every stored image as Media RSS
media:content (the lead's caption and credit apart), served by the outlet itself under public_url or
linked at the partner without it; the JSON Feed's attachments the same.

Ingested from a loopback partner and delivered through worker/flow/deliver.py to a feeds outlet.
"""
from __future__ import annotations

import json
from pathlib import Path

import feedparser
import html5lib
from lxml import etree
from pytest_httpserver import HTTPServer

from tests.support.image_partner import LEAD, ONE, TWO, Story, deployment, ingest_story, serve_story
from worker.flow.deliver import deliver_article
from worker.flow.services import Services
from worker.outlets import RemoteRef
from worker.store import DeliveryState

PUBLIC = "https://outlet.example/feeds/"
MEDIA = "http://search.yahoo.com/mrss/"
NS = {"h": "http://www.w3.org/1999/xhtml"}


def feeds_outlet(tmp_path: Path, public_url: str | None) -> str:
    public = f"    public_url: {public_url}\n" if public_url else ""
    return (f"outlets:\n  - id: feeds\n    kind: feeds\n    directory: {tmp_path / 'feeds'}\n"
            f"    title: Outlet News\n    link: https://outlet.example/\n{public}")


def publish(tmp_path: Path, httpserver: HTTPServer, public_url: str | None) -> tuple[Services, Story, str]:
    services = deployment(tmp_path, feeds_outlet(tmp_path, public_url))
    story = serve_story(httpserver)
    report = ingest_story(services, story)
    assert deliver_article(services, report.article_id, 1, "feeds").state == DeliveryState.DELIVERED
    return services, story, report.article_id


def test_served_copies_are_the_enclosure_and_media_content_read_back_by_feedparser(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    services, story, article_id = publish(tmp_path, httpserver, PUBLIC)
    article = services.store.get_article(article_id)
    assert article is not None and article.lead_image is not None
    folder = tmp_path / "feeds" / "feed-images"
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert sorted(files.values()) == sorted([LEAD, ONE, TWO])
    served = {data: f"{PUBLIC}feed-images/{name}" for name, data in files.items()}

    for suffix in (".xml", ".atom"):
        parsed = feedparser.parse((tmp_path / "feeds" / f"feed{suffix}").read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        [entry] = parsed.entries
        [enclosure] = [link for link in entry.links if link.rel == "enclosure"]
        assert (enclosure.href, enclosure.type, int(enclosure.length)) == (served[LEAD], "image/jpeg", len(LEAD))
        media = entry.media_content
        assert [(m["url"], m["type"], int(m["filesize"]), int(m["width"]), int(m["height"]), m["medium"])
                for m in media] == [(served[LEAD], "image/jpeg", len(LEAD), 80, 50, "image"),
                                    (served[ONE], "image/png", len(ONE), 40, 30, "image"),
                                    (served[TWO], "image/gif", len(TWO), 20, 20, "image")]
        # the lead's caption and credit, each in its own element: feedparser reads the credit, and keeps
        # the caption (media:description) out of the item's own title, summary and content
        assert entry.media_credit[0]["content"] == article.lead_image.credit
        assert entry.title == article.headline and len(entry.content) == 1
        assert article.lead_image.caption not in entry.content[0].value + entry.get("summary", "")
        tree = etree.fromstring((tmp_path / "feeds" / f"feed{suffix}").read_bytes())
        assert tree.xpath("//media:content[1]/media:description/text()", namespaces={"media": MEDIA}) == [
            article.lead_image.caption]
        assert tree.xpath("//media:content[1]/media:credit/text()", namespaces={"media": MEDIA}) == [
            article.lead_image.credit]
        # the content's images point at the served copies; the one the store lacks at the partner
        body = entry.content[0].value
        document = html5lib.parse(body, namespaceHTMLElements=True)
        sources = [img.get("src") for img in document.iterfind(".//h:img", NS)]
        assert sources == [served[ONE], served[TWO], story.image_url("gone.png")]

    item = json.loads((tmp_path / "feeds" / "feed.json").read_text())["items"][0]
    assert item["image"] == served[LEAD]
    assert [(a["url"], a["mime_type"], a["size_in_bytes"]) for a in item["attachments"]] == [
        (served[LEAD], "image/jpeg", len(LEAD)), (served[ONE], "image/png", len(ONE)), (served[TWO], "image/gif", len(TWO))]


def test_without_a_public_url_the_feeds_link_the_partner_with_the_stored_facts(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    _, story, _ = publish(tmp_path, httpserver, None)
    assert not (tmp_path / "feeds" / "feed-images").exists()
    parsed = feedparser.parse((tmp_path / "feeds" / "feed.xml").read_bytes())
    [entry] = parsed.entries
    [enclosure] = [link for link in entry.links if link.rel == "enclosure"]
    assert (enclosure.href, int(enclosure.length)) == (story.image_url("lead.jpg"), len(LEAD))
    assert [m["url"] for m in entry.media_content] == [story.image_url(n) for n in ("lead.jpg", "one.png", "two.gif")]


def test_a_served_copy_no_item_names_any_more_is_removed(tmp_path: Path, httpserver: HTTPServer) -> None:
    services, _, article_id = publish(tmp_path, httpserver, PUBLIC)
    folder = tmp_path / "feeds" / "feed-images"
    assert len(list(folder.iterdir())) == 3
    services.outlet("feeds").withdraw(RemoteRef(article_id), "the partner withdrew it")
    assert list(folder.iterdir()) == []
