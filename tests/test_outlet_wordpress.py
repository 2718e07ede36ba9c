"""The WordPress outlet against a real WordPress (tests/plugins/wordpress.py): what the post holds, read
back through the REST API and the rendered page, and that no crash, lost response or race makes a
second post. The error-mapping tests at the end use a loopback stand-in and need no WordPress."""
from __future__ import annotations

import http.server
import json
import logging
import struct
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from lxml import html as lxml_html
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from tests.plugins.celery_worker import ROOT, Deployment
from tests.plugins.wordpress import WordPressSite
from tests.support.loopback_http import LoopbackHTTPServer
from tests.support.slow_peer import Answer, SlowPeer, cut_short, slow_body
from tests.support.slow_peer import head as slow_peer_head
from worker.errors import ConfigError, OutletDeadlineError, OutletRejectedError, OutletUnavailableError
from worker.extract import extract_article
from worker.outlets import wordpress_media
from worker.outlets.base import RemoteRef
from worker.outlets.wordpress import WordPressOptions, WordPressOutlet, post_slug
from worker.outlets.wordpress_client import WordPressClient, WordPressRejectedError
from worker.schema import Article, Image, normalize_text
from worker.settings import load_settings
from worker.store import DeliveryState, Store

FIXTURE = ROOT / "tests/fixtures/partners/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
EXPECTED = json.loads((ROOT / "tests/fixtures/expected/coalition-begins-clearing-out-last-isis-pockets-in-iraq.json").read_text())
PAGE_PATH = "/theepochtimes/coalition-begins-clearing-out-last-isis-pockets-in-iraq_2302211.html"
IMAGE_PATH = "/theepochtimes/assets/2017/09/mosul-artillery-1200x800.png"
PASSWORD_ENV = "SYNDICATION_TEST_WP_APP_PASSWORD"


def png(width: int = 6, height: int = 4, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


IMAGE = png()


def seed_article() -> Article:
    return extract_article(FIXTURE.read_bytes(), EXPECTED["url"])


def variant(httpserver: HTTPServer, **changes: Any) -> Article:
    """The seed article under a URL of its own (so tests on the shared site never meet), with its lead
    image served from loopback at the path the test's image server uses."""
    seed = seed_article()
    assert seed.lead_image is not None
    image = seed.lead_image.model_copy(update={"url": httpserver.url_for(getattr(httpserver, "image_path", IMAGE_PATH))})
    return seed.recomputed(url=f"{seed.url}?variant={uuid.uuid4().hex[:10]}", lead_image=image, **changes)


def image_fetches(httpserver: HTTPServer) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == getattr(httpserver, "image_path", IMAGE_PATH))


