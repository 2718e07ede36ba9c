"""`kind: wordpress` against a real WordPress as the partner (tests/plugins/wordpress.py: Debian's package).

The partner's posts, authors, categories, tags and featured image (a JPEG whose EXIF credit WordPress
reads on upload) are made through its REST API with the application password, as an editor would; the
worker reads them anonymously through the real poll and ingest stages, and delivers to a counting
outlet. Every request the worker sends goes through a logging proxy (tests/support/counting_proxy.py),
so what a poll costs is what the partner served, counted in requests and bytes. The site is shared by the
test session, so each test files its posts under a category of its own and polls only that category.

The error tests at the end need no WordPress: a loopback stub and answers built in the test.
"""
from __future__ import annotations

import io
import json
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.plugins.wordpress import WordPressSite
from tests.support.counting_outlet import KIND as COUNTING_OUTLET
from tests.support.counting_outlet import calls
from tests.support.counting_proxy import CountingProxy, Forwarded
from tests.support.partner_pages import paragraphs
from tests.test_config_strict import syndicate_check
from worker.config import Source, load_sources
from worker.discover.wordpress import WordPressKind, route_url
from worker.errors import ConfigError, ExtractionError, GoneError, HttpStatusError, PermanentError
from worker.flow.deliver import deliver_article
from worker.flow.ingest import IngestReport, ingest_url
from worker.flow.poll import PollReport, poll_source
from worker.flow.services import Services
from worker.flow.withdraw import withdraw_article
from worker.http.page import Page
from worker.settings import load_settings

OUTLET = "counting"


# --- the partner: posts made through the REST API, as an editor makes them --------------------------

def jpeg_with_credit(artist: str, copyright_: str) -> bytes:
    """A photo as a camera or a picture desk leaves it: EXIF Artist and Copyright, which WordPress
    copies into the attachment's image_meta (credit, copyright) on upload."""
    exif = PILImage.Exif()
    exif[0x013B] = artist  # Artist
    exif[0x8298] = copyright_  # Copyright
    out = io.BytesIO()
    PILImage.new("RGB", (640, 480), (30, 90, 160)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def wp_time(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def backdate(site: WordPressSite, ids: list[int], *, published: datetime | None = None,
             modified: datetime | None = None) -> None:
    """Set the posts' dates in the database, as a site with older posts has them: the REST API sets a
    post's modified date to now on every write, so only the database can say "last edited yesterday".
    Each post one second before the one listed before it: WordPress orders by the date alone, so posts
    sharing a second may swap places between two pages of one listing (real sites after a bulk import
    do). The site's timezone is UTC, so the local and GMT columns agree."""
    updates = []
    for n, post_id in enumerate(ids):
        columns = {}
        if published is not None:
            at = wp_time(published - timedelta(seconds=n))
            columns.update(post_date=at, post_date_gmt=at)
        if modified is not None:
            at = wp_time(modified - timedelta(seconds=n))
            columns.update(post_modified=at, post_modified_gmt=at)
        values = ", ".join(f"'{name}' => '{value}'" for name, value in columns.items())
        updates.append(f"$wpdb->update($wpdb->posts, [{values}], ['ID' => {post_id}]); clean_post_cache({post_id});")
    site.php("global $wpdb;" + "".join(updates))


@dataclass
class Partner:
    """One test's corner of the shared site: its category, and what it made under it."""

    site: WordPressSite
    category: dict[str, Any]
    authors: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, Any] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)

    def post(self, title: str, body: list[str], *, author: int | None = None, tags: Sequence[int] = (),
             **extra: Any) -> dict[str, Any]:
        data = {"title": title, "content": "".join(f"<p>{p}</p>" for p in body), "status": "publish",
                "categories": [self.category["id"]], "tags": list(tags), **extra}
        if author is not None:
            data["author"] = author
        if self.media:
            data.setdefault("featured_media", self.media["id"])
        post = self.site.rest("/wp/v2/posts", method="POST", json=data)
        self.posts.append(post)
        return post


