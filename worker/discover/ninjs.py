"""`kind: ninjs`: a JSON endpoint of IPTC ninjs items; each item is the whole article, no page fetched.

ninjs (News in JSON, https://iptc.org/standards/ninjs/) is what agencies and newsroom systems publish.
An endpoint answers with one item, a JSON list of items, or an envelope holding the list, in the
shapes real APIs use: `{"items": [...]}`, `{"data": [...]}`, Eve's `{"_items": [...]}` (Superdesk),
`{"hits": [...]}` (TT), and AP's `{"data": {"items": [{"item": {...}}]}}`. Each item becomes a Candidate
carrying its DeclaredArticle (worker/schema/declared.py), stored with the link by the poll; the ingest
makes it canonical (worker/extract/declared.py) without fetching anything.

The article's identity is its public web URL: the item's `uri` when that is an http(s) URL on the
source's allowed domains, else a web URL from `links` or `altids` (our own to_ninjs puts it in the
altid "canonical-url"), else the item is skipped and the poll log says why. `pubstatus` canceled or
withheld withdraws the article; an item under a future `embargoed` waits for a later poll; `version`
and `versioncreated` make a new fingerprint, so a new version is re-ingested (and stored as a new
version when its content changed).

Everything in the document is hostile until read: the JSON is size-capped by the fetch, refused by name
(NinjsDocumentError) when it is not JSON, nested past reason or not shaped like ninjs at all, and read
field by field with its type checked, so a field of the wrong type counts as absent and a broken item
costs that item only. Never a KeyError or TypeError.
"""
from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from worker.config import Source
from worker.discover.candidates import Candidate, DiscoveryParseError, parse_w3c_date
from worker.discover.feeds import WITHDRAWN_STATUSES
from worker.discover.kind import RICHEST, DiscoveryKind, DiscoveryOptions, Fetch, PollState
from worker.extract.authors import split_byline
from worker.http.urls import is_http, join_http, normalize_link
from worker.schema.declared import DeclaredArticle, DeclaredImage, image_dimension

log = logging.getLogger(__name__)

#: what the endpoint is asked for: JSON (an API that also speaks NewsML-G2 or RSS negotiates on it)
NINJS_ACCEPT = "application/json, application/*+json;q=0.9, */*;q=0.1"
#: items read from one document at most by default (the `max_items` option; MAX_ITEMS at most)
DEFAULT_MAX_ITEMS = 200
MAX_ITEMS = 5000
#: entries of any one list inside an item that are looked at (headlines, subjects, renditions, ...)
MAX_LIST = 200
#: envelope keys that hold the list of items, in the order they are tried
_LIST_KEYS = ("items", "data", "_items", "hits", "results")
#: item types that are articles; pictures, audio, video and graphics in the list are not (ninjs `type`)
_ARTICLE_TYPES = frozenset({"text", "composite"})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
#: link relations and altid roles that name the article's own web page, best first
_WEB_RELS = ("canonical", "alternate", "self", "web", "weburl", "permalink", "link", "url")
_WEB_ALTID_ROLES = ("canonical-url", "canonical", "weburl", "web", "url", "permalink", "link")
#: description roles that summarise the article (best first); "alt" belongs to pictures
_SUMMARY_ROLES = ("summary", "lead", "abstract", "description", "main", "text")
#: how a person in `people` is related to the item when they wrote it
_AUTHOR_RELS = frozenset({"author", "creator", "writer", "byline"})
#: renditions wider than this are print originals (TT's 4724 px Hires): a web size is preferred
_WEB_WIDTH = 2560
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


class NinjsDocumentError(DiscoveryParseError):
    """The endpoint's answer is not ninjs we can read: not JSON, nested past reason, or neither an
    item nor a list of items. The whole poll of the entry fails with this (items are judged alone)."""

    code = "ninjs_invalid"


@dataclass(frozen=True)
class NinjsCandidate(Candidate):
    """A Candidate whose fingerprint also covers the item's `version`: a partner bumping the version
    re-plans the item even where nothing else it declares changed (the store then decides whether the
    article changed). Other candidates' fingerprints are left as they were."""

    version: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.version is not None:
            combined = json.dumps([self.fingerprint, self.version]).encode("utf-8")
            object.__setattr__(self, "fingerprint", hashlib.sha256(combined).hexdigest()[:16])


