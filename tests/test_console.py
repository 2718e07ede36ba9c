"""The console's pages as served HTML: login and its cookie, CSRF on every form post, hostile partner
and operator input shown escaped on every page, the article page (outlet view, fields, version diff)."""
from __future__ import annotations

import re
from collections.abc import Iterator

import lxml.html
import pytest
from fastapi.testclient import TestClient

from tests.e2e.hostile_page import HEADLINE, PAYLOADS, hostile_html
from tests.plugins.browser import API_TOKEN
from tests.plugins.celery_worker import Deployment
from worker.extract import extract_article
from worker.schema import make_article
from worker.settings import load_settings
from worker.store import Store
from worker.web.app import create_app

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def console(deployment: Deployment) -> Iterator[TestClient]:
    app = create_app(load_settings(deployment.env()), API_TOKEN)
    app.state.ctx.store.migrate()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def store(deployment: Deployment, console: TestClient) -> Store:
    return Store(deployment.database_url)


def log_in(client: TestClient, token: str = API_TOKEN, next_path: str = "/console/") -> tuple[int, str]:
    """Log in through the form; returns the answer's status and the page's CSRF token (after login)."""
    form = client.get("/console/login")
    login_csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/console/login", data={"token": token, "csrf_token": login_csrf, "next": next_path},
                         follow_redirects=False)
    page = client.get("/console/")
    found = CSRF.search(page.text)
    return answer.status_code, found.group(1) if found and answer.status_code == 303 else ""


def article(url: str = "https://partner.test/a.html", body: str = "Forces cleared 11 villages.", **fields: object):  # type: ignore[no-untyped-def]
    data = {"source": {"id": "theepochtimes", "name": "The Epoch Times"}, "attribution": "From The Epoch Times",
            "url": url, "headline": "Coalition advances", "body_html": f"<p>{body}</p>", "body_text": body, **fields}
    return make_article(**data)