def new_partner(site: WordPressSite, *, image: bool = True, authors: int = 0) -> Partner:
    marker = uuid.uuid4().hex[:8]
    partner = Partner(site, site.rest("/wp/v2/categories", method="POST", json={"name": f"Harbour {marker}"}))
    for name in ("Ana Lima", "Rui Costa")[:authors]:
        login = f"{name.split()[0].lower()}-{marker}"
        partner.authors.append(site.rest("/wp/v2/users", method="POST", json={
            "username": login, "name": name, "email": f"{login}@example.com", "password": uuid.uuid4().hex,
            "roles": ["author"]}))
    if image:
        media = site.rest("/wp/v2/media", method="POST", data=jpeg_with_credit("Ben Ode", "(c) Harbour Times"),
                          headers={"Content-Type": "image/jpeg",
                                   "Content-Disposition": f'attachment; filename="harbour-{marker}.jpg"'})
        partner.media = site.rest(f"/wp/v2/media/{media['id']}", method="POST", json={
            "caption": "The harbour at dawn, before the fleet goes out", "alt_text": "Boats in the harbour"})
    return partner


# --- the worker: one source polling the partner's category through the proxy ------------------------

@pytest.fixture
def proxy(wordpress: WordPressSite) -> Iterator[CountingProxy]:
    with CountingProxy(wordpress.url) as running:
        yield running


def services_for(tmp_path: Path, proxy: CountingProxy, options: str, source_id: str = "harbour") -> Services:
    """A deployment with one WordPress source (robots.txt obeyed: WordPress's own allows the API) and the
    counting outlet."""
    config = tmp_path / "config"
    config.mkdir(parents=True)
    (config / "sources.yaml").write_text(
        f"sources:\n  - id: {source_id}\n    name: Harbour Times\n    allowed_domains: [127.0.0.1]\n"
        "    allow_private_networks: ['127.0.0.1/8']\n    rate_limit_per_second: 200\n    rate_limit_burst: 50\n"
        f"    discover:\n      - {{kind: wordpress, url: '{proxy.origin}/', {options}}}\n")
    (config / "outlets.yaml").write_text(
        f"outlets:\n  - id: {OUTLET}\n    kind: '{COUNTING_OUTLET}'\n    directory: {tmp_path / 'out'}\n")
    return Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                   "SYNDICATION_FETCH_TIMEOUT": "30"}))


@dataclass
class Run:
    """What the worker did in one round: poll, the ingests it queued, their deliveries and withdrawals."""

    poll: PollReport
    ingests: dict[str, IngestReport | GoneError] = field(default_factory=dict)
    withdrawn: list[str] = field(default_factory=list)


def poll_and_ingest(services: Services, source_id: str = "harbour", now: datetime | None = None) -> Run:
    queued: list[str] = []
    run = Run(poll_source(services, source_id, lambda _s, url: queued.append(url), lambda _a: None, now=now))
    assert run.poll.errors == []
    deliveries: list[tuple[str, int, str]] = []
    for url in queued:
        try:
            run.ingests[url] = ingest_url(services, source_id, url, None, lambda *d: deliveries.append(d),
                                          run.withdrawn.append)
        except GoneError as exc:
            run.ingests[url] = exc
    for article_id, version, outlet_id in deliveries:
        deliver_article(services, article_id, version, outlet_id)
    for article_id in run.withdrawn:
        withdraw_article(services, article_id, OUTLET)
    return run


def public_url(proxy: CountingProxy, site: WordPressSite, post: dict[str, Any]) -> str:
    """The post's link as the worker meets it: through the proxy, which stands in for the site."""
    return str(post["link"]).replace(site.url, proxy.origin)


def cost(forwarded: list[Forwarded]) -> str:
    return (f"{len(forwarded)} requests, {sum(f.body_bytes for f in forwarded)} body bytes, "
            f"{sum(f.header_bytes for f in forwarded)} header bytes: "
            + "; ".join(f"{f.status} {f.path} ({f.body_bytes} B)" for f in forwarded))


# --- the acceptance test ------------------------------------------------------------------------------