# --- reading hostile JSON by type ---------------------------------------------------------------


def _text(value: object) -> str | None:
    """A non-empty string, else None (numbers, objects and lists in a text field count as absent)."""
    return value if isinstance(value, str) and value.strip() else None


def _objects(value: object) -> list[dict[str, Any]]:
    """The objects of a list field (at most MAX_LIST); an object keyed by name (AP's associations and
    renditions) counts as the list of its values; anything else as an empty list."""
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        return []
    return [v for v in value[:MAX_LIST] if isinstance(v, dict)]


def _first(entries: list[dict[str, Any]], key: str, wanted: tuple[str, ...]) -> dict[str, Any] | None:
    """The first entry whose `key` (case-insensitive) is the earliest of `wanted`."""
    for choice in wanted:
        for entry in entries:
            found = _text(entry.get(key))
            if found is not None and found.strip().lower() == choice:
                return entry
    return None


def _value(entry: dict[str, Any] | None) -> str | None:
    return _text(entry.get("value")) if entry is not None else None


def _version(value: object) -> str | None:
    """ninjs says a string ("3"); AP sends a number. A bool or anything else is no version."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return _text(value)


def _date(value: object) -> datetime | None:
    return parse_w3c_date(value) if isinstance(value, str) else None


def _web_url(value: object, base: str | None, source: Source) -> str | None:
    """`value` as a normalized http(s) URL on the source's allowed domains, else None (a `javascript:`
    or `urn:` uri, a host the source does not allow). Relative values resolve against `base` only
    when one is given: a ninjs `uri` is an identifier, never relative to the endpoint."""
    text = _text(value)
    if text is None:
        return None
    url = join_http(base, text) if base is not None else (text.strip() if is_http(text.strip()) else None)
    if url is None:
        return None
    try:
        url = normalize_link(url)
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return url if host and source.allows_host(host) else None


# --- the document -------------------------------------------------------------------------------


def parse_document(data: bytes, where: str, max_items: int = DEFAULT_MAX_ITEMS) -> list[dict[str, Any]]:
    """The items of a ninjs endpoint's answer (at most `max_items`), each a JSON object; entries of
    the list that are not objects are dropped with a log line. Raises NinjsDocumentError for an answer
    that is not JSON or not an item, a list of items or an envelope of one."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise NinjsDocumentError(f"{where}: the JSON nests too deeply to be a ninjs document") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a number past int's digit limit
        raise NinjsDocumentError(f"{where}: the answer is not JSON ({exc})"[:500]) from None
    entries = _entries(doc, where)
    if len(entries) > max_items:
        log.info("ninjs %s: %d items, the first %d read (max_items)", where, len(entries), max_items)
    items = []
    skipped: list[str] = []
    for index, entry in enumerate(entries[:max_items]):
        if isinstance(entry, dict) and isinstance(entry.get("item"), dict) and "uri" not in entry:
            entry = entry["item"]  # AP: {"meta": {...}, "item": {...}}
        if isinstance(entry, dict):
            items.append(entry)
        else:
            skipped.append(f"{index} (a {type(entry).__name__})")
    if skipped:
        log.warning("ninjs %s: %d entries skipped, not item objects: %s", where, len(skipped),
                    ", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else ""))
    return items


def _entries(doc: object, where: str) -> list[object]:
    if isinstance(doc, list):
        return doc
    if not isinstance(doc, dict):
        raise NinjsDocumentError(f"{where}: a JSON {type(doc).__name__}, not a ninjs item or a list of items")
    if "uri" in doc or "headlines" in doc or "bodies" in doc:
        return [doc]  # one item
    for key in _LIST_KEYS:
        inner = doc.get(key)
        if isinstance(inner, list):
            return inner
        if isinstance(inner, dict):  # AP: {"data": {"items": [...]}}
            for nested in _LIST_KEYS:
                if isinstance(inner.get(nested), list):
                    return inner[nested]
    keys = ", ".join(sorted(str(k) for k in doc)[:10])
    raise NinjsDocumentError(f"{where}: a JSON object that is neither a ninjs item (no uri) nor a list of "
                             f"items under {'/'.join(_LIST_KEYS)} (its keys: {keys or 'none'})"[:500])


# --- one item -----------------------------------------------------------------------------------


def _article_url(item: dict[str, Any], base: str, source: Source) -> str | None:
    """The item's web URL: its uri, else a web link, else a web altid (see the module docstring)."""
    url = _web_url(item.get("uri"), None, source)
    if url is not None:
        return url
    links = _objects(item.get("links"))
    ordered = [e for rel in _WEB_RELS for e in links if (_text(e.get("rel")) or "").lower() == rel]
    for link in ordered + links:
        kind = (_text(link.get("contenttype")) or _text(link.get("type")) or "text/html").lower()
        if kind.startswith(_HTML_TYPES):
            url = _web_url(link.get("href") or link.get("uri"), base, source)
            if url is not None:
                return url
    altids = item.get("altids")
    pairs: list[tuple[str, object]]
    if isinstance(altids, dict):  # AP: {"itemid": "...", "etag": "..."}
        pairs = [(str(k).lower(), v) for k, v in list(altids.items())[:MAX_LIST]]
    else:
        pairs = [((_text(a.get("role")) or "").lower(), a.get("value")) for a in _objects(altids)]
    ordered_pairs = [p for role in _WEB_ALTID_ROLES for p in pairs if p[0] == role] + pairs
    for _role, value in ordered_pairs:
        url = _web_url(value, None, source)
        if url is not None:
            return url
    return None


def _altid(item: dict[str, Any], role: str) -> str | None:
    return _value(_first(_objects(item.get("altids")), "role", (role,)))


def _headline(item: dict[str, Any]) -> str | None:
    headlines = _objects(item.get("headlines"))
    chosen = _value(_first(headlines, "role", ("main",)))
    return chosen or next((v for v in map(_value, headlines) if v), None) or _text(item.get("headline"))


def _paragraphs(text: str) -> str:
    """Plain text as escaped paragraphs: blank lines part paragraphs; a text without any, its lines."""
    parts = _PARAGRAPH_BREAK.split(text) if _PARAGRAPH_BREAK.search(text) else text.split("\n")
    return "".join(f"<p>{html.escape(' '.join(p.split()))}</p>" for p in parts if p.strip())


def _body_html(item: dict[str, Any]) -> str | None:
    """The body as HTML: an HTML body (role main first), else a plain-text one made into paragraphs,
    else ninjs 1.x's body_html / body_text. A body without a content type is HTML when it starts as
    markup, text otherwise (IPTC's own examples have both)."""
    markup: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    for body in _objects(item.get("bodies")):
        value = _value(body)
        if value is None:
            continue
        kind = (_text(body.get("contenttype")) or "").lower()
        if kind.startswith(_HTML_TYPES) or (not kind and value.lstrip().startswith("<")):
            markup.append(body)
        elif kind.startswith("text/plain") or not kind:
            plain.append(body)
    for group, convert in ((markup, str), (plain, _paragraphs)):
        if group:
            chosen = _first(group, "role", ("main",)) or group[0]
            return convert(_value(chosen) or "")
    legacy = _text(item.get("body_html"))
    if legacy is not None:
        return legacy
    legacy_text = _text(item.get("body_text"))
    return _paragraphs(legacy_text) if legacy_text is not None else None


def _description(item: dict[str, Any]) -> str | None:
    descriptions = [d for d in _objects(item.get("descriptions")) if (_text(d.get("role")) or "").lower() != "alt"]
    chosen = _value(_first(descriptions, "role", _SUMMARY_ROLES))
    return (chosen or next((v for v in map(_value, descriptions) if v), None)
            or _text(item.get("description_text")) or _text(item.get("description_html")))


def _authors(item: dict[str, Any]) -> list[str]:
    """people (or `authors`) related as authors; else the names in `by` (or 1.x's `byline`)."""
    names: list[str] = []
    for person in _objects(item.get("people")):
        rel = (_text(person.get("rel")) or _text(person.get("role")) or "").lower()
        if rel in _AUTHOR_RELS:
            names.append(_text(person.get("name")) or "")
    listed = item.get("authors")
    for author in listed[:MAX_LIST] if isinstance(listed, list) else []:
        names.append((_text(author.get("name")) if isinstance(author, dict) else _text(author)) or "")
    names = [n for n in names if n]
    if not names:
        names = split_byline(_text(item.get("by")) or _text(item.get("byline")))
    return list(dict.fromkeys(" ".join(n.split()) for n in names))


def _section_and_tags(item: dict[str, Any]) -> tuple[str | None, list[str]]:
    """Subjects' names are the tags; the one related as "section" (our own mapping) is the section,
    else the first genre (an agency's desk or form: TT's "Inrikes")."""
    subjects = _objects(item.get("subjects"))
    section_subject = _first(subjects, "rel", ("section",))
    genres = _objects(item.get("genres"))
    section_genre = _first(genres, "rel", ("section",)) or (genres[0] if genres else None)
    section = _text((section_subject or section_genre or {}).get("name"))
    tags = [_text(s.get("name")) for s in subjects if s is not section_subject]
    return section, list(dict.fromkeys(t.strip() for t in tags if t))


def _dimension(value: object) -> int | None:
    """A ninjs rendition's width/height (a JSON number) as a size, when it is one."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return image_dimension(int(value))


def _rendition(picture: dict[str, Any], base: str) -> tuple[str, int | None, int | None] | None:
    """The picture's web-size rendition: the widest image not wider than _WEB_WIDTH (else the
    narrowest), as (url, width, height). Renditions hold the files; the picture's uri names it."""
    found = []
    for rendition in _objects(picture.get("renditions")):
        kind = (_text(rendition.get("contenttype")) or "image/").lower()
        url = join_http(base, _text(rendition.get("href")))
        if url is None or not kind.startswith("image/"):
            continue
        found.append((url, _dimension(rendition.get("width")), _dimension(rendition.get("height"))))
    if not found:
        return None
    web = [r for r in found if r[1] is None or r[1] <= _WEB_WIDTH]
    if web:
        return max(web, key=lambda r: r[1] or 0)
    return min(found, key=lambda r: r[1] or 0)


