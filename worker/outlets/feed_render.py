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

Images (`media`, per article id, from the version's stored images: see feeds.py): the lead image is the
RSS `<enclosure>` and the Atom `rel="enclosure"` link with its real length and sniffed type, and every
stored image is a Media RSS `<media:content>` (url, type, medium, fileSize, width, height; the lead's
caption as `<media:description>` and its credit as `<media:credit>`, apart), in RSS and Atom alike; JSON
Feed lists them as attachments with size_in_bytes. Their URLs are where the outlet serves its copies, or
the partner's; the body's `<img src>` point at the same. Without media, the lead image goes out as
before: the partner's URL, length 0 ("unknown"), the type guessed from the URL.
"""
from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from lxml import etree

from worker.outlets.encoding import attribution_html, html_body, html_text
from worker.outlets.images import rewrite_body_images
from worker.schema import Article

ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
MEDIA = "http://search.yahoo.com/mrss/"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
GENERATOR = "syndication-worker"
#: characters XML 1.0 cannot hold at all; lxml refuses them, so they are dropped rather than fail a feed
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass(frozen=True)
class FeedImage:
    """A stored image as a feed item carries it: where it is served (`href`) and what the bytes are."""

    #: the partner's URL, as the article names it
    url: str
    #: where a feed reader fetches it: the outlet's copy under public_url, or the partner's URL
    href: str
    content_type: str
    byte_size: int
    width: int
    height: int
    #: "lead" or "body"
    role: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


#: article id → its stored images, lead first
Media = Mapping[str, Sequence[FeedImage]]


def _lead_media(article: Article, images: Sequence[FeedImage]) -> FeedImage | None:
    if article.lead_image is None:
        return None
    return next((image for image in images if image.url == article.lead_image.url), None)


def entry_id(article: Article) -> str:
    """Stable across versions, so a feed reader shows a new version as an update of the same item."""
    return f"urn:syndication-worker:article:{article.id}"


def content_html(article: Article, images: Sequence[FeedImage] = ()) -> str:
    sources = {image.url: image.href for image in images if image.href != image.url}
    body = rewrite_body_images(article, sources) if sources else html_body(article)
    return f"{body}\n{attribution_html(article)}"


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


def _media_content(parent: etree._Element, article: Article, images: Sequence[FeedImage]) -> None:
    """A Media RSS <media:content> per stored image; the lead's caption and credit as two elements."""
    for image in images:
        element = _sub(parent, f"{{{MEDIA}}}content", url=image.href, type=image.content_type, medium="image",
                       fileSize=str(image.byte_size), width=str(image.width), height=str(image.height))
        lead = article.lead_image
        if lead is not None and image.url == lead.url:
            if lead.caption:
                _sub(element, f"{{{MEDIA}}}description", lead.caption, type="plain")
            if lead.credit:
                _sub(element, f"{{{MEDIA}}}credit", lead.credit)


def render_rss(articles: list[Article], title: str, link: str, description: str,
               self_url: str | None = None, media: Media | None = None) -> bytes:
    rss = etree.Element("rss", version="2.0", nsmap={"atom": ATOM, "content": CONTENT, "dc": DC, "media": MEDIA})
    channel = _sub(rss, "channel")
    _sub(channel, "title", html_text(title))
    _sub(channel, "link", link)
    _sub(channel, "description", html_text(description))
    if self_url:
        _sub(channel, f"{{{ATOM}}}link", rel="self", type="application/rss+xml", href=self_url)
    _sub(channel, "lastBuildDate", format_datetime(feed_updated(articles), usegmt=True))
    _sub(channel, "generator", GENERATOR)
    for article in articles:
        images = (media or {}).get(article.id, ())
        item = _sub(channel, "item")
        _sub(item, "title", html_text(article.headline))
        _sub(item, "link", article.url)
        _sub(item, "guid", entry_id(article), isPermaLink="false")
        _sub(item, "pubDate", format_datetime(item_date(article), usegmt=True))
        _sub(item, "description", html_text(article.description or article.body_text[:300]))
        _sub(item, f"{{{CONTENT}}}encoded", content_html(article, images))
        for author in article.authors:  # RSS <author> must be an e-mail address; names go in dc:creator
            _sub(item, f"{{{DC}}}creator", author.name)
        for name in categories(article):
            _sub(item, "category", name)
        lead = _lead_media(article, images)
        if lead is not None:
            _sub(item, "enclosure", url=lead.href, length=str(lead.byte_size), type=lead.content_type)
        elif article.lead_image:
            # RSS requires length; 0 is the accepted way to say "unknown" (the image is not in the store)
            _sub(item, "enclosure", url=article.lead_image.url, length="0", type=image_type(article.lead_image.url))
        _media_content(item, article, images)
        _sub(item, "source", article.source.name, url=article.url)
    return _serialize(rss)


def _atom_date(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _atom_text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    """An Atom text construct: declared HTML, holding the plain text HTML-escaped (see the module docstring)."""
    return _sub(parent, f"{{{ATOM}}}{tag}", html_text(text), type="html")


def render_atom(articles: list[Article], title: str, link: str, description: str, feed_id: str,
                self_url: str | None = None, media: Media | None = None) -> bytes:
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM, "media": MEDIA})
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
        images = (media or {}).get(article.id, ())
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
        summary = article.description or article.body_text[:300]
        if summary:
            # as RSS's description; always there, so a reader never takes the image's media:description for it
            _atom_text(entry, "summary", summary)
        _sub(entry, f"{{{ATOM}}}content", content_html(article, images), type="html")
        lead = _lead_media(article, images)
        if lead is not None:
            _sub(entry, f"{{{ATOM}}}link", rel="enclosure", href=lead.href, type=lead.content_type,
                 length=str(lead.byte_size))
        elif article.lead_image:
            _sub(entry, f"{{{ATOM}}}link", rel="enclosure", href=article.lead_image.url,
                 type=image_type(article.lead_image.url))
        _media_content(entry, article, images)
        source = _sub(entry, f"{{{ATOM}}}source")
        _sub(source, f"{{{ATOM}}}id", f"urn:syndication-worker:source:{article.source.id}")
        _atom_text(source, "title", article.source.name)
        _sub(source, f"{{{ATOM}}}link", rel="alternate", href=article.url)
        _sub(source, f"{{{ATOM}}}updated", _atom_date(updated_date(article)))
        if article.rights and article.rights.copyright_notice:
            _atom_text(entry, "rights", article.rights.copyright_notice)
    return _serialize(feed)


def render_json_feed(articles: list[Article], title: str, link: str, description: str,
                     feed_url: str | None = None, media: Media | None = None) -> bytes:
    items: list[dict[str, Any]] = []
    for article in articles:
        images = (media or {}).get(article.id, ())
        item: dict[str, Any] = {
            "id": entry_id(article),
            "url": article.url,
            "title": article.headline,
            "content_html": content_html(article, images),
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
        lead = _lead_media(article, images)
        if images:
            item["image"] = lead.href if lead is not None else (article.lead_image.url if article.lead_image else None)
            item["attachments"] = [{"url": image.href, "mime_type": image.content_type,
                                    "size_in_bytes": image.byte_size} for image in images]
            if item["image"] is None:
                del item["image"]
        elif article.lead_image:
            item["image"] = article.lead_image.url
            item["attachments"] = [{"url": article.lead_image.url, "mime_type": image_type(article.lead_image.url)}]
        items.append({k: v for k, v in item.items() if v != []})
    feed: dict[str, Any] = {"version": JSON_FEED_VERSION, "title": title, "home_page_url": link,
                            "description": description, "items": items}
    if feed_url:
        feed["feed_url"] = feed_url
    return json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
