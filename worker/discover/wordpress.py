"""`kind: wordpress`: a WordPress site's posts, read from its REST API instead of scraped.

Every WordPress since 4.7 publishes its posts at `/wp/v2/posts` with what a scraper can only guess at:
the rendered body, the excerpt, the authors, the featured image with its caption, categories and tags,
and `modified_gmt`, which changes on every edit. So the poll lists posts with a small response (four
fields a post, newest modification first), and each post becomes a Candidate whose `updated` is its
`modified_gmt` (a new value is an edit, the poll plans one ingest) and whose `item_url` reads that one
post with `_embed` (`/wp/v2/posts?include=<id>&_embed=…`); the ingest fetches it and `read_item` maps it
to a DeclaredArticle. The post's public page is never fetched.

Where the API lives: `<url>/wp-json/` on a site with pretty permalinks; `?rest_route=/` on one without
(there `/wp-json/…` is answered with the home page, whose `Link: <…>; rel="https://api.w.org/"` header
names the real root, which is used next). The root found is remembered for the process, so a site
without pretty permalinks pays for the failed probe once, not every poll.

What a poll costs: WordPress sends no ETag or Last-Modified on REST answers, so every poll is at least
one full answer; the listing URLs are fixed (no timestamp in them) so that a cache in front of the site
that does validate answers 304, which the poll's fetch turns into "unchanged". The first page of the
listing is read every poll; the next one only when every post on this page was modified since the last
poll (less OVERLAP for clocks and the poll's own duration). One more request, the newest posts by
publication date (`find_scheduled`): a scheduled post goes live without its modified date changing
(wp_publish_post only flips the status), so the modified-ordered listing may never show it. WordPress
orders by the date alone, so posts modified in the same second (a bulk import) may swap places between
two pages of one listing; paging is by `page=`, not by a date in the URL, so that the URLs stay fixed.

Posts that leave `publish` (trash, draft, private) drop out of the anonymous listing; the poll's re-check
by the clock re-reads their item URL. Why `include=<id>` and not the post's own route `/wp/v2/posts/<id>`:
that route answers a trashed post with 401, a deleted one with 404, and so does the whole API when the
partner closes it to anonymous readers (a security plugin: 401 or 403) or drops it (404); a withdrawal
read from a status would take down every recent article of the partner at once, and a withdrawn link
is never ingested again. The listing route answers a post that is not published with an empty list,
positive word from a working API: `read_item` raises GoneError for that (and for a password-protected
post), and the ingest withdraws the article; a 401, 403 or 404 is recorded as a failure and the post
is read again at the next re-check (`item_gone_statuses` is empty).

The partner's JSON is hostile until read: size-capped by the fetch, parsed with a recursion guard,
validated with pydantic models; a document that is not a post list or a post is a named
DiscoveryParseError / ExtractionError, and an embedded author, image or term that does not fit costs that
part only (the REST API embeds an error object where the reader may not see the media).
"""
from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from requests.utils import parse_header_links

from worker.config import Source
from worker.discover.candidates import Candidate, DiscoveryParseError, parse_w3c_date
from worker.discover.kind import RICHEST, DiscoveryKind, DiscoveryOptions, Fetch, PollState
from worker.errors import ExtractionError, GoneError, HttpStatusError
from worker.http.page import Page
from worker.http.urls import is_http, normalize_link
from worker.schema.declared import DeclaredArticle, DeclaredImage, image_dimension

log = logging.getLogger(__name__)

#: what the API is asked for (WordPress answers JSON whatever it is asked; a cache in front may vary on it)
JSON_ACCEPT = "application/json, */*;q=0.1"
#: the listing asks for only what a Candidate needs: about 110 bytes a post
LIST_FIELDS = "id,link,modified_gmt,date_gmt"
#: what the item URL embeds: authors, the featured image and the terms (not comments or revisions)
EMBED = "author,wp:featuredmedia,wp:term"
#: the link relation WordPress names its REST root with (Link header of every answer)
API_REL = "https://api.w.org/"
#: a page is read past the first only when all its posts were modified after the last poll less this:
#: the partner's clock is not ours, and a post edited while the last poll ran was not seen by it
OVERLAP = timedelta(minutes=15)
#: REST roots found, by site URL (process memory, bounded; a wrong one is re-probed, never trusted)
MAX_REMEMBERED_ROOTS = 512
#: a category whose slug is this is WordPress's default, not a section anyone chose
DEFAULT_CATEGORY_SLUG = "uncategorized"
#: the mark WordPress ends a generated excerpt with (excerpt_more: ` [&hellip;]`)
_EXCERPT_MORE = re.compile(r"\s*\[(?:&hellip;|&#8230;|…|\.\.\.)\]\s*(</p>)?\s*$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,4}$")