def _lead_image(item: dict[str, Any], base: str) -> DeclaredImage | None:
    """The first picture association (ours is named "featureimage"): a rendition's file, its caption
    from its headlines or descriptions, its alt from a description with role "alt", its credit from
    `by`, else `copyrightholder`."""
    associations = _objects(item.get("associations"))
    pictures = [a for a in associations if (_text(a.get("type")) or "").lower() in ("picture", "graphic")]
    pictures.sort(key=lambda a: ((_text(a.get("type")) or "").lower() != "picture",
                                 _text(a.get("name")) != "featureimage"))
    for picture in pictures:
        rendition = _rendition(picture, base)
        uri = _text(picture.get("uri"))
        if rendition is None and uri is not None and is_http(uri.strip()):
            rendition = (uri.strip(), None, None)
        if rendition is None:
            continue
        descriptions = _objects(picture.get("descriptions"))
        alt = _value(_first(descriptions, "role", ("alt",)))
        captions = [d for d in descriptions if (_text(d.get("role")) or "").lower() != "alt"]
        caption = _headline(picture) or next((v for v in map(_value, captions) if v), None)
        credit = _text(picture.get("by")) or _text(picture.get("copyrightholder"))
        url, width, height = rendition
        return DeclaredImage(url=url, caption=caption, credit=credit, alt=alt, width=width, height=height)
    return None