@pytest.mark.wordpress
def test_twenty_posts_then_an_edit_an_unchanged_poll_and_a_trashed_post(
        wordpress: WordPressSite, proxy: CountingProxy, tmp_path: Path) -> None:
    partner = new_partner(wordpress, authors=2)
    harbour, fishing = (wordpress.rest("/wp/v2/tags", method="POST", json={"name": f"{name} {uuid.uuid4().hex[:6]}"})
                        for name in ("Harbour & Sea", "Fishing"))
    bodies = [paragraphs(random.Random(n), 4) for n in range(20)]
    for n, body in enumerate(bodies):
        partner.post(f"Harbour story {n}: the fleet & the budget", body, author=partner.authors[n % 2]["id"],
                     tags=[harbour["id"]] + ([fishing["id"]] if n % 2 else []), excerpt=f"What happened at the harbour, part {n}.")
    # a site whose posts were written two hours ago and not touched since
    written = (datetime.now(timezone.utc) - timedelta(hours=2)).replace(microsecond=0)
    backdate(wordpress, [p["id"] for p in partner.posts], published=written, modified=written)
    services = services_for(tmp_path, proxy, f"categories: [{partner.category['id']}], per_page: 8")
    urls = [public_url(proxy, wordpress, p) for p in partner.posts]
    out = tmp_path / "out"

    # 1. the first poll lists the category (three pages of eight), and each post is read at its REST route
    mark = proxy.mark()
    first = poll_and_ingest(services)
    assert sorted(first.ingests) == sorted(urls)
    assert {r.outcome for r in first.ingests.values() if isinstance(r, IngestReport)} == {"new"}
    forwarded = proxy.since(mark)
    print("\nfirst poll and its ingests:", len(forwarded), "requests:", sorted({f.path.split("?")[0] for f in forwarded}))
    paths = [f.path for f in forwarded]
    assert [p for p in paths if "orderby=modified" in p] == [
        f"/wp-json/wp/v2/posts?_fields=id,link,modified_gmt,date_gmt&orderby=modified&order=desc&per_page=8"
        f"{page}&categories={partner.category['id']}" for page in ("", "&page=2", "&page=3")]
    assert sorted(p for p in paths if "_embed" in p) == sorted(
        f"/wp-json/wp/v2/posts?include={p['id']}&_embed=author,wp:featuredmedia,wp:term" for p in partner.posts)
    pages = {urls[n].removeprefix(proxy.origin) for n in range(20)}
    assert not pages & set(paths)  # the posts' public pages: never fetched

    articles = {a.url: a for a in services.store.list_articles(limit=100, source_id="harbour")}
    assert sorted(articles) == sorted(urls)
    for n, url in enumerate(urls):
        article = articles[url]
        assert article.headline == f"Harbour story {n}: the fleet & the budget"
        assert [a.name for a in article.authors] == [("Ana Lima", "Rui Costa")[n % 2]]
        assert article.body_text.split("\n\n") == bodies[n]
        assert article.description == f"What happened at the harbour, part {n}."
        assert article.section == partner.category["name"]
        assert sorted(article.tags) == sorted([harbour["name"].replace("&amp;", "&")] + ([fishing["name"]] if n % 2 else []))
        assert article.published == article.updated == written - timedelta(seconds=n)
        image = article.lead_image
        assert image is not None
        assert image.url == public_url(proxy, wordpress, {"link": partner.media["source_url"]})
        assert (image.caption, image.credit, image.alt) == (
            "The harbour at dawn, before the fleet goes out", "Ben Ode", "Boats in the harbour")
        assert (image.width, image.height) == (640, 480)
        assert article.attribution == "From Harbour Times"
    assert len(calls(out, "publish")) == 20

    # 2. nothing changed: the poll asks for the first page of the listing and the newest posts by date
    # (WordPress sends no ETag or Last-Modified, so no answer can be a 304), and queues nothing
    mark = proxy.mark()
    unchanged = poll_and_ingest(services)
    forwarded = proxy.since(mark)
    print("unchanged poll:", cost(forwarded))
    assert unchanged.ingests == {}
    assert len(forwarded) == 2
    assert [(f.status, "orderby=modified" in f.path, "orderby=date" in f.path) for f in forwarded] == [
        (200, True, False), (200, False, True)]

    # 3. an editor corrects one post: exactly one new version, and one more delivery
    edited = partner.posts[7]
    wordpress.rest(f"/wp/v2/posts/{edited['id']}", method="POST", json={
        "content": "".join(f"<p>{p}</p>" for p in bodies[7]) + "<p>Correction: the budget passed on Tuesday.</p>"})
    mark = proxy.mark()
    edit = poll_and_ingest(services)
    print("poll after one edit:", cost(proxy.since(mark)))
    [(url, report)] = edit.ingests.items()
    assert url == urls[7] and isinstance(report, IngestReport) and (report.outcome, report.version) == ("new_version", 2)
    assert services.store.get_article(report.article_id).body_text.endswith("Correction: the budget passed on Tuesday.")
    assert {a.version for a in services.store.list_articles(limit=100, source_id="harbour") if a.url != url} == {1}
    published = calls(out, "publish")
    assert len(published) == 21
    assert [c["version"] for c in published if c["url"] == url] == [1, 2]

    # 4. a post goes to the trash: it leaves the anonymous listing; the re-check by the clock (recheck_every_hours
    # later, still inside the updates window) re-reads every known post, finds that one listed no more (an empty
    # answer to include=<id>), and withdraws it
    trashed = partner.posts[12]
    wordpress.rest(f"/wp/v2/posts/{trashed['id']}", method="DELETE")
    assert wordpress.rest(f"/wp/v2/posts/{trashed['id']}", params={"context": "edit"})["status"] == "trash"
    mark = proxy.mark()
    recheck = poll_and_ingest(services, now=datetime.now(timezone.utc) + timedelta(hours=7))
    assert sorted(recheck.ingests) == sorted(urls)
    gone = recheck.ingests[urls[12]]
    assert isinstance(gone, GoneError) and "lists no such published post" in gone.reason
    assert {r.outcome for u, r in recheck.ingests.items() if u != urls[12] and isinstance(r, IngestReport)} == {"unchanged"}
    assert [(f.status, f.body_bytes) for f in proxy.since(mark) if f"include={trashed['id']}&" in f.path] == [(200, 2)]
    trashed_id = articles[urls[12]].id
    assert recheck.withdrawn == [trashed_id] and services.store.is_withdrawn(trashed_id)
    assert [c["article_id"] for c in calls(out, "withdraw")] == [trashed_id]
    assert len(calls(out, "publish")) == 21  # the re-read posts were unchanged: nothing re-delivered