_roots: OrderedDict[str, str] = OrderedDict()
_roots_lock = threading.Lock()


class WordPressOptions(DiscoveryOptions):
    #: the site's root (home) URL, as its visitors open it; the REST API is found from it
    url: str
    #: posts listed per poll at most (newest modification first); older ones count as unchanged
    max_posts: int = Field(default=100, ge=1, le=1000)
    #: posts per listing request (WordPress allows 100 at most)
    per_page: int = Field(default=20, ge=1, le=100)
    #: only posts in any of these categories / with any of these tags (term ids, as /wp/v2/categories lists them)
    categories: list[int] = Field(default_factory=list, max_length=100)
    tags: list[int] = Field(default_factory=list, max_length=100)
    #: also list the newest posts by publication date (one more request a poll), which finds scheduled
    #: posts that went live: their modified date is the day they were scheduled, not the day they appeared
    find_scheduled: bool = True

    @field_validator("url")
    @classmethod
    def _site_root(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if not is_http(value) or parts.query or parts.fragment:
            raise ValueError("the site's root URL: absolute http(s), without query or fragment "
                             "(e.g. https://partner.example/ or https://partner.example/blog/)")
        return value.rstrip("/")

    @field_validator("categories", "tags")
    @classmethod
    def _term_ids(cls, value: list[int]) -> list[int]:
        if any(term < 1 for term in value):
            raise ValueError("term ids are positive integers")
        return value


# --- the partner's JSON, as far as it is read -------------------------------------------------------

def _or_none(kind: type) -> BeforeValidator:
    """A field read only when it has the expected JSON type: WordPress writes `false` or `""` where a
    value is missing, and PHP's empty array is `[]` where an object is meant; each counts as absent."""
    def check(value: Any) -> Any:
        # JSON true/false is never the text, number or object these fields hold (bool is an int in Python)
        return value if isinstance(value, kind) and not isinstance(value, bool) else None
    return BeforeValidator(check)


_Text = Annotated[str | None, _or_none(str)]
_Number = Annotated[int | None, _or_none(int)]
_Object = Annotated[dict[str, Any] | None, _or_none(dict)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _ListedPost(_Lenient):
    id: int = Field(ge=1, strict=True)
    link: str
    modified_gmt: _Text = None
    date_gmt: _Text = None


class _Rendered(_Lenient):
    rendered: str
    protected: bool = False


class _Post(_Lenient):
    id: int = Field(ge=1, strict=True)
    link: str
    status: str
    date_gmt: _Text = None
    modified_gmt: _Text = None
    title: _Rendered
    content: _Rendered
    excerpt: Annotated[_Rendered | None, _or_none(dict)] = None
    #: Polylang and similar plugins add the post's language
    lang: _Text = None
    embedded: _Object = Field(default=None, alias="_embedded")


class _ImageMeta(_Lenient):
    credit: _Text = None
    copyright: _Text = None


class _MediaDetails(_Lenient):
    width: _Number = None
    height: _Number = None
    image_meta: Annotated[_ImageMeta | None, _or_none(dict)] = None


class _Media(_Lenient):
    source_url: str
    media_type: _Text = "image"
    alt_text: _Text = None
    caption: Annotated[_Rendered | None, _or_none(dict)] = None
    media_details: Annotated[_MediaDetails | None, _or_none(dict)] = None


class _Term(_Lenient):
    name: str
    taxonomy: str
    slug: str = ""


class _Author(_Lenient):
    name: str


def _decoded(page: Page) -> Any:
    """The JSON of an answer; ValueError when it is none (an HTML page, truncated bytes, nesting past reason)."""
    try:
        return json.loads(page.body)
    except RecursionError:
        raise ValueError("JSON nested too deep") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not text: {exc}") from None


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(map(str, error['loc'])) or 'document'}: {error['msg']}"


# --- where the API is ------------------------------------------------------------------------------

def route_url(root: str, route: str, params: Sequence[tuple[str, str]] = ()) -> str:
    """The URL of a REST `route` (`/wp/v2/posts`) under `root`, in the root's own style:
    `…/wp-json/wp/v2/posts?a=b`, or `…/?rest_route=/wp/v2/posts&a=b` for a site without pretty permalinks."""
    parts = urlsplit(root)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(name == "rest_route" for name, _ in query):
        query = [(n, v.rstrip("/") + route if n == "rest_route" else v) for n, v in query]
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query + list(params), safe="/,:"), ""))
    path = parts.path.rstrip("/") + route
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(list(params), safe="/,:"), ""))


