"""Client page() / resource() on real HTTP over loopback: identity, conditional GET, size caps, charsets."""
from __future__ import annotations

import dataclasses
import gzip
import json
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.plugins.celery_worker import ROOT
from tests.support.loopback_http import LoopbackHTTPServer
from worker.config import Source
from worker.errors import TooLargeError
from worker.http.client import Client, Validators
from worker.settings import Settings, load_settings

MB = 1024 * 1024
RUSSIAN = ("Правительство объявило о новых мерах поддержки малого бизнеса. По словам министра, "
           "программа начнёт работать в следующем месяце и охватит несколько тысяч предприятий.")


def make_source(**overrides: object) -> Source:
    fields: dict[str, object] = dict(
        id="partner", name="Partner", allowed_domains=["127.0.0.1", "localhost"],
        allow_private_networks=["127.0.0.1/8", "::1"],
        rate_limit_per_second=50, rate_limit_burst=50,
    )
    fields.update(overrides)
    return Source(**fields)  # type: ignore[arg-type]


@pytest.fixture
def settings() -> Settings:
    return load_settings({"SYNDICATION_CONTACT_URL": "https://news.example.org/syndication-bot",
                          "SYNDICATION_FETCH_TIMEOUT": "5"})


@pytest.fixture(autouse=True)
def no_robots_rules(httpserver: HTTPServer) -> None:
    """A partner without robots.txt (404 = no rules, RFC 9309); robots itself is tested in test_fetch_robots."""
    httpserver.expect_request("/robots.txt").respond_with_data("not found", status=404)


def fetch(url: str, settings: Settings, **kwargs: object):  # noqa: ANN201 - a Page
    """page() of a fresh client (limiter, robots cache, sessions), so no state leaks between tests."""
    return Client.local(settings).for_source(make_source()).page(url, **kwargs)  # type: ignore[arg-type]