@pytest.mark.wordpress
def test_an_unchanged_poll_without_find_scheduled_is_one_request(
        wordpress: WordPressSite, proxy: CountingProxy, tmp_path: Path) -> None:
    partner = new_partner(wordpress, image=False)
    for n in range(3):
        partner.post(f"Quay notice {n}", paragraphs(random.Random(50 + n), 2))
    backdate(wordpress, [p["id"] for p in partner.posts], modified=datetime.now(timezone.utc) - timedelta(hours=2))
    services = services_for(tmp_path, proxy, f"categories: [{partner.category['id']}], find_scheduled: false")
    assert len(poll_and_ingest(services).ingests) == 3
    mark = proxy.mark()
    assert poll_and_ingest(services).ingests == {}
    forwarded = proxy.since(mark)
    print("\nunchanged poll, find_scheduled: false:", cost(forwarded))
    assert [(f.status, "orderby=modified" in f.path) for f in forwarded] == [(200, True)]


@pytest.mark.wordpress
def test_a_scheduled_post_going_live_is_found_by_its_publication_date(
        wordpress: WordPressSite, proxy: CountingProxy, tmp_path: Path) -> None:
    # A post scheduled two days ago goes live now: WordPress's cron calls wp_publish_post, which changes
    # its status and nothing else, so its modified date stays two days old, behind every post edited
    # since. The modified-ordered listing stops at the posts the last poll saw; only the listing by
    # publication date shows it.
    partner = new_partner(wordpress, image=False)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for n in range(3):
        partner.post(f"Tide table {n}", paragraphs(random.Random(60 + n), 2))
    backdate(wordpress, [p["id"] for p in partner.posts], published=now - timedelta(days=1), modified=now - timedelta(days=1))
    scheduled = partner.post("Embargoed: the harbour plan", paragraphs(random.Random(70), 3), status="future",
                             date_gmt=(now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    category = partner.category["id"]
    finding = services_for(tmp_path / "finding", proxy, f"categories: [{category}], per_page: 2", "finding")
    blind = services_for(tmp_path / "blind", proxy, f"categories: [{category}], per_page: 2, find_scheduled: false", "blind")
    for services, source_id in ((finding, "finding"), (blind, "blind")):
        assert len(poll_and_ingest(services, source_id).ingests) == 3  # the scheduled post is not public yet

    backdate(wordpress, [scheduled["id"]], published=now - timedelta(minutes=1), modified=now - timedelta(days=2))
    wordpress.php(f"wp_publish_post({scheduled['id']});")
    live = public_url(proxy, wordpress, wordpress.rest(f"/wp/v2/posts/{scheduled['id']}"))
    assert list(poll_and_ingest(blind, "blind").ingests) == []
    found = poll_and_ingest(finding, "finding").ingests
    assert list(found) == [live]
    assert services_headline(finding, live) == "Embargoed: the harbour plan"


def services_headline(services: Services, url: str) -> str | None:
    return next((a.headline for a in services.store.list_articles(limit=100) if a.url == url), None)


@pytest.mark.wordpress
def test_a_post_given_a_password_is_withdrawn(wordpress: WordPressSite, proxy: CountingProxy, tmp_path: Path) -> None:
    partner = new_partner(wordpress, image=False)
    post = partner.post("Members only: the harbour accounts", paragraphs(random.Random(80), 3))
    backdate(wordpress, [post["id"]], modified=datetime.now(timezone.utc) - timedelta(hours=1))
    services = services_for(tmp_path, proxy, f"categories: [{partner.category['id']}]")
    [(url, report)] = poll_and_ingest(services).ingests.items()
    assert isinstance(report, IngestReport) and report.outcome == "new"
    # still published, so still listed, with a new modified date: the re-read finds it protected
    wordpress.rest(f"/wp/v2/posts/{post['id']}", method="POST", json={"password": "harbour"})
    again = poll_and_ingest(services)
    gone = again.ingests[url]
    assert isinstance(gone, GoneError) and "password-protected" in gone.reason
    assert again.withdrawn == [report.article_id] and services.store.is_withdrawn(report.article_id)


CLOSE_REST_API = """<?php
// What security plugins do (and the REST API handbook shows): the API for logged-in users only.
add_filter('rest_authentication_errors', function ($result) {
    if (true === $result || is_wp_error($result) || is_user_logged_in()) return $result;
    return new WP_Error('rest_not_logged_in', 'You are not currently logged in.', ['status' => 401]);
});
"""


@pytest.mark.wordpress
def test_a_rest_api_closed_to_anonymous_readers_withdraws_nothing(
        wordpress: WordPressSite, proxy: CountingProxy, tmp_path: Path) -> None:
    # Closed, the API answers every anonymous request 401, the listing and each post alike. Read as "the
    # post is gone", that would withdraw every recent article of the partner, for good.
    partner = new_partner(wordpress, image=False)
    for n in range(2):
        partner.post(f"Pier repairs {n}", paragraphs(random.Random(95 + n), 2))
    services = services_for(tmp_path, proxy, f"categories: [{partner.category['id']}]")
    stored = {u: r.article_id for u, r in poll_and_ingest(services).ingests.items() if isinstance(r, IngestReport)}
    assert len(stored) == 2
    plugin = wordpress.datadir / "wp-content" / "mu-plugins" / "close-rest-api.php"
    plugin.write_text(CLOSE_REST_API, encoding="utf-8")
    try:
        queued: list[str] = []
        with pytest.raises(PermanentError, match=r"wp-json/: HTTP 401; .*\?rest_route=/: HTTP 401"):
            poll_source(services, "harbour", lambda _s, url: queued.append(url), lambda _a: None,
                        now=datetime.now(timezone.utc) + timedelta(hours=7))
        assert sorted(queued) == sorted(stored)  # the re-check by the clock still runs
        for url in queued:
            with pytest.raises(HttpStatusError) as caught:
                ingest_url(services, "harbour", url, None, lambda *_d: None, lambda _a: pytest.fail("withdrawn"))
            assert caught.value.status == 401 and not isinstance(caught.value, GoneError)
    finally:
        plugin.unlink()
    assert not any(services.store.is_withdrawn(article_id) for article_id in stored.values())
    assert calls(tmp_path / "out", "withdraw") == []
    # open again: the next re-check reads the posts as they are
    again = poll_and_ingest(services, now=datetime.now(timezone.utc) + timedelta(hours=14))
    assert {r.outcome for r in again.ingests.values() if isinstance(r, IngestReport)} == {"unchanged"}


@pytest.mark.wordpress
def test_a_site_without_pretty_permalinks_is_read_through_rest_route(
        wordpress: WordPressSite, proxy: CountingProxy, tmp_path: Path) -> None:
    # The fixture's site switched to WordPress's plain permalinks (?p=123): /wp-json/ is not routed there
    # (the answer is a redirect to the home page), whose Link header names the root ?rest_route=/.
    partner = new_partner(wordpress)
    for n in range(3):
        partner.post(f"Lighthouse log {n}", paragraphs(random.Random(90 + n), 3))
    services = services_for(tmp_path, proxy, f"categories: [{partner.category['id']}]")
    with wordpress.permalinks(""):
        mark = proxy.mark()
        run = poll_and_ingest(services)
        forwarded = proxy.since(mark)
        print("\nfirst poll of a site without pretty permalinks:", cost([f for f in forwarded if "_embed" not in f.path]))
        expected = [f"{proxy.origin}/?p={p['id']}" for p in partner.posts]
        assert sorted(run.ingests) == sorted(expected)
        paths = [f.path for f in forwarded]
        assert len([p for p in paths if p.startswith("/wp-json/wp/v2/posts?")]) == 1  # the probe, once
        assert sorted(p for p in paths if "_embed" in p) == sorted(
            f"/index.php?rest_route=/wp/v2/posts&include={p['id']}&_embed=author,wp:featuredmedia,wp:term"
            for p in partner.posts)
        article = {a.url: a for a in services.store.list_articles(limit=10)}[expected[0]]
        assert article.headline == "Lighthouse log 0" and article.lead_image is not None
        assert article.lead_image.credit == "Ben Ode"

        mark = proxy.mark()
        assert poll_and_ingest(services).ingests == {}
        forwarded = proxy.since(mark)
        print("unchanged poll of it:", cost(forwarded))
        # the root found is remembered: no probe again
        assert [f.path.split("&")[0] for f in forwarded] == ["/index.php?rest_route=/wp/v2/posts"] * 2


# --- without WordPress: what is not a post is refused by name ----------------------------------------

def _page(body: bytes, url: str = "https://partner.example/wp-json/wp/v2/posts?include=5&_embed=author") -> Page:
    return Page(requested_url=url, url=url, status=200, content_type="application/json", body=body)


def _source() -> Source:
    return Source(id="partner", name="Partner", allowed_domains=["partner.example"])


POST = ('{"id": 5, "link": "https://partner.example/story/", "status": "publish", "date_gmt": "2024-05-01T10:00:00",'
        ' "modified_gmt": "2024-05-02T08:30:00", "title": {"rendered": "Harbour &#038; Sea"},'
        ' "content": {"rendered": "<p>One.</p><p>Two.</p>", "protected": false},'
        ' "excerpt": {"rendered": "<p>Short summary [&hellip;]</p>", "protected": false}, "lang": "pt_BR",'
        ' "_embedded": {"author": [{"code": "rest_user_cannot_view", "message": "no"}, {"name": "Ana Lima"}],'
        ' "wp:featuredmedia": [{"code": "rest_forbidden", "data": {"status": 401}}],'
        ' "wp:term": [[{"name": "Uncategorized", "slug": "uncategorized", "taxonomy": "category"},'
        ' {"name": "Ports", "slug": "ports", "taxonomy": "category"}], [{"name": "Tides", "taxonomy": "post_tag"}, 7]]}}')

OTHER_POST = POST.replace('"id": 5', '"id": 6')


def test_read_item_maps_a_post_and_skips_embedded_parts_it_may_not_see() -> None:
    item = WordPressKind().read_item(_page(POST.encode()), _source())
    assert (item.url, item.headline, item.authors, item.section, item.tags) == (
        "https://partner.example/story/", "Harbour &#038; Sea", ["Ana Lima"], "Ports", ["Tides"])
    assert item.description == "<p>Short summary</p>" and item.language == "pt-BR" and item.lead_image is None
    assert item.published == datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc)
    assert item.updated == datetime(2024, 5, 2, 8, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(("body", "error", "words"), [
    (b"<!doctype html><html><body>Home</body></html>", ExtractionError, "not a WordPress post (Expecting value"),
    (b"[1]", ExtractionError, "not a WordPress post (document: Input should be"),
    (b"\"a string\"", ExtractionError, "not a WordPress post (document: Input should be"),
    (POST.replace('"title": {"rendered": "Harbour &#038; Sea"}', '"title": "x"').encode(), ExtractionError, "title:"),
    (POST.replace('"id": 5', '"id": "5; DROP"').encode(), ExtractionError, "id:"),
    (b"[" * 100_000 + b"]" * 100_000, ExtractionError, "nested too deep"),
    (POST.replace('"status": "publish"', '"status": "draft"').encode(), GoneError, "'draft', no longer published"),
    (POST.replace('"protected": false}, "excerpt"', '"protected": true}, "excerpt"').encode(), GoneError, "password-protected"),
    (POST.replace("https://partner.example/story/", "https://elsewhere.example/story/").encode(), ExtractionError,
     "not on the source's domains"),
    (b"[]", GoneError, "lists no such published post (trashed, unpublished or deleted)"),
    (f"[{POST}, {POST}]".encode(), ExtractionError, "2 posts where one was asked for"),
    (f"[{OTHER_POST}]".encode(), ExtractionError, "post 6 where post 5 was asked for"),
])
def test_read_item_refuses_what_is_not_a_published_post_by_name(body: bytes, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=re.escape(words)):
        WordPressKind().read_item(_page(body), _source())


def stub_services(tmp_path: Path, httpserver: HTTPServer) -> Services:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - id: stub\n    name: Stub\n    allowed_domains: [localhost]\n"
        "    allow_private_networks: ['127.0.0.1/8', '::1']\n"
        f"    discover:\n      - {{kind: wordpress, url: 'http://localhost:{httpserver.port}'}}\n")
    (config / "outlets.yaml").write_text("outlets: []\n")
    return Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                   "SYNDICATION_FETCH_TIMEOUT": "5"}))