def item_url(root: str, post_id: int) -> str:
    """Where one post is read with what it embeds: the listing route narrowed to it (module docstring)."""
    return route_url(root, "/wp/v2/posts", [("include", str(post_id)), ("_embed", EMBED)])


def _api_root_of(page: Page, source: Source) -> str | None:
    """The REST root a WordPress answer names in its Link header, when it is on the source's domains."""
    header = next((v for k, v in page.headers.items() if k.lower() == "link"), "")
    for link in parse_header_links(header) if header else []:
        url = link.get("url", "")
        if link.get("rel") == API_REL and is_http(url) and source.allows_host(urlsplit(url).hostname or ""):
            return url
    return None


def _remember(site: str, root: str) -> None:
    with _roots_lock:
        _roots[site] = root
        _roots.move_to_end(site)
        while len(_roots) > MAX_REMEMBERED_ROOTS:
            _roots.popitem(last=False)


def _remembered(site: str) -> str | None:
    with _roots_lock:
        return _roots.get(site)


# --- the listing ------------------------------------------------------------------------------------

def _listing_params(options: WordPressOptions, orderby: str, page: int) -> list[tuple[str, str]]:
    params = [("_fields", LIST_FIELDS), ("orderby", orderby), ("order", "desc"),
              ("per_page", str(options.per_page))]
    if page > 1:
        params.append(("page", str(page)))
    if options.categories:
        params.append(("categories", ",".join(map(str, options.categories))))
    if options.tags:
        params.append(("tags", ",".join(map(str, options.tags))))
    return params


def _listed(page: Page, limit: int) -> list[_ListedPost] | None:
    """The posts of a listing answer (its first `limit` entries: the page asked for no more); None when
    the answer is no JSON list (not the REST API: a home page served in its place). Entries that are
    not posts are skipped and counted in the log, not fatal."""
    try:
        data = _decoded(page)
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    posts, problems = [], []
    for entry in data[:limit]:
        try:
            posts.append(_ListedPost.model_validate(entry))
        except ValidationError as exc:
            problems.append(_first_problem(exc))
    if problems:
        log.warning("%s: %d listed entries are not posts (first: %s); skipped", page.url, len(problems), problems[0])
    return posts


def _posts_of(page: Page, limit: int) -> list[_ListedPost]:
    """_listed, for a root already found: an answer that is no list of posts is a DiscoveryParseError."""
    posts = _listed(page, limit)
    if posts is None:
        raise DiscoveryParseError(f"{page.url}: not a list of WordPress posts")
    return posts


