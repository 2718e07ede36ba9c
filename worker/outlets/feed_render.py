"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents from a list of articles, newest first. Pure functions.

Why lxml rather than feedgen: feedgen writes no JSON Feed, no Atom <source>, and RSS authors only with
an e-mail address; building the two XML trees directly is short and keeps every element in view.

Each item carries the full content with the attribution line (linked to the partner's canonical URL) at
its end, the authors, the section and tags as categories, the lead image as an enclosure, and the
partner as source: RSS `<source url="canonical URL">Partner</source>`, Atom `<source>` with the
partner's id, title and link, JSON Feed a `_syndication` extension object.

Encoding (worker/outlets/encoding.py): readers take RSS `title` and `description` as HTML (the spec says
so for description; for title it says nothing, and most readers, feedparser included, treat it as HTML),
so plain text goes into them HTML-escaped, and lxml escapes that again for XML. Atom says what each text
construct is: every one is written as type="html" with escaped text, which a reader that honours the
type shows exactly as written and a reader that renders every title as HTML (many do) shows the same.
JSON Feed's title and summary are plain text by its spec and stay so; content_html is the allowlisted body.
"""
from __future__ import annotations

import json
import mimetypes
import re
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from worker.outlets.encoding import attribution_html, html_body, html_text
from worker.schema import Article

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "syndication-worker"
#: characters XML 1.0 cannot hold at all; lxml refuses them, so they are dropped rather than fail a feed
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def entry_id(article: Article) -> str:
    """Stable across versions, so a feed reader shows a new version as an update of the same item."""
    return f"urn:syndication-worker:article:{article.id}"


def content_html(article: Article) -> str:
    return f"{html_body(article)}\n{attribution_html(article)}"


def content_text(article: Article) -> str:
    return f"{article.body_text}\n\n{article.attribution}: {article.url}".strip()


def categories(article: Article) -> list[str]:
    seen: dict[str, None] = {}
    for name in ([article.section] if article.section else []) + article.tags:
        seen.setdefault(name, None)
    return list(seen)


def image_type(url: str) -> str:
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def item_date(article: Article) -> datetime:
    return article.published or article.updated or article.fetched_at


def updated_date(article: Article) -> datetime:
    return article.updated or article.published or article.fetched_at


def feed_updated(articles: list[Article]) -> datetime:
    return max((updated_date(a) for a in articles), default=datetime(1970, 1, 1, tzinfo=timezone.utc))


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, {k.rstrip("_"): _text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _text(text)
    return element


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def render_rss(articles: list[Article], title: str, link: str, description: str,
               self_url: str | None = None) -> bytes:
    rss = etree.Element("rss", version="2.0", nsmap={"atom": ATOM, "content": CONTENT, "dc": DC})
    channel = _sub(rss, "channel")
    _sub(channel, "title", html_text(title))
    _sub(channel, "link", link)
    _sub(channel, "description", html_text(description))
    if self_url:
        _sub(channel, f"{{{ATOM}}}link", rel="self", type="application/rss+xml", href=self_url)
    _sub(channel, "lastBuildDate", format_datetime(feed_updated(articles), usegmt=True))
    _sub(channel, "generator", GENERATOR)
    for article in articles:
        item = _sub(channel, "item")
        _sub(item, "title", html_text(article.headline))
        _sub(item, "link", article.url)
        _sub(item, "guid", entry_id(article), isPermaLink="false")
        _sub(item, "pubDate", format_datetime(item_date(article), usegmt=True))
        _sub(item, "description", html_text(article.description or article.body_text[:300]))
        _sub(item, f"{{{CONTENT}}}encoded", content_html(article))
        for author in article.authors:  # RSS <author> must be an e-mail address; names go in dc:creator
            _sub(item, f"{{{DC}}}creator", author.name)
        for name in categories(article):
            _sub(item, "category", name)
        if article.lead_image:
            # RSS requires length; 0 is the accepted way to say "unknown" (we never download the image)
            _sub(item, "enclosure", url=article.lead_image.url, length="0", type=image_type(article.lead_image.url))
        _sub(item, "source", article.source.name, url=article.url)
    return _serialize(rss)


def _atom_date(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _atom_text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """An Atom text construct: declared HTML, holding the plain text HTML-escaped (see the module docstring)."""
    return _sub(parent, f"{{{ATOM}}}{tag}", html_text(text), type="html")


def render_atom(articles: list[Article], title: str, link: str, description: str, feed_id: str,
                self_url: str | None = None) -> bytes:
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _sub(feed, f"{{{ATOM}}}id", feed_id)
    _atom_text(feed, "title", title)
    _atom_text(feed, "subtitle", description)
    _sub(feed, f"{{{ATOM}}}updated", _atom_date(feed_updated(articles)))
    _sub(feed, f"{{{ATOM}}}link", rel="alternate", href=link)
    if self_url:
        _sub(feed, f"{{{ATOM}}}link", rel="self", type="application/atom+xml", href=self_url)
    # a feed-level author satisfies RFC 4287 for entries without a byline
    _sub(_sub(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name", title)
    _sub(feed, f"{{{ATOM}}}generator", GENERATOR)
    for article in articles:
        entry = _sub(feed, f"{{{ATOM}}}entry")
        _sub(entry, f"{{{ATOM}}}id", entry_id(article))
        _atom_text(entry, "title", article.headline)
        _sub(entry, f"{{{ATOM}}}updated", _atom_date(updated_date(article)))
        _sub(entry, f"{{{ATOM}}}published", _atom_date(item_date(article)))
        _sub(entry, f"{{{ATOM}}}link", rel="alternate", type="text/html", href=article.url)
        for author in article.authors:
            person = _sub(entry, f"{{{ATOM}}}author")
            _sub(person, f"{{{ATOM}}}name", author.name)
            if author.url:
                _sub(person, f"{{{ATOM}}}uri", author.url)
        for name in categories(article):
            _sub(entry, f"{{{ATOM}}}category", term=name)
        if article.description:
            _atom_text(entry, "summary", article.description)
        _sub(entry, f"{{{ATOM}}}content", content_html(article), type="html")
        if article.lead_image:
            _sub(entry, f"{{{ATOM}}}link", rel="enclosure", href=article.lead_image.url,
                 type=image_type(article.lead_image.url))
        source = _sub(entry, f"{{{ATOM}}}source")
        _sub(source, f"{{{ATOM}}}id", f"urn:syndication-worker:source:{article.source.id}")
        _atom_text(source, "title", article.source.name)
        _sub(source, f"{{{ATOM}}}link", rel="alternate", href=article.url)
        _sub(source, f"{{{ATOM}}}updated", _atom_date(updated_date(article)))
        if article.rights and article.rights.copyright_notice:
            _atom_text(entry, "rights", article.rights.copyright_notice)
    return _serialize(feed)


def render_json_feed(articles: list[Article], title: str, link: str, description: str,
                     feed_url: str | None = None) -> bytes:
    items: list[dict[str, Any]] = []
    for article in articles:
        item: dict[str, Any] = {
            "id": entry_id(article),
            "url": article.url,
            "title": article.headline,
            "content_html": content_html(article),
            "content_text": content_text(article),
            "date_published": _atom_date(item_date(article)),
            "date_modified": _atom_date(updated_date(article)),
            "authors": [{"name": a.name, **({"url": a.url} if a.url else {})} for a in article.authors],
            "tags": categories(article),
            "_syndication": {"article_id": article.id, "version": article.version,
                             "attribution": article.attribution,
                             "source": {"id": article.source.id, "name": article.source.name, "url": article.url}},
        }
        if article.description:
            item["summary"] = article.description
        if article.language:
            item["language"] = article.language
        if article.lead_image:
            item["image"] = article.lead_image.url
            item["attachments"] = [{"url": article.lead_image.url, "mime_type": image_type(article.lead_image.url)}]
        items.append({k: v for k, v in item.items() if v != []})
    feed: dict[str, Any] = {"version": JSON_FEED_VERSION, "title": title, "home_page_url": link,
                            "description": description, "items": items}
    if feed_url:
        feed["feed_url"] = feed_url
    return json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