def stub_wordpress(httpserver: HTTPServer, item: Callable[[Request], Response],
                   listing: Callable[[Request], Response] | None = None) -> str:
    """A loopback stand-in for one WordPress post: its listing (both orders) and its item URL; the post's link."""
    link = httpserver.url_for("/harbour-story/")
    written = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    listed = json.dumps([{"id": 5, "link": link, "modified_gmt": written, "date_gmt": written}])

    def answer(request: Request) -> Response:
        if "include" in request.args:
            return item(request)
        if listing is not None:
            return listing(request)
        return Response(listed, content_type="application/json", headers={"X-WP-TotalPages": "1"})

    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/wp-json/wp/v2/posts").respond_with_handler(answer)
    return link


def stub_post(link: str) -> str:
    return "[" + POST.replace("https://partner.example/story/", link) + "]"


def test_an_item_url_answering_404_is_a_failure_not_a_withdrawal(tmp_path: Path, httpserver: HTTPServer) -> None:
    # A 404 from an API is often the API's (the route gone with a plugin, the site off WordPress), not the
    # article's: the ingest withdraws only on what the kind names (item_gone_statuses; WordPress: none).
    answers: list[Response] = []
    link = stub_wordpress(httpserver, lambda _r: answers.pop(0))
    answers += [Response(stub_post(link), content_type="application/json"),
                Response('{"code": "rest_no_route", "data": {"status": 404}}', status=404, content_type="application/json")]
    services = stub_services(tmp_path, httpserver)
    first = poll_and_ingest(services, "stub")
    [report] = first.ingests.values()
    assert isinstance(report, IngestReport) and report.outcome == "new"
    queued: list[str] = []
    poll_source(services, "stub", lambda _s, url: queued.append(url), lambda _a: None,
                now=datetime.now(timezone.utc) + timedelta(hours=7))
    assert queued == [link]
    with pytest.raises(HttpStatusError) as caught:
        ingest_url(services, "stub", link, None, lambda *_d: None, lambda _a: pytest.fail("withdrawn"))
    assert caught.value.status == 404 and not isinstance(caught.value, GoneError)
    assert not services.store.is_withdrawn(report.article_id)