def _total_pages(page: Page) -> int | None:
    value = next((v for k, v in page.headers.items() if k.lower() == "x-wp-totalpages"), None)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class WordPressKind(DiscoveryKind[WordPressOptions]):
    """`kind: wordpress`: a WordPress site's published posts, through its REST API (module docstring)."""

    options_model = WordPressOptions
    #: modified_gmt changes on every edit and on nothing else: as exact as a feed entry's dates
    richness = RICHEST
    #: no status means "gone": the item URL answers a post that is not published with an empty list,
    #: and a 401, 403 or 404 may be the whole API's (closed to anonymous readers, or removed), which
    #: must not withdraw every recent article (module docstring)
    item_gone_statuses: ClassVar[frozenset[int]] = frozenset()
    item_accept: ClassVar[str] = JSON_ACCEPT

    def discover(self, fetch: Fetch, options: WordPressOptions, source: Source,
                 state: PollState) -> list[Candidate]:
        root, page, posts = self._first_page(fetch, options, source)
        cutoff = state.since - OVERLAP if state.since is not None else None
        found: dict[str, Candidate] = {}
        number = 1
        while page is not None:
            for post in posts[:options.max_posts - len(found)]:
                self._add(found, post, root, source)
            total = _total_pages(page)
            if (len(found) >= options.max_posts or len(posts) < options.per_page
                    or (total is not None and number >= total)):
                break
            modified = [parse_w3c_date(p.modified_gmt) for p in posts]
            if cutoff is not None and any(m is None or m < cutoff for m in modified):
                break  # the rest was modified before the last poll, which saw it
            number += 1
            page = self._next_page(fetch, route_url(root, "/wp/v2/posts", _listing_params(options, "modified", number)))
            posts = _posts_of(page, options.per_page) if page is not None else []
        if options.find_scheduled:
            newest = fetch(route_url(root, "/wp/v2/posts", _listing_params(options, "date", 1)), accept=JSON_ACCEPT)
            for post in _posts_of(newest, options.per_page) if newest is not None else []:
                self._add(found, post, root, source)
        return list(found.values())

    def _first_page(self, fetch: Fetch, options: WordPressOptions,
                    source: Source) -> tuple[str, Page | None, list[_ListedPost]]:
        """The REST root, and the first page of the modified-ordered listing with its posts (None and no
        posts: unchanged since the last poll, a 304).

        Tried in turn: the root that answered last time, `/wp-json/`, the root a non-API answer's Link
        header names, `?rest_route=/`. An answer that is no JSON list, or any 4xx, means "not here"; a
        transient failure is raised as it is (the next poll tries again).
        """
        site = options.url
        pending = [r for r in (_remembered(site), f"{site}/wp-json/", f"{site}/?rest_route=/") if r]
        tried: dict[str, str] = {}  # root -> what it answered
        while pending:
            root = pending.pop(0)
            if root in tried:
                continue
            url = route_url(root, "/wp/v2/posts", _listing_params(options, "modified", 1))
            try:
                page = fetch(url, accept=JSON_ACCEPT)
            except HttpStatusError as exc:  # GoneError included: a 404 is "no API here"
                tried[root] = f"HTTP {exc.status}"
                continue
            posts = _listed(page, options.per_page) if page is not None else []
            if page is not None and posts is None:
                tried[root] = f"{page.content_type or 'an answer'} that is no list of posts"
                named = _api_root_of(page, source)
                if named is not None:
                    pending.insert(0, named)
                continue
            if tried:
                log.info("%s: the REST API is at %s (not at %s)", site, root, ", ".join(tried))
            _remember(site, root)
            return root, page, posts or []
        answers = "; ".join(f"{root}: {answer}" for root, answer in tried.items())
        raise DiscoveryParseError(f"{site}: no WordPress REST API answers there ({answers}); is it a WordPress "
                                  "site, and is its REST API open to anonymous readers?")

    @staticmethod
    def _next_page(fetch: Fetch, url: str) -> Page | None:
        try:
            return fetch(url, accept=JSON_ACCEPT)
        except HttpStatusError as exc:
            if exc.status == 400:  # rest_post_invalid_page_number: the listing shrank since its first page
                return None
            raise

    @staticmethod
    def _add(found: dict[str, Candidate], post: _ListedPost, root: str, source: Source) -> None:
        if not is_http(post.link):
            return
        try:
            url = normalize_link(post.link)
        except ValueError:
            return
        if url in found or not source.allows_host(urlsplit(url).hostname or ""):
            return
        found[url] = Candidate(
            url=url, guid=route_url(root, f"/wp/v2/posts/{post.id}"), published=parse_w3c_date(post.date_gmt),
            updated=parse_w3c_date(post.modified_gmt), item_url=item_url(root, post.id),
        )

    # --- the item ---------------------------------------------------------------------------------------

    def read_item(self, page: Page, source: Source) -> DeclaredArticle:
        """The post at its item URL (a one-post listing with `_embed`; the post's own route's answer, a
        bare post, is read too) → DeclaredArticle. GoneError for an empty listing (the post is not
        published any more: trashed, unpublished or deleted) and a password-protected post;
        ExtractionError for a document that is not a post."""
        try:
            data = _decoded(page)
            if isinstance(data, list):
                if not data:
                    raise GoneError(f"{page.url}: the partner's API lists no such published post "
                                    "(trashed, unpublished or deleted)")
                if len(data) > 1:
                    raise ValueError(f"{len(data)} posts where one was asked for")
                data = data[0]
            post = _Post.model_validate(data)
            asked = dict(parse_qsl(urlsplit(page.requested_url).query)).get("include")
            if asked is not None and asked != str(post.id):
                raise ValueError(f"post {post.id} where post {asked} was asked for")
        except ValueError as exc:  # ValidationError is one
            problem = _first_problem(exc) if isinstance(exc, ValidationError) else str(exc)
            raise ExtractionError(f"{page.url}: not a WordPress post ({problem})") from None
        if post.status != "publish":
            raise GoneError(f"{page.url}: the post is {post.status!r}, no longer published")
        if post.content.protected:
            raise GoneError(f"{page.url}: the post is password-protected")
        url = normalize_link(post.link) if is_http(post.link) else ""
        if not url or not source.allows_host(urlsplit(url).hostname or ""):
            raise ExtractionError(f"{page.url}: the post's link {post.link[:200]!r} is not on the source's domains")
        embedded = post.embedded or {}
        categories = [t for t in _terms(embedded) if t.taxonomy == "category" and t.slug != DEFAULT_CATEGORY_SLUG]
        excerpt = post.excerpt.rendered if post.excerpt is not None and not post.excerpt.protected else None
        return DeclaredArticle(
            url=url,
            headline=post.title.rendered,
            body_html=post.content.rendered,
            description=_EXCERPT_MORE.sub(r"\1", excerpt) if excerpt else None,
            authors=_authors(embedded),
            published=parse_w3c_date(post.date_gmt),
            updated=parse_w3c_date(post.modified_gmt),
            section=categories[0].name if categories else None,
            tags=[t.name for t in _terms(embedded) if t.taxonomy == "post_tag"],
            language=post.lang.replace("_", "-") if post.lang and _LANGUAGE.match(post.lang) else None,
            lead_image=_featured_image(embedded),
        )


