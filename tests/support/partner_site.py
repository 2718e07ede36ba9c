"""A generated partner site on loopback, for polling tests and the polling benchmark.

Why generated rather than fixtures: polling is about counts (N articles stored once, M requests made,
zero article fetches when nothing changed), so the site must scale from 3 to 1,000 articles, be edited
and withdrawn by a test while workers poll it, and record every request it answers. Each article's text
comes from its own seed, so no two articles share enough word 5-shingles to look like near-duplicates
to worker.fingerprint, while the AMP page and the re-syndicated copies of a story carry its exact text.

Layout (all under one origin, http://127.0.0.1:<free port>):
    /robots.txt                  allows everything, names the sitemap
    /feed.xml                    RSS 2.0 of every live article (newest first)
    /sitemap.xml                 every article with <lastmod>
    /news/, /news/page/<n>/      listing pages (`a.story-link`, `a.next` to the next page)
    /articles/<slug>.html        the canonical article page (JSON-LD, OpenGraph, canonical link)
    /amp/<slug>.html             the AMP variant, canonical link to the article page
    /wire/<slug>.html            a re-syndicated copy on "Partner Wire", ending "From <partner name>"
    /wire-linked/<slug>.html     the same copy, with its canonical link pointing at the original
Feed, sitemap, listing and article pages answer conditional GETs (ETag / Last-Modified) with 304.
"""
from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from typing import Self

from tests.support import partner_pages as pages
from tests.support.loopback_http import LoopbackHTTPServer

WIRE_NAME = "Partner Wire"


@dataclass(frozen=True)
class Request:
    """One request the site answered."""

    path: str
    method: str
    #: time.monotonic() when the answer was sent
    at: float
    status: int
    #: the client sent If-None-Match or If-Modified-Since
    conditional: bool


@dataclass
class Story:
    """One article of the site; `revision` grows with every edit so the page, feed entry and ETag change."""

    index: int
    slug: str
    headline: str
    byline: str
    section: str
    published: datetime
    updated: datetime
    description: str
    paragraphs: list[str]
    revision: int = 0
    withdrawn: bool = False


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    last_modified: datetime | None = None


def _http_date(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC), usegmt=True)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:20] + '"'


def _make_story(index: int, seed: int, newest: datetime, spacing: timedelta) -> Story:
    rng = random.Random(seed * 1_000_003 + index)
    headline = pages.headline(rng, index)
    published = newest - spacing * index
    paragraphs = pages.paragraphs(rng, rng.randint(6, 10))
    return Story(
        index=index, slug=pages.slug(headline), headline=headline, byline=pages.person(rng),
        section=rng.choice(pages.SECTIONS), published=published, updated=published,
        description=paragraphs[0].split(". ")[0] + ".", paragraphs=paragraphs,
    )