def test_a_listing_that_answers_304_is_not_parsed_and_queues_nothing(tmp_path: Path, httpserver: HTTPServer) -> None:
    # WordPress itself sends no validators; a cache in front of it may. The listing URLs never change, so
    # the poll's conditional GET gets its 304.
    def listing(request: Request) -> Response:
        tag = f'"{request.args["orderby"]}-v1"'
        if request.headers.get("If-None-Match") == tag:
            return Response(status=304, headers={"ETag": tag})
        return Response(json.dumps([{"id": 5, "link": link, "modified_gmt": written, "date_gmt": written}]),
                        content_type="application/json", headers={"ETag": tag, "X-WP-TotalPages": "1"})

    written = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    link = stub_wordpress(httpserver, lambda _r: Response(stub_post(link), content_type="application/json"), listing)
    services = stub_services(tmp_path, httpserver)
    assert len(poll_and_ingest(services, "stub").ingests) == 1
    before = len(httpserver.log)
    again = poll_and_ingest(services, "stub")
    assert again.ingests == {} and len(again.poll.not_modified) == 2
    assert [(r.args["orderby"], response.status_code) for r, response in httpserver.log[before:]] == [
        ("modified", 304), ("date", 304)]


def test_route_urls_keep_the_roots_style() -> None:
    assert route_url("https://p.example/wp-json/", "/wp/v2/posts/5", [("_embed", "author,wp:term")]) == \
        "https://p.example/wp-json/wp/v2/posts/5?_embed=author,wp:term"
    assert route_url("https://p.example/index.php?rest_route=/", "/wp/v2/posts", [("per_page", "2")]) == \
        "https://p.example/index.php?rest_route=/wp/v2/posts&per_page=2"
    assert route_url("https://p.example/blog/?rest_route=/&lang=pt", "/wp/v2/posts/5") == \
        "https://p.example/blog/?rest_route=/wp/v2/posts/5&lang=pt"


