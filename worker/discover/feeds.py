"""RSS 0.9x / 1.0 / 2.0 and Atom feeds → Candidates, through feedparser after the XML safety screen.

feedparser already knows every dialect (RSS 1.0's rdf:about, RSS 2.0's guid isPermaLink, Atom's
alternate links and xml:base, a dozen date formats); this module only maps its result onto Candidate
and adds the withdrawal signals it does not interpret. FeedKind is the `kind: feed` discover entry.
"""
from __future__ import annotations

import calendar
import io
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Literal

import feedparser
import lxml.html
from lxml import etree

from worker.config import Source
from worker.discover.candidates import Candidate, DiscoveryParseError, UnsafeXmlError, parse_w3c_date
from worker.discover.kind import RICHEST, DiscoveryKind, DiscoveryOptions, Fetch, PollState
from worker.discover.xmlsafe import Tombstone, gunzip_capped, screen_feed
from worker.http.urls import is_http, normalize_link
from worker.schema.declared import DeclaredArticle, DeclaredImage, image_dimension

#: Entries returned per feed at most; the rest of a longer document is never parsed. Real feeds carry
#: 10-100 entries; an archive feed of thousands is still covered, a 100,000-entry document is cut.
MAX_FEED_ENTRIES = 5000

#: ninjs / NewsML-G2 pubstatus values (and common spellings) meaning "do not use this any more"; withheld
#: is included because it also means the article must not be shown now.
WITHDRAWN_STATUSES = frozenset({"canceled", "cancelled", "withheld", "withdrawn", "deleted", "killed"})
#: Media RSS <media:status state="..."> values meaning the item is gone.
WITHDRAWN_MEDIA_STATES = frozenset({"blocked", "deleted"})


def parse_feed(data: bytes, base_url: str, max_entries: int = MAX_FEED_ENTRIES,
               body_from: BodyFrom = "page") -> list[Candidate]:
    """Candidates for a feed's entries, in feed order, at most `max_entries` of them, plus one withdrawn
    Candidate per Atom tombstone that names a URL. `body_from` "feed" (or "auto", for an entry whose
    content is the whole article) makes each entry with content a declared item: no page fetch.

    Raises UnsafeXmlError (entity declarations), DecompressedTooLargeError (gzip bomb), and
    DiscoveryParseError when the bytes are not a feed at all (an HTML error page, nothing).
    """
    data = gunzip_capped(data)
    if not data.strip():
        raise DiscoveryParseError(f"{base_url}: the feed is empty")
    try:
        screened = screen_feed(data, max_entries)
    except UnsafeXmlError as exc:
        raise UnsafeXmlError(f"{base_url}: {exc.reason}") from None
    data = _INVALID_CHARACTER_REFERENCE.sub(_replace_invalid_reference, screened.data)
    try:
        # A stream, never bytes: given bytes feedparser tries them as a file name (and a URL) first.
        parsed = feedparser.parse(io.BytesIO(data), response_headers={"content-location": base_url})
    except (ValueError, OverflowError, UnicodeError, LookupError, RecursionError) as exc:
        # feedparser's own bugs on hostile bytes (a character reference it cannot decode, an encoding
        # it guesses wrong); the document is refused by name rather than crashing the poll
        raise DiscoveryParseError(f"{base_url}: the feed cannot be read ({type(exc).__name__}: {exc})") from None
    if not parsed.entries and not parsed.get("version"):
        reason = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise DiscoveryParseError(f"{base_url}: not an RSS or Atom feed ({reason})")
    candidates = [c for c in (_from_entry(e, base_url, body_from) for e in parsed.entries[:max_entries]) if c]
    candidates.extend(c for c in (_from_tombstone(t, base_url) for t in screened.tombstones) if c)
    return candidates