class PartnerSite:
    """A LoopbackHTTPServer (a ThreadingHTTPServer on a free 127.0.0.1 port) serving `articles` generated stories.

    Use as a context manager, or call start()/stop(). Tests change the site with edit(), withdraw() and
    serve(); they read what the workers asked for from `requests` (thread-safe snapshots).
    """

    def __init__(self, articles: int = 20, *, seed: int = 1, name: str = "The Epoch Times",
                 listing_page_size: int | None = None, newest: datetime | None = None,
                 spacing: timedelta = timedelta(minutes=2), discovery_delay: float = 0.0) -> None:
        self.name = name
        self.listing_page_size = listing_page_size or max(articles, 1)
        #: seconds every feed/sitemap/listing answer is held back (makes a poll measurably long)
        self.discovery_delay = discovery_delay
        start = (newest or datetime.now(UTC)).replace(microsecond=0)
        self.stories = [_make_story(i, seed, start, spacing) for i in range(articles)]
        self._by_slug = {s.slug: s for s in self.stories}
        self._extra: dict[str, Response] = {}
        #: bumped by touch_listing(): the listing pages change while no article does
        self.listing_generation = 0
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self.http: LoopbackHTTPServer | None = None

    # --- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> PartnerSite:
        self.http = LoopbackHTTPServer(_handler_for(self), name="partner-site").start()
        return self

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses -----------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        assert self.http is not None, "start() the site first"
        return self.http.origin

    def url(self, path: str) -> str:
        return self.origin + path

    @property
    def feed_url(self) -> str:
        return self.url("/feed.xml")

    @property
    def sitemap_url(self) -> str:
        return self.url("/sitemap.xml")

    @property
    def listing_url(self) -> str:
        return self.url("/news/")

    def article_path(self, index: int) -> str:
        return f"/articles/{self.stories[index].slug}.html"

    def article_url(self, index: int) -> str:
        return self.url(self.article_path(index))

    def amp_url(self, index: int) -> str:
        return self.url(f"/amp/{self.stories[index].slug}.html")

    def copy_url(self, index: int, canonical_to_original: bool = False) -> str:
        prefix = "/wire-linked/" if canonical_to_original else "/wire/"
        return self.url(f"{prefix}{self.stories[index].slug}.html")

    # --- changes a test makes ------------------------------------------------------------------------

    def edit(self, index: int) -> Story:
        """The partner corrects a story: one paragraph rewritten, a new description and updated date."""
        with self._lock:
            story = self.stories[index]
            story.revision += 1
            rng = random.Random(f"edit-{story.slug}-{story.revision}")
            story.paragraphs[1] = pages.paragraphs(rng, 1)[0]
            story.description = f"Updated (revision {story.revision}): " + story.paragraphs[1].split(". ")[0] + "."
            story.updated = max(story.updated + timedelta(seconds=1),
                                datetime.now(UTC).replace(microsecond=0))
            return story

    def touch_listing(self) -> None:
        """The listing pages change with no article changing (a "trending" box, a rendered-at time), as
        busy section pages do between two polls."""
        with self._lock:
            self.listing_generation += 1

    def withdraw(self, index: int) -> None:
        """The partner takes the story down: its page answers 410 Gone (feeds still list it, as they often do)."""
        with self._lock:
            self.stories[index].withdrawn = True

    def serve(self, path: str, body: bytes, content_type: str = "application/rss+xml; charset=utf-8") -> str:
        """Serve fixed bytes at `path` (a hostile feed, say); returns its URL."""
        with self._lock:
            self._extra[path] = Response(200, body, content_type, _etag(body))
        return self.url(path)

    # --- what the workers asked for ------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def requests_to(self, prefix: str) -> list[Request]:
        return [r for r in self.requests if r.path.startswith(prefix)]

    def article_fetches(self) -> list[Request]:
        """Requests for canonical article pages (not AMP, not copies)."""
        return self.requests_to("/articles/")

    def discovery_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path in ("/feed.xml", "/sitemap.xml") or r.path.startswith("/news/")]

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    # --- documents -----------------------------------------------------------------------------------

    def respond(self, path: str) -> Response:
        """The answer for `path`, ignoring validators (the handler applies them)."""
        with self._lock:
            if path in self._extra:
                return self._extra[path]
            live = self.stories  # a withdrawn story stays listed: partners rarely update feeds for a takedown
            if path == "/robots.txt":
                body = f"User-agent: *\nAllow: /\nSitemap: {self.sitemap_url}\n".encode()
                return Response(200, body, "text/plain; charset=utf-8")
            if path == "/feed.xml":
                return self._document(pages.rss(self, live), "application/rss+xml; charset=utf-8", live)
            if path == "/sitemap.xml":
                return self._document(pages.sitemap(self, self.stories), "application/xml; charset=utf-8", self.stories)
            if path == "/news/" or path.startswith("/news/page/"):
                return self._listing(path, live)
            for prefix, render in (("/articles/", pages.article_page), ("/amp/", pages.amp_page),
                                   ("/wire/", pages.copy_page), ("/wire-linked/", pages.copy_page)):
                if path.startswith(prefix) and path.endswith(".html"):
                    story = self._by_slug.get(path[len(prefix):-len(".html")])
                    if story is None:
                        break
                    if story.withdrawn:
                        return Response(410, b"<html><body><p>This article has been removed.</p></body></html>")
                    html = render(self, story, linked=prefix == "/wire-linked/")
                    return self._document(html, "text/html; charset=utf-8", [story])
            return Response(404, b"<html><body><p>Not found.</p></body></html>")

    def _listing(self, path: str, live: list[Story]) -> Response:
        page = 1 if path == "/news/" else int(path.removeprefix("/news/page/").strip("/") or 1)
        size = self.listing_page_size
        chunk = live[(page - 1) * size:page * size]
        if not chunk and page > 1:
            return Response(404, b"<html><body><p>No such page.</p></body></html>")
        next_path = f"/news/page/{page + 1}/" if page * size < len(live) else None
        return self._document(pages.listing(self, chunk, page, next_path), "text/html; charset=utf-8", chunk)

    @staticmethod
    def _document(body: str, content_type: str, stories: list[Story]) -> Response:
        data = body.encode("utf-8")
        modified = max((s.updated for s in stories), default=None)
        return Response(200, data, content_type, _etag(data), modified)


def _not_modified(headers: dict[str, str], response: Response) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since against Last-Modified."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return response.etag is not None and response.etag in [t.strip() for t in if_none_match.split(",")]
    since = headers.get("if-modified-since")
    if since and response.last_modified is not None:
        try:
            return response.last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _handler_for(site: PartnerSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real partner's server would

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            headers = {k.lower(): v for k, v in self.headers.items()}
            conditional = "if-none-match" in headers or "if-modified-since" in headers
            response = site.respond(path)
            if site.discovery_delay and (path in ("/feed.xml", "/sitemap.xml") or path.startswith("/news/")):
                time.sleep(site.discovery_delay)
            status = 304 if response.status == 200 and _not_modified(headers, response) else response.status
            self.send_response(status)
            if response.etag:
                self.send_header("ETag", response.etag)
            if response.last_modified:
                self.send_header("Last-Modified", _http_date(response.last_modified))
            body = b"" if status == 304 else response.body
            if status != 304:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            site._record(Request(path, "GET", time.monotonic(), status, conditional))

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_site(articles: int = 20, **options: object) -> Iterator[PartnerSite]:
    """`with running_site(20) as site:` for callers that prefer a function."""
    site = PartnerSite(articles, **options)  # type: ignore[arg-type]
    with site:
        yield site


__all__ = ["WIRE_NAME", "PartnerSite", "Request", "Story", "running_site"]