def _entries(embedded: dict[str, Any], key: str) -> list[Any]:
    value = embedded.get(key)
    return value if isinstance(value, list) else []


def _authors(embedded: dict[str, Any]) -> list[str]:
    names = []
    for entry in _entries(embedded, "author"):
        try:
            name = _Author.model_validate(entry).name.strip()
        except ValidationError:
            continue  # an author the reader may not see is embedded as an error object
        if name and name not in names:
            names.append(name)
    return names


def _terms(embedded: dict[str, Any]) -> list[_Term]:
    """Every embedded term: `wp:term` is one list per taxonomy (categories, tags, custom ones)."""
    terms = []
    for group in _entries(embedded, "wp:term"):
        for entry in group if isinstance(group, list) else []:
            try:
                terms.append(_Term.model_validate(entry))
            except ValidationError:
                continue
    return terms


def _featured_image(embedded: dict[str, Any]) -> DeclaredImage | None:
    """The featured image with its caption, alt text, size and credit (the photo's IPTC/EXIF credit as
    WordPress read it on upload, else its copyright); None when there is none the reader may see."""
    media = _entries(embedded, "wp:featuredmedia")
    if not media:
        return None
    try:
        image = _Media.model_validate(media[0])
    except ValidationError:
        return None  # an error object: the media is private or gone; the post stands without it
    if image.media_type != "image" or not is_http(image.source_url):
        return None
    details = image.media_details or _MediaDetails()
    meta = details.image_meta or _ImageMeta()
    credit = next((c.strip() for c in (meta.credit, meta.copyright) if c and c.strip()), None)
    return DeclaredImage(
        url=image.source_url, caption=image.caption.rendered if image.caption else None, credit=credit,
        alt=image.alt_text or None, width=image_dimension(details.width), height=image_dimension(details.height),
    )