def test_a_site_with_no_rest_api_is_reported_for_its_entry(tmp_path: Path, httpserver: HTTPServer) -> None:
    # a site that is no WordPress: its /wp-json/ is a 404, its home page is a page, not a posts list
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/wp-json/wp/v2/posts").respond_with_data("not here", status=404)
    httpserver.expect_request("/").respond_with_data("<html><body>A shop</body></html>", content_type="text/html")
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(
        "sources:\n  - id: shop\n    name: Shop\n    allowed_domains: [localhost]\n    allow_private_networks: ['127.0.0.1/8', '::1']\n"
        f"    discover:\n      - {{kind: wordpress, url: 'http://localhost:{httpserver.port}'}}\n")
    (config / "outlets.yaml").write_text("outlets: []\n")
    services = Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                       "SYNDICATION_FETCH_TIMEOUT": "5"}))
    with pytest.raises(PermanentError) as caught:  # its one entry failed: the poll gives up, naming why
        poll_source(services, "shop", lambda *_a: None, lambda _a: None)
    assert "no WordPress REST API answers there" in caught.value.reason
    assert f"http://localhost:{httpserver.port}/?rest_route=/" in caught.value.reason


# --- config: a bad entry is refused at load, naming file, line and field ------------------------------

SOURCE = ("sources:\n  - id: partner\n    name: Partner\n    allowed_domains: [partner.example]\n"
          "    discover:\n")


