"""The canonical article: the one type that flows from extraction through the store to every outlet.

Outlets format it; nothing downstream re-parses partner HTML. It maps both ways to IPTC ninjs 2.x so
that newsroom systems that speak ninjs can take it as it is.

Safe by construction, whoever builds it (the extractor, a ninjs document from elsewhere, the store, a
feed's state file): every URL field holds an absolute http(s) URL, body_html holds only the allowlisted
markup, no text holds bidi overrides or other hidden controls (worker/schema/sanitize.py says exactly what). Nested models
are validated again when they enter an Article (`revalidate_instances`), so one made with model_copy()
or model_construct() cannot carry a javascript: URL past the check. A bad URL costs only itself where
the rest still makes sense (an author without a link, an article without its lead image); the
article's own URL is its identity, and an article without a web URL is refused.

The package holds this module (the Article, its parts and the ninjs mapping) and sanitize.py (what
its fields may hold, enforced here). May import: worker.errors only; never Celery, flow, ops, web or cli.
"""
from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from worker.schema.sanitize import plain_text, sanitize_body_html, web_url

DEFAULT_ATTRIBUTION_TEMPLATE = "From {source_name}"
NINJS_SCHEMA_URI = "http://www.iptc.org/std/ninjs/ninjs-schema_2.1.json"
_WHITESPACE = re.compile(r"\s+")


#: nested models are checked again inside an Article, however they were made
_NESTED = ConfigDict(extra="forbid", revalidate_instances="always")


def _plain(value: str | None) -> str | None:
    return plain_text(value) if value is not None else None


def _optional_web_url(value: str | None) -> str | None:
    return web_url(value)


def _required_web_url(value: str) -> str:
    url = web_url(value)
    if url is None:
        raise ValueError(f"must be an absolute http(s) URL, not {value[:80]!r}")
    return url


class SourceRef(BaseModel):
    """Which partner the article came from (the configured source, or the page's publisher)."""

    model_config = _NESTED
    id: str
    name: str

    _text = field_validator("name")(_plain)


class Author(BaseModel):
    model_config = _NESTED
    name: str
    role: str | None = None
    #: an http(s) link to the author's page; any other value is dropped (the byline stays)
    url: str | None = None

    _text = field_validator("name", "role")(_plain)
    _url = field_validator("url")(_optional_web_url)


class Image(BaseModel):
    """The lead image: caption and credit are kept apart so outlets can lay them out their own way."""

    model_config = _NESTED
    #: absolute http(s); an Article given an image with any other URL goes without a lead image
    url: str
    caption: str | None = None
    credit: str | None = None
    alt: str | None = None
    width: int | None = None
    height: int | None = None

    _url = field_validator("url")(_required_web_url)
    _text = field_validator("caption", "credit", "alt")(_plain)


class Rights(BaseModel):
    model_config = _NESTED
    copyright_notice: str | None = None
    usage_terms: str | None = None

    _text = field_validator("copyright_notice", "usage_terms")(_plain)


def _as_utc(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc) if value is not None else None