#: numeric character references, to check before feedparser sees them: it raises on a surrogate
#: (&#xD800;), a code point past U+10FFFF or a number too big for chr() instead of ignoring them
_CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_INVALID_CHARACTER_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _replace_invalid_reference(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.groups()
    if len(hex_digits or decimal) > 8:
        return b"&#xFFFD;"
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    valid = 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
    return match.group(0) if valid else b"&#xFFFD;"


def _datetime(value: time.struct_time | None) -> datetime | None:
    """feedparser's struct_time (already converted to UTC) as an aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    except (OverflowError, ValueError, TypeError):
        return None


def _plain(detail: dict[str, Any] | None, value: str | None) -> str | None:
    """Text of a title given as HTML (Atom type="html"); plain titles pass through."""
    if not value:
        return None
    value = _CONTROL_CHARACTERS.sub("", value)  # lxml refuses them (ValueError), and they mean nothing in a title
    if detail and "html" in (detail.get("type") or "") and "<" in value:
        try:
            value = lxml.html.fragment_fromstring(value, create_parent="div").text_content()
        except (etree.ParserError, ValueError):
            pass  # the title as written, markup and all, is still better than no title
    return " ".join(value.split()) or None


def _unique(values: list[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))


def _withdrawn(entry: dict[str, Any]) -> bool:
    for key, value in entry.items():
        # feedparser names an unknown element by its prefix: <pubstatus>, <ninjs:pubstatus>, <nitf:pubstatus>
        if ((key == "pubstatus" or key.endswith("_pubstatus")) and isinstance(value, str)
                and value.strip().lower() in WITHDRAWN_STATUSES):
            return True
    media_status = entry.get("media_status")
    if isinstance(media_status, dict):
        return (media_status.get("state") or "").strip().lower() in WITHDRAWN_MEDIA_STATES
    return False


def _lead_image(entry: dict[str, Any]) -> DeclaredImage | None:
    """The entry's picture: Media RSS media:content (an image), else an image enclosure, else
    media:thumbnail. No caption: feedparser files media:description under the entry's summary."""
    get = dict.get
    for media in get(entry, "media_content") or []:
        if (media.get("medium") == "image" or (media.get("type") or "").startswith("image/")) and media.get("url"):
            credit = next((c.get("content") for c in get(entry, "media_credit") or [] if c.get("content")), None)
            return DeclaredImage(url=media["url"], credit=credit, width=_dimension(media.get("width")),
                                 height=_dimension(media.get("height")))
    for link in get(entry, "links") or []:
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/") and link.get("href"):
            return DeclaredImage(url=link["href"])
    for thumbnail in get(entry, "media_thumbnail") or []:
        if thumbnail.get("url"):
            return DeclaredImage(url=thumbnail["url"])
    return None


def _dimension(value: object) -> int | None:
    """A Media RSS width/height attribute (text) as a size, when it is one."""
    try:
        return image_dimension(int(str(value)))
    except ValueError:
        return None


def _declared(entry: dict[str, Any], candidate: Candidate) -> DeclaredArticle:
    """A full-content entry as the declared article: its content is the body, its fields the metadata."""
    summary = candidate.summary
    return DeclaredArticle(
        url=candidate.url, headline=candidate.title, body_html=candidate.content_hint or "",
        description=summary if summary and summary != candidate.content_hint else None,
        authors=[a for a in candidate.authors if "@" not in a], published=candidate.published, updated=candidate.updated,
        tags=list(candidate.categories), lead_image=_lead_image(entry),
    )


#: what ends a teaser rather than an article: an ellipsis (…, ..., […], [...]) closing the last block
_TRUNCATED = re.compile(r"(?:\u2026|\.\.\.|\[(?:\u2026|\.\.\.)\])\W{0,3}$")
#: below this a content is an excerpt whatever its form (a feed's 'content' is sometimes a one-liner)
MIN_WHOLE_WORDS = 80


def is_whole_article(content_html: str, summary: str | None, entry_url: str) -> bool:
    """Whether a feed entry's content is the whole article (`body_from: auto`), judged by its shape:
    at least two blocks and MIN_WHOLE_WORDS words, more than its summary, not closing on an ellipsis,
    and no closing link to the entry's own page (a "continue reading" link, in whatever language)."""
    try:
        fragment = lxml.html.fragment_fromstring(content_html, create_parent="div")
    except (etree.ParserError, ValueError):
        return False
    text = " ".join(fragment.text_content().split())
    if len(text.split()) < MIN_WHOLE_WORDS:
        return False
    blocks = [b for b in fragment if isinstance(b.tag, str) and " ".join(b.text_content().split())]
    if len(blocks) < 2:
        return False
    if summary and len(text) <= len(" ".join(lxml.html.fragment_fromstring(
            summary, create_parent="div").text_content().split())) * 1.2:
        return False  # the content is the summary again, or barely more
    last = blocks[-1]
    if _TRUNCATED.search(" ".join(last.text_content().split())):
        return False
    own = entry_url.split("#")[0].rstrip("/")
    for link in last.iter("a"):
        href = (link.get("href") or "").split("#")[0].rstrip("/")
        try:
            target = normalize_link(href, entry_url) if href else ""
        except ValueError:
            continue
        if target and target.split("#")[0].rstrip("/") == own:
            return False
    return True


def _from_entry(entry: feedparser.FeedParserDict, base_url: str, body_from: str = "page") -> Candidate | None:
    # dict.get, not entry.get: FeedParserDict answers `updated` with `published` when there is no updated,
    # which would make every RSS entry look edited at its publication time.
    get = dict.get
    guid = get(entry, "id") or None
    # FeedBurner-style feeds link to a redirector and give the article's own URL as feedburner:origLink
    link = get(entry, "feedburner_origlink") or get(entry, "link") or (guid if get(entry, "guidislink") else None)
    if not link:
        return None
    try:
        url = normalize_link(link, base_url)
    except ValueError:
        return None  # one broken link must not cost the other entries
    if not is_http(url):
        return None  # an Atom entry without a link gets its `tag:` id as link from feedparser
    content = get(entry, "content") or []
    candidate = Candidate(
        url=url,
        guid=guid,
        title=_plain(get(entry, "title_detail"), get(entry, "title")),
        published=_datetime(get(entry, "published_parsed")),
        updated=_datetime(get(entry, "updated_parsed")),
        authors=_unique([a.get("name") or a.get("email") for a in get(entry, "authors") or []]),
        categories=_unique([t.get("label") or t.get("term") for t in get(entry, "tags") or []]),
        summary=get(entry, "summary") or None,
        content_hint=(content[0].get("value") or None) if content else None,
        withdrawn=_withdrawn(entry),
    )
    if body_from == "page" or candidate.withdrawn or not candidate.content_hint:
        return candidate
    if body_from == "auto" and not is_whole_article(candidate.content_hint, candidate.summary, url):
        return candidate
    return replace(candidate, item=_declared(entry, candidate))


def _from_tombstone(tombstone: Tombstone, base_url: str) -> Candidate | None:
    """A deleted entry as a withdrawn Candidate. Dropped when neither its link nor its ref is a URL:
    the poller matches articles by URL, and an opaque `tag:` id alone matches nothing."""
    link = tombstone.link or (tombstone.ref if tombstone.ref.startswith(("http://", "https://")) else None)
    if not link:
        return None
    try:
        url = normalize_link(link, base_url)
    except ValueError:
        return None
    if not is_http(url):
        return None
    return Candidate(url=url, guid=tombstone.ref or None, updated=parse_w3c_date(tombstone.when), withdrawn=True)


BodyFrom = Literal["feed", "page", "auto"]


class FeedOptions(DiscoveryOptions):
    url: str
    #: where an article's body comes from: "page" (fetch and extract it: the default, as before),
    #: "feed" (the entry's content:encoded / atom:content; the page only for an entry without one),
    #: "auto" (the entry's content when it is the whole article, see is_whole_article; else the page)
    body_from: BodyFrom = "page"


class FeedKind(DiscoveryKind[FeedOptions]):
    """`kind: feed`: an RSS or Atom feed of the partner's articles (withdrawal markers included)."""

    options_model = FeedOptions
    richness = RICHEST

    def discover(self, fetch: Fetch, options: FeedOptions, source: Source, state: PollState) -> list[Candidate]:
        page = fetch(options.url)
        return parse_feed(page.body, page.url, body_from=options.body_from) if page else []