@pytest.mark.parametrize(("entry", "line", "field_", "message"), [
    ("      - kind: wordpress\n        url: https://partner.example/\n        per_page: 101\n",
     8, "discover.wordpress.per_page", "Input should be less than or equal to 100"),
    ("      - kind: wordpress\n        url: https://partner.example/?lang=en\n",
     7, "discover.wordpress.url", "the site's root URL"),
    ("      - kind: wordpress\n        url: https://partner.example/\n        categories: [4, 0]\n",
     8, "discover.wordpress.categories", "term ids are positive integers"),
    ("      - {kind: wordpress, url: 'https://partner.example/', max_post: 5}\n",
     6, "discover.wordpress.max_post", "Extra inputs are not permitted"),
    ("      - {kind: wordpress}\n", 6, "discover.wordpress.url", "Field required"),
])
def test_a_bad_wordpress_entry_is_refused_at_load_naming_file_line_and_field(
        tmp_path: Path, entry: str, line: int, field_: str, message: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCE + entry, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"{re.escape(str(path))}, line {line}, source 'partner', "
                                          rf"field '{re.escape(field_)}': .*{re.escape(message)}"):
        load_sources(path)


def test_syndicate_check_refuses_a_bad_wordpress_entry(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(
        SOURCE + "      - kind: wordpress\n        url: https://partner.example/\n        max_posts: 0\n", encoding="utf-8")
    (tmp_path / "outlets.yaml").write_text("outlets: []\n", encoding="utf-8")
    result = syndicate_check(tmp_path)
    assert result.returncode == 2, result.stdout
    assert (f"{tmp_path / 'sources.yaml'}, line 8, source 'partner', field 'discover.wordpress.max_posts': "
            "Input should be greater than or equal to 1") in result.stderr
    assert "Traceback" not in result.stderr