@pytest.fixture
def image_server(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """The partner's image server; a new image path per test, since uploads are shared by image URL."""
    path = IMAGE_PATH.replace(".png", f"-{uuid.uuid4().hex[:8]}.png")
    httpserver.expect_request(path).respond_with_data(IMAGE, content_type="image/png")
    httpserver.image_path = path  # type: ignore[attr-defined]
    yield httpserver
    del httpserver.image_path  # type: ignore[attr-defined]


@pytest.fixture
def wp_env(wordpress: WordPressSite, monkeypatch: pytest.MonkeyPatch) -> WordPressSite:
    monkeypatch.setenv(PASSWORD_ENV, wordpress.app_password)
    return wordpress


def make_outlet(site_url: str, user: str, **options: Any) -> WordPressOutlet:
    settings: dict[str, Any] = {
        "url": site_url, "username": user, "app_password_env": PASSWORD_ENV, "status": "publish",
        "category_map": {"World News": "World"}, "default_categories": ["Syndicated"],
        "image_allow_private_networks": ["127.0.0.1/32"], "timeout": 20, **options,
    }
    return WordPressOutlet("wordpress", WordPressOptions.model_validate(settings), load_settings({}))


@pytest.fixture
def outlet(wp_env: WordPressSite) -> WordPressOutlet:
    return make_outlet(wp_env.url, wp_env.user)


def posts_of(site: WordPressSite, article: Article) -> list[dict[str, Any]]:
    """Every post (any status but trash) that holds this article: by its slug, or by its id in the meta."""
    by_slug = site.posts(slug=post_slug(article))
    by_meta = [p for p in site.posts(syndication_id=article.id) if p["meta"]["syndication_id"] == article.id]
    return list({p["id"]: p for p in by_slug + by_meta}.values())


# --- what the post holds ---------------------------------------------------------------------------

@pytest.mark.wordpress
def test_the_seed_article_becomes_a_complete_post(outlet: WordPressOutlet, wp_env: WordPressSite,
                                                  image_server: HTTPServer) -> None:
    article = variant(image_server, tags=["ISIS", "Iraq & Syria"])
    ref = outlet.publish(article, None)

    post = wp_env.rest(f"/wp/v2/posts/{ref.id}", params={"context": "edit"})
    assert ref.url == post["link"]
    assert post["title"]["raw"] == EXPECTED["headline"]
    assert post["status"] == "publish" and post["slug"] == post_slug(article)
    assert post["date_gmt"] == "2017-09-22T18:05:00"
    assert post["excerpt"]["raw"] == article.description
    paragraphs = [normalize_text(p.text_content()) for p in lxml_html.fragment_fromstring(post["content"]["raw"], create_parent="div").iter("p")]
    assert paragraphs[: len(EXPECTED["body_paragraphs"])] == [normalize_text(p) for p in EXPECTED["body_paragraphs"]]
    assert post["content"]["raw"].rstrip().endswith(
        f'<p class="syndication-attribution"><a href="{article.url}">From The Epoch Times</a></p>')
    assert post["meta"] == {"syndication_canonical_url": article.url, "syndication_id": article.id,
                            "syndication_version": "1", "syndication_source": article.source.id}

    categories = {wp_env.rest(f"/wp/v2/categories/{c}")["name"] for c in post["categories"]}
    assert categories == {"Syndicated", "World"}
    tags = {wp_env.rest(f"/wp/v2/tags/{t}")["name"] for t in post["tags"]}
    assert tags == {"ISIS", "Iraq &amp; Syria"}  # WordPress hands names back HTML-escaped

    media = wp_env.rest(f"/wp/v2/media/{post['featured_media']}", params={"context": "edit"})
    caption = EXPECTED["lead_image"]["caption"]
    assert media["caption"]["raw"] == f"{caption} ({EXPECTED['lead_image']['credit']})"
    assert media["alt_text"] == caption
    assert media["meta"] == {"syndication_image_source": article.lead_image.url,
                             "syndication_credit": EXPECTED["lead_image"]["credit"]}
    assert requests.get(media["source_url"], timeout=10).content == IMAGE

    page = requests.get(post["link"], timeout=30)
    assert page.status_code == 200
    canonicals = lxml_html.fromstring(page.content).xpath('//link[@rel="canonical"]/@href')
    assert canonicals == [article.url]  # the partner's URL, and WordPress's own tag replaced, not added to


@pytest.mark.wordpress
def test_a_second_article_with_the_same_image_reuses_the_upload(outlet: WordPressOutlet, wp_env: WordPressSite,
                                                                 image_server: HTTPServer) -> None:
    first = outlet.publish(variant(image_server), None)
    second = outlet.publish(variant(image_server), None)
    assert first.id != second.id
    media = [wp_env.rest(f"/wp/v2/posts/{ref.id}")["featured_media"] for ref in (first, second)]
    assert media[0] == media[1] != 0
    assert image_fetches(image_server) == 1


@pytest.mark.wordpress
def test_an_image_that_cannot_be_downloaded_does_not_hold_the_post_back(
        outlet: WordPressOutlet, wp_env: WordPressSite, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request(IMAGE_PATH).respond_with_data("gone", status=404)
    article = variant(httpserver)
    with caplog.at_level(logging.WARNING):
        ref = outlet.publish(article, None)
    assert wp_env.rest(f"/wp/v2/posts/{ref.id}")["featured_media"] == 0
    assert "HTTP 404" in caplog.text and "without its featured image" in caplog.text


@pytest.mark.wordpress
def test_a_private_address_as_image_is_refused_by_the_ssrf_guard(
        wp_env: WordPressSite, image_server: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    guarded = make_outlet(wp_env.url, wp_env.user, image_allow_private_networks=[])
    with caplog.at_level(logging.WARNING):
        ref = guarded.publish(variant(image_server), None)
    assert wp_env.rest(f"/wp/v2/posts/{ref.id}")["featured_media"] == 0
    assert "loopback" in caplog.text
    assert image_fetches(image_server) == 0


# --- updates and withdrawal ------------------------------------------------------------------------

@pytest.mark.wordpress
def test_a_new_version_updates_the_same_post_and_an_old_one_never_overwrites_it(
        outlet: WordPressOutlet, wp_env: WordPressSite, image_server: HTTPServer) -> None:
    first = variant(image_server)
    ref = outlet.publish(first, None)
    wp_env.rest(f"/wp/v2/posts/{ref.id}", method="POST", json={"status": "draft"})  # an editor's choice
    second = first.recomputed(version=2, headline="Coalition Clears Last ISIS Pockets in Iraq",
                              body_html=first.body_html.replace("cleared 11 villages", "cleared 12 villages"))
    assert outlet.publish(second, ref).id == ref.id
    post = wp_env.rest(f"/wp/v2/posts/{ref.id}", params={"context": "edit"})
    assert "cleared 12 villages" in post["content"]["raw"] and "cleared 11 villages" not in post["content"]["raw"]
    assert post["title"]["raw"] == "Coalition Clears Last ISIS Pockets in Iraq"
    assert post["meta"]["syndication_version"] == "2"
    assert post["status"] == "draft"  # the editor's status stands

    # after a crash before the ledger write there is no `previous`; the new headline gives another slug,
    # so only the syndication_id meta can find the post
    third = second.recomputed(version=3, headline="A Third Headline", body_html=second.body_html + "<p>Added.</p>")
    assert outlet.publish(third, None).id == ref.id
    assert outlet.publish(first, None).id == ref.id  # a late v1: found, and left alone
    post = wp_env.rest(f"/wp/v2/posts/{ref.id}", params={"context": "edit"})
    assert post["meta"]["syndication_version"] == "3" and "<p>Added.</p>" in post["content"]["raw"]
    assert [p["id"] for p in posts_of(wp_env, third)] == [int(ref.id)]


@pytest.mark.wordpress
def test_withdraw_turns_the_post_into_a_draft_and_is_idempotent(outlet: WordPressOutlet, wp_env: WordPressSite,
                                                                image_server: HTTPServer) -> None:
    ref = outlet.publish(variant(image_server), None)
    assert requests.get(ref.url, timeout=30).status_code == 200
    outlet.withdraw(ref, "the partner took it down")
    outlet.withdraw(ref, "the partner took it down")
    assert wp_env.rest(f"/wp/v2/posts/{ref.id}", params={"context": "edit"})["status"] == "draft"
    assert requests.get(ref.url, timeout=30).status_code == 404


@pytest.mark.wordpress
def test_withdraw_to_trash_when_configured(wp_env: WordPressSite, image_server: HTTPServer) -> None:
    trashing = make_outlet(wp_env.url, wp_env.user, withdraw_action="trash")
    ref = trashing.publish(variant(image_server), None)
    trashing.withdraw(ref, "gone")
    trashing.withdraw(ref, "gone")
    assert wp_env.rest(f"/wp/v2/posts/{ref.id}", params={"context": "edit"})["status"] == "trash"
    trashing.withdraw(RemoteRef("99999999"), "never existed")  # nothing there: nothing to do


# --- no duplicates, whatever happens ---------------------------------------------------------------

@pytest.mark.wordpress
def test_publishing_twice_without_previous_makes_one_post(outlet: WordPressOutlet, wp_env: WordPressSite,
                                                          image_server: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    article = variant(image_server)
    with caplog.at_level(logging.WARNING):
        first = outlet.publish(article, None)
        again = make_outlet(wp_env.url, wp_env.user).publish(article, None)  # another worker, no ledger entry
    assert again.id == first.id
    assert "at the same time" not in caplog.text  # found before creating, not created and then undone
    assert [p["id"] for p in posts_of(wp_env, article)] == [int(first.id)]


@pytest.mark.wordpress
def test_without_the_mu_plugin_the_slug_alone_finds_the_post(outlet: WordPressOutlet, wp_env: WordPressSite,
                                                              image_server: HTTPServer, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """A site without the mu-plugin ignores ?syndication_id= (and so lists every post) and shows no meta."""
    outlet.publish(variant(image_server), None)  # some other post on the site, to be listed by mistake
    real_find = WordPressClient.find_posts

    def as_without_plugin(self: WordPressClient, **filters: str) -> list[dict[str, Any]]:
        filters.pop("syndication_id", None)
        return [{**post, "meta": []} for post in real_find(self, **filters)]

    monkeypatch.setattr(WordPressClient, "find_posts", as_without_plugin)
    article = variant(image_server)
    with caplog.at_level(logging.WARNING):
        first = outlet.publish(article, None)
        assert make_outlet(wp_env.url, wp_env.user).publish(article, None).id == first.id
    assert [p["id"] for p in posts_of(wp_env, article)] == [int(first.id)]
    assert "at the same time" not in caplog.text  # found before creating, not created and then undone

    # a new headline changes the slug; without the plugin nothing can find the post (a documented
    # limit), and above all no other article's post may be taken for it
    [oldest] = wp_env.posts(orderby="id", order="asc", per_page=1)  # what a careless filter would pick
    renamed = article.recomputed(version=2, headline="Another Headline Altogether")
    ref = outlet.publish(renamed, None)
    assert int(ref.id) != oldest["id"]
    assert wp_env.posts(orderby="id", order="asc", per_page=1) == [oldest]


class LosingProxy:
    """Loopback HTTP proxy in front of WordPress that forwards a request creating a post, then hangs up
    instead of passing the answer on: the post exists, the client never hears of it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.lost: list[str] = []
        self.drop_next_create = True
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(self.command, proxy.target + self.path, headers=headers, data=body,
                                          allow_redirects=False, timeout=30)
                if self.command == "POST" and self.path.split("?")[0].rstrip("/").endswith("/wp/v2/posts") \
                        and proxy.drop_next_create:
                    proxy.drop_next_create = False
                    proxy.lost.append(answer.text)
                    self.close_connection = True
                    return  # WordPress did the work; the answer goes nowhere
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        continue
                    self.send_header(name, value.replace(proxy.target, proxy.url))
                content = answer.content if self.command != "HEAD" else b""
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_HEAD = do_DELETE = do_OPTIONS = _forward

            def log_message(self, *args: Any) -> None:
                pass

        self.http = LoopbackHTTPServer(Handler, name="losing-proxy")
        self.url = self.http.origin


@pytest.fixture
def losing_proxy(wordpress: WordPressSite) -> Iterator[LosingProxy]:
    proxy = LosingProxy(wordpress.url)
    with proxy.http:
        yield proxy


@pytest.mark.wordpress
def test_a_lost_response_to_the_create_is_not_a_second_post(wp_env: WordPressSite, losing_proxy: LosingProxy,
                                                            image_server: HTTPServer) -> None:
    outlet = make_outlet(losing_proxy.url, wp_env.user)
    article = variant(image_server)
    with pytest.raises(OutletUnavailableError):
        outlet.publish(article, None)
    assert losing_proxy.lost, "the proxy never saw the create request"
    created = json.loads(losing_proxy.lost[0])["id"]
    assert [p["id"] for p in posts_of(wp_env, article)] == [created]  # it reached WordPress

    ref = outlet.publish(article, None)  # the task's retry: still no `previous`
    assert ref.id == str(created)
    assert [p["id"] for p in posts_of(wp_env, article)] == [created]


@pytest.mark.wordpress
@pytest.mark.parametrize("status", ["draft", "publish"])
def test_publishers_racing_on_the_same_article_leave_one_post_and_one_upload(
        wp_env: WordPressSite, image_server: HTTPServer, monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    """Four publishers (each its own outlet, as on four workers, without the ledger's Redis lock) are held
    until all of them have looked for the post and for the image and found neither, so all four create
    both: the worst interleaving, every time. (WordPress gives a second *published* post the slug -2 but
    lets drafts share one, hence both statuses.)"""
    racers = 4
    looked_for_image = threading.Barrier(racers, timeout=30)
    looked_for_post = threading.Barrier(racers, timeout=30)
    real_fetch = wordpress_media.ImageDownloader.fetch
    real_find = WordPressOutlet._find_existing

    def fetch_together(self: Any, url: str) -> Any:
        looked_for_image.wait()
        return real_fetch(self, url)

    def find_together(self: Any, article: Article, previous: RemoteRef | None) -> Any:
        found = real_find(self, article, previous)
        looked_for_post.wait()
        return found

    monkeypatch.setattr(wordpress_media.ImageDownloader, "fetch", fetch_together)
    monkeypatch.setattr(WordPressOutlet, "_find_existing", find_together)
    media_before = requests.head(f"{wp_env.url}/wp-json/wp/v2/media", auth=wp_env.api.auth, timeout=30).headers["X-WP-Total"]
    article = variant(image_server, headline=f"Racing {status} {uuid.uuid4().hex[:6]}")
    outlets = [make_outlet(wp_env.url, wp_env.user, status=status) for _ in range(racers)]
    results: list[RemoteRef | BaseException] = [RuntimeError("did not finish")] * racers

    def run(index: int) -> None:
        try:
            results[index] = outlets[index].publish(article, None)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(isinstance(r, RemoteRef) for r in results), results
    ids = {r.id for r in results if isinstance(r, RemoteRef)}
    posts = posts_of(wp_env, article)
    assert [str(p["id"]) for p in posts] == sorted(ids) and len(ids) == 1, (ids, [(p["id"], p["slug"]) for p in posts])
    assert posts[0]["slug"] == post_slug(article) and posts[0]["status"] == status
    media_after = requests.head(f"{wp_env.url}/wp-json/wp/v2/media", auth=wp_env.api.auth, timeout=30).headers["X-WP-Total"]
    assert int(media_after) - int(media_before) == 1
    assert posts[0]["featured_media"] != 0


@pytest.mark.wordpress
@pytest.mark.integration
def test_a_worker_killed_after_wordpress_created_the_post_leaves_one_post(
        deployment: Deployment, wp_env: WordPressSite, httpserver: HTTPServer) -> None:
    """Through real Celery workers: the first dies (SIGKILL, whole process group) after WordPress made the
    post and before the ledger heard of it; the next worker gets the task again and must find that post."""
    marker = deployment.base / "crash-after-publish"
    marker.touch()
    deployment.write_config(
        "outlets:\n"
        "  - id: wordpress\n"
        "    kind: tests.support.wordpress_crash:CrashingWordPressOutlet\n"
        f"    url: {wp_env.url}\n"
        f"    username: {wp_env.user}\n"
        f"    app_password_env: {PASSWORD_ENV}\n"
        "    status: publish\n"
        "    image_allow_private_networks: [127.0.0.1/32]\n"
        f"    crash_marker: {marker}\n"
    )
    deployment.visibility_timeout = 4
    marker_token = uuid.uuid4().hex[:8]  # a page of its own, so the article is new on the shared site
    page = FIXTURE.read_text(encoding="utf-8").replace(
        "Coalition Begins Clearing Out Last ISIS Pockets in Iraq", f"Coalition Begins Clearing Out {marker_token}")
    page = page.replace(PAGE_PATH, PAGE_PATH.replace(".html", f"-{marker_token}.html"))
    path = PAGE_PATH.replace(".html", f"-{marker_token}.html")
    httpserver.expect_request(path).respond_with_data(page, content_type="text/html; charset=utf-8")

    first_worker = deployment.start_worker()
    deployment.app().send_task("syndication.ingest", ("theepochtimes", httpserver.url_for(path)), queue="ingest")
    deadline = time.monotonic() + 90
    while first_worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert first_worker.poll() is not None, f"the worker did not crash:\n{deployment.worker_log(0)}"
    store = Store(deployment.database_url)
    [article] = store.list_articles()
    assert [p["id"] for p in posts_of(wp_env, article)] != [], "WordPress has no post: the crash came too early"
    [row] = store.deliveries()
    assert row.state != DeliveryState.DELIVERED and row.remote_id is None

    deployment.start_worker()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        [row] = store.deliveries()
        if row.state == DeliveryState.DELIVERED:
            break
        time.sleep(0.3)
    assert row.state == DeliveryState.DELIVERED, deployment.worker_log(-1)
    assert row.attempts == 2
    posts = posts_of(wp_env, article)
    assert [str(p["id"]) for p in posts] == [row.remote_id], posts
    log_lines = marker.with_suffix(".log").read_text().splitlines()
    assert len(log_lines) == 2 and all(f"as {row.remote_id} " in line for line in log_lines), log_lines


# --- credentials, reachability, options -------------------------------------------------------------

@pytest.mark.wordpress
def test_check_names_the_user_and_the_mu_plugin(outlet: WordPressOutlet, wp_env: WordPressSite) -> None:
    report = outlet.check()
    assert report.startswith(f"authenticated as {wp_env.user} ({wp_env.user}) at {wp_env.url}")
    assert f"{wp_env.url}/wp-json" in report and "mu-plugin present" in report


@pytest.mark.wordpress
def test_the_query_route_form_works_where_pretty_permalinks_are_off(outlet: WordPressOutlet, wp_env: WordPressSite,
                                                                    image_server: HTTPServer) -> None:
    outlet.client._api = (wp_env.url + "/", "")  # what a site with plain permalinks announces
    ref = outlet.publish(variant(image_server), None)
    assert wp_env.rest(f"/wp/v2/posts/{ref.id}")["id"] == int(ref.id)
    assert outlet.client.describe_api() == f"{wp_env.url}/?rest_route="


@pytest.mark.wordpress
def test_a_wrong_password_is_a_permanent_failure_naming_the_variable(wordpress: WordPressSite,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "abcd efgh ijkl mnop qrst uvwx")
    with pytest.raises(OutletRejectedError, match=PASSWORD_ENV) as raised:
        make_outlet(wordpress.url, wordpress.user).check()
    assert "HTTP 401" in raised.value.reason


def test_an_unset_password_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"environment variable {PASSWORD_ENV} is not set"):
        make_outlet("http://127.0.0.1:9", "editor").check()


def test_options_refuse_a_password_in_yaml_and_unknown_template_fields() -> None:
    base = {"url": "https://news.example", "username": "u", "app_password_env": "WP_PASS"}
    with pytest.raises(ValidationError, match="app_password"):
        WordPressOptions.model_validate({**base, "app_password": "secret"})
    with pytest.raises(ValidationError, match="placeholder"):
        WordPressOptions.model_validate({**base, "attribution_template": "<p>{link}</p>"})
    with pytest.raises(ValidationError, match="NAME of an environment variable"):
        WordPressOptions.model_validate({**base, "app_password_env": "abcd efgh ijkl"})
    assert WordPressOptions.model_validate(base).status == "draft"


def test_nothing_listening_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    with pytest.raises(OutletUnavailableError, match="cannot be reached"):
        make_outlet("http://127.0.0.1:9", "editor").check()


def stand_in(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/", method="HEAD").respond_with_data(
        "", headers={"Link": f'<{httpserver.url_for("/wp-json/")}>; rel="https://api.w.org/"'})


def test_busy_and_failing_servers_are_transient_with_retry_after(httpserver: HTTPServer,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    stand_in(httpserver)
    httpserver.expect_oneshot_request("/wp-json/wp/v2/users/me").respond_with_json(
        {"code": "busy", "message": "slow down"}, status=429, headers={"Retry-After": "7"})
    httpserver.expect_oneshot_request("/wp-json/wp/v2/users/me").respond_with_data("oops", status=502)
    outlet = make_outlet(httpserver.url_for("/"), "editor")
    with pytest.raises(OutletUnavailableError, match="HTTP 429 busy: slow down") as busy:
        outlet.check()
    assert busy.value.retry_after == 7
    with pytest.raises(OutletUnavailableError, match="HTTP 502") as failing:
        outlet.check()
    assert failing.value.retry_after and failing.value.retry_after > 0


def test_a_refusal_carries_the_message_and_is_permanent(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    stand_in(httpserver)
    httpserver.expect_request("/wp-json/wp/v2/users/me").respond_with_json(
        {"code": "rest_invalid_param", "message": "Invalid parameter(s): context", "data": {"status": 400}}, status=400)
    with pytest.raises(WordPressRejectedError, match="HTTP 400 rest_invalid_param: Invalid parameter") as raised:
        make_outlet(httpserver.url_for("/"), "editor").check()
    assert raised.value.code == "outlet_rejected"


def test_a_forbidden_answer_names_the_credentials(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    stand_in(httpserver)
    httpserver.expect_request("/wp-json/wp/v2/users/me").respond_with_json(
        {"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that."}, status=403)
    with pytest.raises(OutletRejectedError, match=f"user 'editor'.*HTTP 403 rest_forbidden.*{PASSWORD_ENV}"):
        make_outlet(httpserver.url_for("/"), "editor").check()


def test_media_captions_carry_the_credit() -> None:
    assert wordpress_media.caption_with_credit(Image(url="https://partner.test/u", caption="A view", credit="AP")) == "A view (AP)"
    assert wordpress_media.caption_with_credit(Image(url="https://partner.test/u", credit="AP")) == "AP"
    assert wordpress_media.media_slug("http://a/b.jpg") == wordpress_media.media_slug("http://a/b.jpg")
    assert wordpress_media.media_slug("http://a/b.jpg") != wordpress_media.media_slug("http://a/c.jpg")


# --- hostile sites: answers cut short or dripped (issue 13, items 1 and 4) ----------------------------

def hostile_site(api: Answer) -> SlowPeer:
    """A site that announces its REST API at once (the HEAD of discovery) and answers the API with `api`."""
    site = SlowPeer(lambda method, path: api)
    announce = Answer(slow_peer_head(200, {"Link": f'<{site.url("/wp-json/")}>; rel="https://api.w.org/"'}, 0))
    site.answer = lambda method, path: announce if method == "HEAD" else api
    return site


def test_an_answer_cut_mid_body_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    with hostile_site(cut_short(200)) as site:
        with pytest.raises(OutletUnavailableError) as caught:
            make_outlet(site.url("/"), "editor").check()
    assert not isinstance(caught.value, OutletRejectedError)
    assert "IncompleteRead" in caught.value.reason


def test_a_site_dripping_its_answer_is_cut_at_the_outlets_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    with hostile_site(slow_body("application/json")) as site:
        started = time.monotonic()
        with pytest.raises(OutletDeadlineError, match="within 2s"):
            make_outlet(site.url("/"), "editor", timeout=2).check()
        assert time.monotonic() - started < 2 + 10  # the deadline plus a generous margin, not the 30 s drip


# --- answers that will never turn into a success (issue 13 follow-up) --------------------------------

@pytest.mark.wordpress
@pytest.mark.parametrize("tag", ["%41", "%e2%80%8b"])
def test_a_tag_wordpress_sanitizes_to_nothing_is_a_permanent_failure_naming_code_and_field(
        outlet: WordPressOutlet, wp_env: WordPressSite, image_server: HTTPServer, tag: str) -> None:
    # the real WordPress: its REST API runs sanitize_text_field on a term's name, which drops %-escapes,
    # so the name is empty and wp_insert_term answers HTTP 500 empty_term_name, however often it is sent
    article = variant(image_server, tags=["Iraq", tag])
    with pytest.raises(WordPressRejectedError) as caught:
        outlet.publish(article, None)
    assert not isinstance(caught.value, OutletUnavailableError)  # permanent: no retry, ever
    assert caught.value.status == 500 and caught.value.wp_code == "empty_term_name"
    assert "HTTP 500 empty_term_name" in caught.value.reason
    assert f"field 'name' ({tag!r})" in caught.value.reason and "tags" in caught.value.reason


@pytest.mark.wordpress
def test_an_invalid_parameter_is_permanent_and_names_the_field(outlet: WordPressOutlet, wp_env: WordPressSite) -> None:
    with pytest.raises(WordPressRejectedError) as caught:
        outlet.client.call("POST", "/wp/v2/tags", json={"name": "Iraq", "description": ["not", "text"]})
    assert caught.value.status == 400 and caught.value.wp_code == "rest_invalid_param"
    assert "field 'description' (\"['not', 'text']\"): description is not of type string" in caught.value.reason


# --- the announced API address and the size of answers (issue 13 follow-up) --------------------------
# Loopback stand-ins: the real WordPress announces an absolute Link on its own host and answers small;
# these answers are what a proxy in front of a site, a plugin or a compromised site can send.

def announcing(httpserver: HTTPServer, link: str) -> None:
    httpserver.expect_request("/", method="HEAD").respond_with_data(
        "", headers={"Link": f'<{link}>; rel="https://api.w.org/"'})


@pytest.mark.parametrize(("link", "path", "query"), [
    ("/wp-json/", "/wp-json/wp/v2/users/me", None),
    ("wp-json", "/wp-json/wp/v2/users/me", None),
    ("/?rest_route=/", "/", "/wp/v2/users/me"),
])
def test_a_relative_api_link_is_resolved_against_the_site(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch,
                                                          link: str, path: str, query: str | None) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    announcing(httpserver, link)
    expected = {"rest_route": query, "context": "edit"} if query else {"context": "edit"}
    httpserver.expect_request(path, query_string=expected).respond_with_json({"id": 3, "slug": "editor"})
    client = make_outlet(httpserver.url_for("/"), "editor").client
    assert client.me() == {"id": 3, "slug": "editor"}


@pytest.mark.parametrize("announced", [
    "http://localhost:{port}/wp-json/",        # another host name (the same server, so we see what came)
    "http://127.0.0.1:{other}/wp-json/",       # another port
    "ftp://127.0.0.1:{port}/wp-json/",         # another scheme
    "//localhost:{port}/wp-json/",             # scheme-relative, to another host
])
def test_an_api_link_off_the_site_is_refused_and_gets_no_credentials(
        httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, announced: str) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "x")
    announcing(httpserver, announced.format(port=httpserver.port, other=httpserver.port + 1))
    httpserver.expect_request("/wp-json/wp/v2/users/me").respond_with_json({"id": 3})
    site = f"http://127.0.0.1:{httpserver.port}/"  # the stand-in listens on 127.0.0.1, alias localhost
    with pytest.raises(OutletRejectedError, match="not on the site.*Application Password is not sent") as caught:
        make_outlet(site, "editor").client.me()
    assert not isinstance(caught.value, OutletUnavailableError)  # permanent: the site must be fixed
    assert [request.path for request, _ in httpserver.log] == ["/"]  # only the discovery HEAD went out


def _huge_json(total: int) -> Iterator[bytes]:
    """A valid JSON list of `total` bytes or so, in 1 MiB pieces: the old client read it all and returned it."""
    yield b"["
    piece = b'{"id": 1},' * (1024 * 1024 // 10)
    for _ in range(total // len(piece)):
        yield piece
    yield b'{"id": 1}]'


@pytest.mark.parametrize("gzipped", [False, True])
def test_an_answer_over_the_cap_is_a_named_failure_without_reading_it_all(
        httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, gzipped: bool) -> None:
    from werkzeug import Response

    from worker.outlets.wordpress_client import MAX_ANSWER_BYTES, WordPressAnswerTooLargeError

    monkeypatch.setenv(PASSWORD_ENV, "x")
    stand_in(httpserver)
    produced = {"bytes": 0}

    def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            produced["bytes"] += len(chunk)
            yield chunk

    def endless(_request: Any) -> Response:
        if gzipped:  # a bomb: 40 MiB of JSON in about 40 KB on the wire
            body = zlib.compress(b"".join(_huge_json(40 * 1024 * 1024)), 9, wbits=31)
            return Response(body, content_type="application/json", headers={"Content-Encoding": "gzip"})
        return Response(counted(_huge_json(200 * 1024 * 1024)), content_type="application/json")

    httpserver.expect_request("/wp-json/wp/v2/posts").respond_with_handler(endless)
    client = make_outlet(httpserver.url_for("/"), "editor").client
    with pytest.raises(WordPressAnswerTooLargeError, match=f"more than {MAX_ANSWER_BYTES} bytes") as caught:
        client.find_posts(slug="a")
    assert "GET /wp/v2/posts" in caught.value.reason
    if not gzipped:  # the client hung up at the cap: the server got nowhere near the 200 MiB it had
        assert produced["bytes"] < 100 * 1024 * 1024