def _publisher(item: dict[str, Any]) -> str | None:
    infosources = _objects(item.get("infosources"))
    originator = _first(infosources, "role", ("originator", "publisher", "source"))
    return _text((originator or {}).get("name")) or _text(item.get("copyrightholder"))


def _dates(item: dict[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(published, updated). Our own documents keep the partner's dates in altids (versioncreated is
    the version's time); another system's are firstcreated and versioncreated."""
    published = _date(_altid(item, "published"))
    updated = _date(_altid(item, "updated"))
    if published is not None or updated is not None:
        return published, updated
    return _date(item.get("firstcreated")), _date(item.get("versioncreated"))


def candidate_from_item(item: dict[str, Any], base: str, source: Source,
                        now: datetime | None = None) -> Candidate | None:
    """The Candidate for one ninjs item, or None (logged with the reason) when it is not one to take:
    no web URL on the source's domains, not an article type, embargoed, or without a headline."""
    where = _text(item.get("uri")) or "an item without uri"
    where = where[:200]
    kind = (_text(item.get("type")) or "text").lower()
    if kind not in _ARTICLE_TYPES:
        log.info("ninjs %s: item %r skipped: type %r is not an article", base, where, kind)
        return None
    url = _article_url(item, base, source)
    if url is None:
        log.warning("ninjs %s: item %r skipped: neither its uri nor its links or altids give an http(s) URL "
                    "on the source's allowed domains", base, where)
        return None
    version = _version(item.get("version"))
    version_created = _date(item.get("versioncreated"))
    status = (_text(item.get("pubstatus")) or "usable").strip().lower()
    if status in WITHDRAWN_STATUSES:
        return NinjsCandidate(url=url, guid=_text(item.get("uri")), updated=version_created, withdrawn=True,
                              version=version)
    embargoed = _date(item.get("embargoed"))
    if embargoed is not None and embargoed > (now or datetime.now(timezone.utc)):
        log.info("ninjs %s: item %r left for a later poll: embargoed until %s", base, where, embargoed.isoformat())
        return None
    headline = _headline(item)
    body = _body_html(item)
    published, updated = _dates(item)
    section, tags = _section_and_tags(item)
    authors = _authors(item)
    description = _description(item)
    declared = None
    if body is not None:
        declared = DeclaredArticle(
            url=url, headline=headline, body_html=body, description=description, authors=authors,
            published=published, updated=updated, section=section, tags=tags,
            language=_text(item.get("language")), lead_image=_lead_image(item, base), publisher=_publisher(item),
        )
    else:
        # a teaser item (representationtype partial, no body): the ingest reads the article's page
        log.info("ninjs %s: item %r has no body: its page %s is read instead", base, where, url)
    return NinjsCandidate(
        url=url, guid=_text(item.get("uri")), title=headline, published=published,
        updated=version_created or updated, authors=tuple(authors), categories=tuple(tags), summary=description,
        item=declared, version=version,
    )


def _newest_per_url(candidates: list[Candidate]) -> list[Candidate]:
    """One candidate per URL: the latest version (by versioncreated, then document order: a feed that
    lists an item's versions oldest first, as AP's does, ends with the one that counts)."""
    chosen: dict[str, tuple[int, Candidate]] = {}
    for index, candidate in enumerate(candidates):
        held = chosen.get(candidate.url)
        if held is None:
            chosen[candidate.url] = (index, candidate)
            continue
        old = held[1].updated
        if old is None or candidate.updated is None or candidate.updated >= old:
            chosen[candidate.url] = (held[0], candidate)  # keep the first position, take the newer item
    return [c for _, c in sorted(chosen.values(), key=lambda pair: pair[0])]


def parse_ninjs(data: bytes, base: str, source: Source, max_items: int = DEFAULT_MAX_ITEMS,
                now: datetime | None = None) -> list[Candidate]:
    """Candidates for the items of a ninjs endpoint's answer (see parse_document, candidate_from_item)."""
    found = []
    for item in parse_document(data, base, max_items):
        candidate = candidate_from_item(item, base, source, now)
        if candidate is not None:
            found.append(candidate)
    return _newest_per_url(found)


class NinjsOptions(DiscoveryOptions):
    #: the endpoint: one ninjs item, a list of them, or an envelope of the list (see the module docstring)
    url: str = Field(min_length=1, max_length=2000)
    #: items read from one answer at most; the rest is never looked at
    max_items: int = Field(default=DEFAULT_MAX_ITEMS, ge=1, le=MAX_ITEMS)

    @field_validator("url")
    @classmethod
    def _absolute_http(cls, value: str) -> str:
        if not is_http(value.strip()):
            raise ValueError(f"must be an absolute http(s) URL, not {value[:200]!r}")
        return value.strip()


class NinjsKind(DiscoveryKind[NinjsOptions]):
    """`kind: ninjs`: a JSON endpoint of IPTC ninjs 2.x items, read whole (see the module docstring)."""

    options_model = NinjsOptions
    richness = RICHEST

    def discover(self, fetch: Fetch, options: NinjsOptions, source: Source, state: PollState) -> list[Candidate]:
        page = fetch(options.url, accept=NINJS_ACCEPT)
        if page is None:
            return []
        if page.content_type and ("html" in page.content_type or "xml" in page.content_type):
            raise NinjsDocumentError(f"{page.url}: the endpoint sent {page.content_type!r}, not JSON")
        return parse_ninjs(page.body, page.url, source, options.max_items)