def to_utc(value: datetime | None) -> datetime | None:
    """Aware UTC; a naive value is taken as UTC (SQLite hands back naive datetimes for aware columns, and
    the structured kinds map their GMT fields so). For producers of dates, before they enter an Article."""
    if value is None:
        return None
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class Article(BaseModel):
    """A partner article in canonical form. Build new ones with `make_article`, which derives the id and hash."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable id derived from the canonical URL (see article_id_for).")
    version: int = Field(default=1, ge=1, description="Grows by one each time content_hash changes.")
    source: SourceRef
    attribution: str = Field(description='The line shown at the foot, e.g. "From The Epoch Times".')
    url: str = Field(description="The partner's canonical URL.")
    headline: str
    description: str | None = None
    authors: list[Author] = Field(default_factory=list)
    published: AwareDatetime | None = None
    updated: AwareDatetime | None = None
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    lead_image: Image | None = None
    body_html: str = ""
    body_text: str = ""
    word_count: int = 0
    content_hash: str = ""
    rights: Rights | None = None
    fetched_at: AwareDatetime

    _utc = field_validator("published", "updated", "fetched_at")(_as_utc)
    _url = field_validator("url")(_required_web_url)
    _text = field_validator("attribution", "headline", "description", "section")(_plain)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        return [tag for tag in map(plain_text, tags) if tag.strip()]

    @field_validator("authors", mode="before")
    @classmethod
    def _author_links_resolved(cls, authors: Any, info: ValidationInfo) -> Any:
        """A relative author link (JSON-LD often says "/authors/jane") is read against the article's URL."""
        base = info.data.get("url")
        if not isinstance(authors, list) or base is None:
            return authors
        out = []
        for author in authors:
            fields = author.model_dump() if isinstance(author, Author) else author
            if isinstance(fields, dict) and fields.get("url") is not None:
                fields = {**fields, "url": web_url(fields["url"], base)}
            out.append(fields)
        return out

    @field_validator("authors")
    @classmethod
    def _named_authors(cls, authors: list[Author]) -> list[Author]:
        return [author for author in authors if author.name.strip()]

    @field_validator("lead_image", mode="before")
    @classmethod
    def _web_image_only(cls, image: Any, info: ValidationInfo) -> Any:
        """An image whose URL is not http(s) is left out, not the article with it: the story still stands."""
        fields = image.model_dump() if isinstance(image, Image) else image
        if not isinstance(fields, dict):
            return image
        url = web_url(fields.get("url"), info.data.get("url"))
        return {**fields, "url": url} if url is not None else None

    @field_validator("body_html")
    @classmethod
    def _allowlisted_body(cls, body_html: str, info: ValidationInfo) -> str:
        # the controls are never markup, so taking them out of the serialized HTML touches text only
        return plain_text(sanitize_body_html(body_html, info.data.get("url")))

    @field_validator("body_text")
    @classmethod
    def _body_text(cls, body_text: str) -> str:
        return plain_text(body_text)

    def recomputed(self, **changes: Any) -> Article:
        """A copy with `changes` applied and the derived fields (id, word count, hash) brought up to date."""
        data = self.model_dump()
        data.update(changes)
        data.pop("id", None)
        data.pop("content_hash", None)
        data.pop("word_count", None)
        return make_article(**data)