def test_user_agent_names_the_product_and_the_contact_url(settings: Settings, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a.html").respond_with_data("<p>hi</p>", content_type="text/html")
    fetch(httpserver.url_for("/a.html"), settings)
    agents = {request.headers.get("User-Agent", "") for request, _ in httpserver.log}
    assert {request.path for request, _ in httpserver.log} == {"/robots.txt", "/a.html"}
    for agent in agents:  # robots.txt is asked for with the same identity
        assert "syndication-worker/" in agent and "https://news.example.org/syndication-bot" in agent


def test_conditional_get_sends_validators_and_a_304_is_not_modified(settings: Settings, httpserver: HTTPServer) -> None:
    etag, modified = '"v1-abc"', "Wed, 21 Oct 2015 07:28:00 GMT"

    def partner(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag and request.headers.get("If-Modified-Since") == modified:
            return Response(status=304)
        return Response("<p>first</p>", content_type="text/html", headers={"ETag": etag, "Last-Modified": modified})

    httpserver.expect_request("/a.html").respond_with_handler(partner)
    url = httpserver.url_for("/a.html")
    first = fetch(url, settings)
    assert not first.not_modified and first.validators == Validators(etag, modified)
    again = fetch(url, settings, validators=first.validators)
    assert again.not_modified and again.status == 304 and again.body == b""
    assert again.etag == etag and again.last_modified == modified  # kept for the next round
    assert httpserver.log[-1][0].headers.get("If-None-Match") == etag


class StreamingPartner:
    """A bare http.server partner streaming a body in 64 KB writes and counting the bytes that got out.

    `sent` counts what the kernel accepted, so it is what the client could at most have read: a client
    that stops at its cap and hangs up leaves the server stuck at the cap plus the sockets' buffers.
    """

    def __init__(self, chunks: list[bytes], headers: dict[str, str]) -> None:
        self.sent = 0
        #: set when the handler is done: it wrote everything, or the client hung up
        self.finished = threading.Event()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # no Content-Length: the body ends when the server closes

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path == "/robots.txt":
                    self.send_error(404)
                    return
                self.send_response(200)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        partner.sent += len(chunk)
                except OSError:
                    pass  # the client hung up, as it should
                finally:
                    partner.finished.set()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


#: run in a child process, so that its tracemalloc sees this one fetch and nothing else: in the test
#: process it would also count every other thread (servers, fixtures, other tests' leftovers)
CAPPED_FETCH = """
import json, sys, tracemalloc
from worker.config import Source
from worker.errors import TooLargeError
from worker.http.client import Client
from worker.settings import load_settings

url, limit = sys.argv[1], int(sys.argv[2])
settings = load_settings({"SYNDICATION_MAX_PAGE_BYTES": str(limit), "SYNDICATION_FETCH_TIMEOUT": "30"})
source = Source(id="partner", name="Partner", allowed_domains=["127.0.0.1"], allow_private_networks=["127.0.0.1/8"],
                rate_limit_per_second=50, rate_limit_burst=50)
partner = Client.local(settings).for_source(source)
partner.robots_sitemaps(url)  # warm up: session, robots.txt, imports
tracemalloc.start()
try:
    partner.page(url)
    outcome = "fetched it all"
except TooLargeError as exc:
    outcome = exc.reason
print(json.dumps({"peak": tracemalloc.get_traced_memory()[1], "outcome": outcome}))
"""


def capped_fetch_in_a_child(url: str, limit: int) -> tuple[int, str]:
    """(peak bytes traced during the fetch, TooLargeError's reason) from a process that does only that."""
    done = subprocess.run([sys.executable, "-c", CAPPED_FETCH, url, str(limit)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return int(result["peak"]), str(result["outcome"])


def test_a_50_mb_page_is_cut_at_the_limit_without_reading_it_all() -> None:
    chunk = b"<p>" + b"x" * (64 * 1024 - 8) + b"</p>\n"
    partner = StreamingPartner([chunk] * (50 * MB // len(chunk)), {"Content-Type": "text/html"})
    try:
        peak, outcome = capped_fetch_in_a_child(partner.url("/huge.html"), 1 * MB)
        assert "1048576-byte limit" in outcome
        assert partner.finished.wait(30)  # the handler ended: the client hung up (or it all went out)
        # what the server got out is what the client could have read: the cap plus the sockets' buffers
        assert partner.sent < 20 * MB
        assert peak < 5 * MB
    finally:
        partner.close()


def test_an_announced_oversize_body_is_refused_before_reading(settings: Settings, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/big.html").respond_with_data(b"<p>" + b"y" * (2 * MB), content_type="text/html")
    with pytest.raises(TooLargeError, match="announces"):
        fetch(httpserver.url_for("/big.html"), dataclasses.replace(settings, max_page_bytes=1 * MB))


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """~100 KB of gzip that inflates to 100 MB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    return b"".join(packer.compress(zeros) for _ in range(100)) + packer.flush()


def test_a_gzip_bomb_is_cut_at_the_decompressed_limit(gzip_bomb: bytes) -> None:
    assert len(gzip_bomb) < 1 * MB  # it passes the cap on the wire; only inflating can catch it
    chunks = [gzip_bomb[i:i + 65536] for i in range(0, len(gzip_bomb), 65536)]
    partner = StreamingPartner(chunks, {"Content-Type": "text/html", "Content-Encoding": "gzip"})
    try:
        peak, outcome = capped_fetch_in_a_child(partner.url("/bomb.html"), 1 * MB)
        assert "decompressed body exceeds" in outcome
        assert peak < 5 * MB  # never inflated the 100 MB
    finally:
        partner.close()


def test_gzip_content_encoding_is_decoded(settings: Settings, httpserver: HTTPServer) -> None:
    html = "<html><body><p>compressed page</p></body></html>".encode()
    httpserver.expect_request("/z.html").respond_with_data(
        gzip.compress(html), content_type="text/html", headers={"Content-Encoding": "gzip"})
    assert fetch(httpserver.url_for("/z.html"), settings).body == html


def test_a_gzipped_sitemap_is_inflated_and_a_sitemap_bomb_is_cut(
    settings: Settings, httpserver: HTTPServer, gzip_bomb: bytes
) -> None:
    sitemap = b'<?xml version="1.0" encoding="UTF-8"?><urlset><url><loc>http://127.0.0.1/a</loc></url></urlset>'
    httpserver.expect_request("/sitemap.xml.gz").respond_with_data(gzip.compress(sitemap), content_type="application/gzip")
    httpserver.expect_request("/bomb.xml.gz").respond_with_data(gzip_bomb, content_type="application/gzip")
    client = Client.local(settings)
    got = client.for_source(make_source()).resource(httpserver.url_for("/sitemap.xml.gz"))
    assert got.body == sitemap and got.content_type == "application/xml"
    with pytest.raises(TooLargeError, match="decompressed file exceeds"):
        capped = Client(dataclasses.replace(settings, max_resource_bytes=1 * MB), limiter=client.limiter,
                        robots=client.robots)
        capped.for_source(make_source()).resource(httpserver.url_for("/bomb.xml.gz"))


def test_windows_1251_page_without_any_declaration_decodes_to_cyrillic(settings: Settings, httpserver: HTTPServer) -> None:
    html = f"<html><head><title>Новости</title></head><body><p>{RUSSIAN}</p></body></html>"
    httpserver.expect_request("/ru.html").respond_with_data(html.encode("cp1251"), content_type="text/html")
    page = fetch(httpserver.url_for("/ru.html"), settings)
    assert page.encoding == "cp1251"
    assert RUSSIAN in page.text


def test_charset_from_meta_and_from_header(settings: Settings, httpserver: HTTPServer) -> None:
    meta = f'<html><head><meta charset="koi8-r"></head><body><p>{RUSSIAN}</p></body></html>'.encode("koi8-r")
    httpserver.expect_request("/meta.html").respond_with_data(meta, content_type="text/html")
    header = f"<p>{RUSSIAN}</p>".encode("cp1251")
    httpserver.expect_request("/header.html").respond_with_data(header, content_type="text/html; charset=windows-1251")
    assert RUSSIAN in fetch(httpserver.url_for("/meta.html"), settings).text
    page = fetch(httpserver.url_for("/header.html"), settings)
    assert page.encoding == "cp1251" and RUSSIAN in page.text


def test_concurrent_fetches_from_threads_do_not_share_a_session(settings: Settings, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/t.html").respond_with_data("<p>ok</p>", content_type="text/html")
    errors: list[BaseException] = []
    partner = Client.local(settings).for_source(make_source())  # one client, shared by the threads

    def run() -> None:
        try:
            for _ in range(5):
                partner.page(httpserver.url_for("/t.html"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


class KeepAlivePartner(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; records the client port of every request (one port = one connection)."""

    protocol_version = "HTTP/1.1"
    ports: list[int] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).ports.append(self.client_address[1])
        body = b"User-agent: *\nAllow: /\n" if self.path == "/robots.txt" else b"<p>ok</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain" if self.path == "/robots.txt" else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_one_client_pools_connections_per_thread_and_never_shares_them_between_threads(settings: Settings) -> None:
    KeepAlivePartner.ports = []
    partner = Client.local(settings).for_source(make_source())
    first_done, second_done = threading.Event(), threading.Event()
    ports_of: dict[str, list[int]] = {}

    def fetch_twice(name: str, before: threading.Event | None, after: threading.Event) -> None:
        if before is not None:
            before.wait(10)
        start = len(KeepAlivePartner.ports)
        for _ in range(2):
            partner.page(server.url("/t.html"))
        ports_of[name] = KeepAlivePartner.ports[start:]
        after.set()
        second_done.wait(10)  # stay alive, so the second thread cannot inherit this thread's id (and session)

    with LoopbackHTTPServer(KeepAlivePartner) as server:
        threads = [threading.Thread(target=fetch_twice, args=("first", None, first_done)),
                   threading.Thread(target=fetch_twice, args=("second", first_done, second_done))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    first, second = set(ports_of["first"]), set(ports_of["second"])
    assert len(first) == 1 and len(second) == 1  # each thread's requests reuse its one pooled connection
    assert first != second  # the second thread did not take the first one's session (or connection)


def test_worker_fetch_keeps_the_old_functions_for_code_outside_the_package(
    settings: Settings, httpserver: HTTPServer
) -> None:
    """worker.fetch.fetch_page/fetch_resource/robots_sitemaps keep their signatures over a Client."""
    from worker.fetch import fetch_page, fetch_resource, robots_sitemaps
    from worker.http.ratelimit import LocalRateLimiter

    httpserver.expect_request("/a.html").respond_with_data("<p>hi</p>", content_type="text/html")
    httpserver.expect_request("/feed.xml").respond_with_data("<rss/>", content_type="application/rss+xml")
    source = make_source()
    assert fetch_page(httpserver.url_for("/a.html"), source, settings).body == b"<p>hi</p>"
    assert fetch_resource(httpserver.url_for("/feed.xml"), source, settings, limiter=LocalRateLimiter()).body == b"<rss/>"
    assert robots_sitemaps(httpserver.url_for("/"), source, settings) == []