def test_pages_need_a_login_whose_cookie_is_httponly_and_samesite_strict(console: TestClient) -> None:
    for path in ("/console/", "/console/import", "/console/articles", "/console/deliveries", "/console/articles/abc"):
        answer = console.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login?next=")
    assert log_in(console, token="wrong-token-wrong-token")[0] == 401
    assert "syndication_session" not in console.cookies
    form = console.get("/console/login")
    csrf = CSRF.search(form.text).group(1)  # type: ignore[union-attr]
    answer = console.post("/console/login", data={"token": API_TOKEN, "csrf_token": csrf, "next": "/console/deliveries"},
                          follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/deliveries"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith("syndication_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and API_TOKEN not in cookie
    assert console.get("/console/").status_code == 200


def test_login_never_redirects_off_the_console(console: TestClient) -> None:
    for target in ("https://evil.example/", "//evil.example/console", "/articles", "/console/import"):
        visitor = TestClient(console.app)
        csrf = CSRF.search(visitor.get("/console/login").text).group(1)  # type: ignore[union-attr]
        answer = visitor.post("/console/login", data={"token": API_TOKEN, "csrf_token": csrf, "next": target},
                              follow_redirects=False)
        assert answer.headers["location"] == ("/console/import" if target == "/console/import" else "/console/")


def test_every_form_post_needs_the_sessions_csrf_token(console: TestClient, store: Store, deployment: Deployment) -> None:
    stored = store.upsert_article(article()).article
    row = store.begin_delivery(stored.id, 1, "files")
    store.mark_dead(row.id, "gave up")
    # the login form itself: no login-csrf cookie (a cross-site post), no login
    assert console.post("/console/login", data={"token": API_TOKEN, "csrf_token": "x"}).status_code == 403
    _, csrf = log_in(console)
    assert csrf
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": "0" * 64}):
        refused = console.post(f"/console/deliveries/{row.id}/retry", data=data, follow_redirects=False)
        assert refused.status_code == 403 and "reload the page" in refused.text
        assert console.post("/console/import", data={"url": "http://127.0.0.1/a", "source_id": "theepochtimes",
                                                     **data}).status_code == 403
    assert store.delivery_by_id(row.id).state.value == "dead"  # type: ignore[union-attr]
    # another session's token is no good either
    other = TestClient(console.app, raise_server_exceptions=False)
    _, other_csrf = log_in(other)
    assert other_csrf and other_csrf != csrf
    assert console.post(f"/console/deliveries/{row.id}/retry", data={"csrf_token": other_csrf}).status_code == 403
    done = console.post(f"/console/deliveries/{row.id}/retry", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/console/deliveries?retried={row.id}"
    assert store.delivery_by_id(row.id).state.value == "pending"  # type: ignore[union-attr]
    assert f"Delivery {row.id} was queued again" in console.get(done.headers["location"]).text


def assert_escaped(html: str, where: str) -> None:
    """No payload verbatim, and, parsed as a browser would, no script, no event handler, no javascript: URL;
    the outlet's page may only sit in an iframe sandboxed without allow-scripts."""
    for payload in PAYLOADS:
        assert payload not in html, f"{where}: {payload!r} served unescaped"
    document = lxml.html.document_fromstring(html)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag != "script", f"{where}: a script element"
        handlers = [name for name in element.attrib if name.lower().startswith("on")]
        assert not handlers, f"{where}: <{element.tag} {handlers}>"
        for name in ("href", "src", "action"):
            assert not element.get(name, "").strip().lower().startswith("javascript:"), where
        if element.tag == "iframe":
            assert element.get("sandbox") == "", f"{where}: the iframe must be sandboxed without exceptions"


def test_hostile_content_is_shown_escaped_on_every_page(console: TestClient, store: Store) -> None:
    hostile = extract_article(hostile_html(), "http://127.0.0.1:9/hostile.html")
    assert hostile.headline == HEADLINE
    v1 = store.upsert_article(hostile).article
    # a second version whose body the sanitizer never saw: the console must still not run it
    raw = hostile.recomputed(body_html="<p>raw <script>alert(9)</script></p>",
                             body_text=hostile.body_text + "\n<script>alert(1)</script>", section="<b onmouseover=alert(6)>")
    store.upsert_article(raw)
    row = store.begin_delivery(v1.id, 1, "files")
    store.mark_dead(row.id, "outlet said <img src=x onerror=alert(1)>")
    store.record_ingest_failure("theepochtimes", "http://127.0.0.1/<script>alert(1)</script>", "gone",
                                "HTTP 404 for <img src=x onerror=alert(2)>")
    _, csrf = log_in(console)
    pages = ["/console/", "/console/articles", "/console/articles?q=%3Cscript%3E", f"/console/articles/{v1.id}",
             f"/console/articles/{v1.id}?version=1", f"/console/articles/{v1.id}?a=1&b=2",
             "/console/deliveries", "/console/deliveries?state=dead"]
    for path in pages:
        answer = console.get(path)
        assert answer.status_code == 200, path
        assert_escaped(answer.text, path)
        assert "default-src 'none'; script-src 'self'" in answer.headers["content-security-policy"]
    page = console.get(f"/console/articles/{v1.id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Evil headline" in page
    assert re.search(r'<iframe class="outlet-frame"[^>]* sandbox srcdoc="', page)
    diff = console.get(f"/console/articles/{v1.id}?a=1&b=2").text
    assert '<span class="add">+&lt;script&gt;alert(1)&lt;/script&gt;</span>' in diff
    # operator input: a URL that is a payload, refused by the allow-list, and one accepted and queued
    refused = console.post("/console/import", data={"url": 'https://evil.example/"><script>alert(1)</script>',
                                                    "source_id": "theepochtimes", "csrf_token": csrf})
    assert refused.status_code == 422 and "not in the allowed_domains" in refused.text
    assert_escaped(refused.text, "import form")
    assert 'value="https://evil.example/&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in refused.text
    queued = console.post("/console/import", data={"url": "http://127.0.0.1/x<img src=x onerror=alert(1)>",
                                                   "source_id": "theepochtimes", "csrf_token": csrf})
    assert queued.status_code == 200 and "/console/imports/" in str(queued.url)
    assert_escaped(queued.text, "import progress")
    assert "http://127.0.0.1/x&lt;img src=x onerror=alert(1)&gt;" in queued.text
    assert '<meta http-equiv="refresh" content="1">' in queued.text  # queued, no worker: it keeps refreshing


def test_article_page_shows_the_outlet_view_the_fields_and_the_changes(console: TestClient, store: Store) -> None:
    first = article(body="Forces cleared 11 villages.\n\nThe fight goes on.",
                    authors=[{"name": "Henry Bevington"}],
                    lead_image={"url": "https://partner.test/i.jpg", "caption": "Artillery", "credit": "Army photo"})
    article_id = store.upsert_article(first).article.id
    store.upsert_article(first.recomputed(body_text="Forces cleared 12 villages.\n\nThe fight goes on.",
                                          body_html="<p>Forces cleared 12 villages.</p>", headline="Coalition advances again"))
    log_in(console)
    page = console.get(f"/console/articles/{article_id}").text
    assert 'href="https://partner.test/a.html"' in page
    assert '<dd id="field-byline">Henry Bevington</dd>' in page
    assert '<dd id="field-credit">Army photo</dd>' in page and '<dd id="field-caption">Artillery</dd>' in page
    assert '<dd id="field-attribution">From The Epoch Times</dd>' in page
    assert "&lt;h1&gt;Coalition advances again&lt;/h1&gt;" in page  # the outlet's page, inside srcdoc
    assert "Changes from v1 to v2" in page
    assert '<span class="del">-Forces cleared 11 villages.</span>' in page
    assert '<span class="add">+Forces cleared 12 villages.</span>' in page
    assert "<td>headline</td><td class=\"del\">Coalition advances</td><td class=\"add\">Coalition advances again</td>" in page
    old = console.get(f"/console/articles/{article_id}?version=1").text
    assert "&lt;h1&gt;Coalition advances&lt;/h1&gt;" in old
    missing = console.get(f"/console/articles/{article_id}?version=9")
    assert missing.status_code == 404 and "it has versions 1 to 2" in missing.text