def normalize_url(url: str) -> str:
    """The form of a URL that identifies an article: scheme and host lowercased, no fragment, no default port."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = parts.path or "/"
    return urlunsplit((scheme, host, path, parts.query, ""))


def article_id_for(canonical_url: str) -> str:
    """Stable id: the same canonical URL always gives the same id, whichever worker computes it.

    http and https forms of a URL are the same article, so the scheme is left out of the hash.
    """
    normalized = normalize_url(canonical_url)
    without_scheme = normalized.split("://", 1)[-1]
    return hashlib.sha256(without_scheme.encode("utf-8")).hexdigest()[:24]


def normalize_text(text: str) -> str:
    """Text compared for sameness: NFC, every run of whitespace (no-break space included) one space."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def content_hash_of(
    headline: str,
    body_html: str,
    authors: list[Author] | list[dict[str, Any]],
    lead_image: Image | dict[str, Any] | None,
    description: str | None = None,
    section: str | None = None,
) -> str:
    """Hash of what a reader sees. fetched_at, version and the like are left out so an unchanged page
    re-fetched later hashes the same and makes no new version."""
    author_names = [a.name if isinstance(a, Author) else a["name"] for a in authors]
    image = lead_image.model_dump() if isinstance(lead_image, Image) else lead_image
    payload = {
        "headline": normalize_text(headline),
        "body_html": normalize_text(body_html),
        "authors": [normalize_text(n) for n in author_names],
        "description": normalize_text(description or ""),
        "section": normalize_text(section or ""),
        "lead_image": {k: image.get(k) for k in ("url", "caption", "credit")} if image else None,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def render_attribution(template: str | None, source_name: str, **extra: str) -> str:
    """Render an attribution template such as "From {source_name}"; unknown placeholders are a config error."""
    return (template or DEFAULT_ATTRIBUTION_TEMPLATE).format(source_name=source_name, **extra)


def count_words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def make_article(**fields: Any) -> Article:
    """Build an Article, deriving id (from url), word_count (from body_text) and content_hash.

    They are derived from the validated fields, so they describe what the article holds after the
    schema's checks (a dropped image, a sanitized body), not what the caller passed in.
    """
    fields.setdefault("fetched_at", datetime.now(timezone.utc))
    fields.setdefault("body_text", "")
    draft = Article.model_validate({**fields, "id": "", "word_count": 0, "content_hash": ""})
    return draft.model_copy(update={
        "id": article_id_for(draft.url),
        "word_count": count_words(draft.body_text),
        "content_hash": content_hash_of(draft.headline, draft.body_html, draft.authors, draft.lead_image,
                                        draft.description, draft.section),
    })


def article_json_schema() -> dict[str, Any]:
    return Article.model_json_schema()


# --- IPTC ninjs 2.x ---------------------------------------------------------------------------------
#
# Written so that the official ninjs 2.1 JSON Schema accepts it (tests/fixtures/ninjs/ holds it; tests/
# test_ninjs_schema.py validates everything the product writes). Where ninjs has no property for one of
# our fields, the field goes into a property the schema allows and from_ninjs reads it back from there:
#   - the section: a subject with rel "section" (genres take no rel; a subject relates to the content)
#   - an author's role ("Staff Writer", "organization"): an altid "author-role:<n>" (people take no role)
#   - canonical URL, content hash, attribution, fetch time, partner dates: altids by role
# Documents from the mapping before that (genres[].rel "section", people[].role, altids with null values,
# a top-level "$schema") are still read, so stored and received ones keep working.

#: what `standard` says about every document we write (ninjs has no top-level "$schema")
NINJS_STANDARD = {"name": "ninjs", "version": "2.1", "schema": NINJS_SCHEMA_URI}
_AUTHOR_ROLE = "author-role:"
_SECTION = "section"
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields that have a value: ninjs types every property, so an absent one is left out, not null."""
    return {k: v for k, v in fields.items() if v not in (None, [], "")}


def _altids(article: Article) -> list[dict[str, str]]:
    """Our fields that ninjs has no property for, as alternative ids (role, string value) from_ninjs reads."""
    pairs = [
        ("canonical-url", article.url),
        ("content-hash", article.content_hash),
        ("attribution", article.attribution),
        ("fetched-at", _iso(article.fetched_at)),
        ("published", _iso(article.published)),
        ("updated", _iso(article.updated)),
    ]
    pairs += [(f"{_AUTHOR_ROLE}{n}", a.role) for n, a in enumerate(article.authors) if a.role]
    return [{"role": role, "value": value} for role, value in pairs if value is not None]


def _picture(image: Image) -> dict[str, Any]:
    return _present({
        "name": "featureimage",
        "type": "picture",
        "uri": image.url,
        "headlines": [{"role": "main", "value": image.caption}] if image.caption else [],
        "descriptions": [{"role": "alt", "contenttype": "text/plain", "value": image.alt}] if image.alt else [],
        "by": image.credit,
        "renditions": [_present({"name": "original", "href": image.url, "width": image.width,
                                 "height": image.height})],
    })


def to_ninjs(article: Article) -> dict[str, Any]:
    """The article as an IPTC ninjs 2.1 document that the official schema accepts, and that from_ninjs
    reads back into the same Article (fields ninjs has no place for go where the schema allows them)."""
    return _present({
        "uri": f"urn:syndication-worker:article:{article.id}",
        "standard": dict(NINJS_STANDARD),
        "type": "text",
        "representationtype": "full",
        "profile": "syndication-worker-article",
        "version": str(article.version),
        "firstcreated": _iso(article.published),
        "versioncreated": _iso(article.updated or article.published),
        "contentcreated": _iso(article.published),
        "pubstatus": "usable",
        "language": article.language,
        "headlines": [{"role": "main", "value": article.headline}],
        "descriptions": (
            [{"role": "summary", "contenttype": "text/plain", "value": article.description}]
            if article.description
            else []
        ),
        "bodies": [
            {"role": "main", "contenttype": "text/html", "charcount": len(article.body_text),
             "wordcount": article.word_count, "value": article.body_html},
            {"role": "main", "contenttype": "text/plain", "value": article.body_text},
        ],
        "by": ", ".join(a.name for a in article.authors) or None,
        "people": [_present({"name": a.name, "rel": "author", "uri": a.url}) for a in article.authors],
        "subjects": [{"name": tag, "rel": "about"} for tag in article.tags]
                    + ([{"name": article.section, "rel": _SECTION}] if article.section else []),
        "infosources": [
            {"name": article.source.name, "role": "originator", "uri": article.url,
             "literal": article.source.id}
        ],
        "copyrightnotice": article.rights.copyright_notice if article.rights else None,
        "usageterms": article.rights.usage_terms if article.rights else None,
        "altids": _altids(article),
        "associations": [_picture(article.lead_image)] if article.lead_image else [],
    })


def _first(items: list[dict[str, Any]] | None, **match: str) -> dict[str, Any] | None:
    for item in items or []:
        if all(item.get(k) == v for k, v in match.items()):
            return item
    return None


def _altid(doc: dict[str, Any], role: str) -> str | None:
    found = _first(doc.get("altids"), role=role)
    return found.get("value") if found else None


def _authors(doc: dict[str, Any]) -> list[Author]:
    """people with rel "author", each with its role from altids (or, in older documents, its own "role");
    a document that names no such people gives its authors in `by`, comma-separated."""
    people = [p for p in doc.get("people") or [] if p.get("rel") == "author"]
    if not people:
        return [Author(name=n.strip()) for n in (doc.get("by") or "").split(",") if n.strip()]
    return [Author(name=p.get("name", ""), role=_altid(doc, f"{_AUTHOR_ROLE}{n}") or p.get("role"), url=p.get("uri"))
            for n, p in enumerate(people)]


def _section_and_tags(doc: dict[str, Any]) -> tuple[str | None, list[str]]:
    subjects = [s for s in doc.get("subjects") or [] if s.get("name")]
    section = _first(subjects, rel=_SECTION) or _first(doc.get("genres"), rel=_SECTION) or {}
    return section.get("name"), [s["name"] for s in subjects if s.get("rel") != _SECTION]


def _body_html(doc: dict[str, Any]) -> str:
    for contenttype in _HTML_TYPES:
        body = _first(doc.get("bodies"), contenttype=contenttype)
        if body is not None:
            return body.get("value", "")
    return ""


def from_ninjs(doc: dict[str, Any]) -> Article:
    """Read a ninjs 2.x document (ours, as written now or by the older mapping, or another system's) back
    into an Article. One without an http(s) URL (in altids, its originator or its uri) is refused."""
    headline = (_first(doc.get("headlines"), role="main") or (doc.get("headlines") or [{}])[0]).get("value", "")
    description = (_first(doc.get("descriptions"), role="summary") or {}).get("value")
    text_body = _first(doc.get("bodies"), contenttype="text/plain") or {}
    originator = _first(doc.get("infosources"), role="originator") or (doc.get("infosources") or [{}])[0]
    url = _altid(doc, "canonical-url") or originator.get("uri") or doc.get("uri", "")
    lead_image = None
    picture = _first(doc.get("associations"), name="featureimage") or _first(doc.get("associations"), type="picture")
    if picture:
        rendition = (picture.get("renditions") or [{}])[0]
        # fields, not an Image: the Article leaves out an image whose URL is not http(s)
        lead_image = dict(
            url=picture.get("uri") or rendition.get("href"),
            caption=(_first(picture.get("headlines"), role="main") or {}).get("value"),
            credit=picture.get("by"),
            alt=(_first(picture.get("descriptions"), role="alt") or {}).get("value"),
            width=rendition.get("width"),
            height=rendition.get("height"),
        )
    rights = None
    if doc.get("copyrightnotice") or doc.get("usageterms"):
        rights = Rights(copyright_notice=doc.get("copyrightnotice"), usage_terms=doc.get("usageterms"))
    section, tags = _section_and_tags(doc)
    source_name = originator.get("name", "")
    published = _altid(doc, "published") or doc.get("firstcreated")
    updated = _altid(doc, "updated")
    if updated is None and _altid(doc, "published") is None:
        updated = doc.get("versioncreated")
    return make_article(
        version=int(doc.get("version") or 1),
        source=SourceRef(id=originator.get("literal") or source_name, name=source_name),
        attribution=_altid(doc, "attribution") or render_attribution(None, source_name),
        url=url,
        headline=headline,
        description=description,
        authors=_authors(doc),
        published=published,
        updated=updated,
        section=section,
        tags=tags,
        language=doc.get("language"),
        lead_image=lead_image,
        body_html=_body_html(doc),
        body_text=text_body.get("value", ""),
        rights=rights,
        fetched_at=_altid(doc, "fetched-at") or doc.get("versioncreated") or datetime.now(timezone.utc),
    )
