"""Fetching a partner image (`SourceClient.image`): the type read from the bytes, the size cap counted on
the wire, the decompression-bomb guard on the header alone, the SSRF guard on every hop, robots.txt.

Real HTTP on loopback (pytest-httpserver, and a streaming server that counts what it sent); the images
are made by the tests (tests/support/image_files.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from tests.support.image_files import HTML, SVG, StreamingImageServer, bomb_png, picture
from tests.support.slow_peer import SlowPeer, slow_body
from worker.config import Source
from worker.errors import (
    FetchDeadlineError,
    GoneError,
    ImageBombError,
    NotAnImageError,
    PermanentError,
    PrivateAddressError,
    RobotsDisallowedError,
    TooLargeError,
)
from worker.http.client import Client
from worker.http.images import inspect_image
from worker.settings import Settings, load_settings

MIB = 1024 * 1024


def source(*, robots: bool = False) -> Source:
    return Source(id="partner", name="Partner", allowed_domains=["127.0.0.1", "127.0.0.2", "localhost"],
                  allow_private_networks=["127.0.0.1", "::1"], rate_limit_per_second=100, rate_limit_burst=100,
                  ignore_robots=not robots, ignore_robots_reason=None if robots else "robots.txt has tests of its own")


def settings(**env: str) -> Settings:
    return load_settings({"SYNDICATION_FETCH_TIMEOUT": "5", **env})


def fetch(url: str, env: Settings | None = None, *, robots: bool = False):  # noqa: ANN201 - a FetchedImage
    with Client.local(env or settings()) as client:
        return client.for_source(source(robots=robots)).image(url)


@pytest.fixture
def internal_server() -> Iterator[HTTPServer]:
    """A server on 127.0.0.2: a loopback address the source does not list (an 'internal' host)."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.mark.parametrize(("fmt", "content_type", "extension"), [
    ("JPEG", "image/jpeg", ".jpg"), ("PNG", "image/png", ".png"), ("GIF", "image/gif", ".gif"),
    ("WEBP", "image/webp", ".webp"),
])
def test_each_kept_format_is_known_by_its_bytes_whatever_the_partner_calls_it(
    httpserver: HTTPServer, fmt: str, content_type: str, extension: str
) -> None:
    data = picture(fmt, 30, 20)
    # labelled wrongly on purpose: the label is the partner's claim, the bytes are the fact
    httpserver.expect_request("/i").respond_with_data(data, content_type="application/octet-stream")
    image = fetch(httpserver.url_for("/i"))
    facts = image.facts
    assert (facts.content_type, facts.width, facts.height, facts.extension) == (content_type, 30, 20, extension)
    assert facts.sha256 == hashlib.sha256(data).hexdigest() and facts.byte_size == len(data) and image.data == data
    assert httpserver.log[0][0].headers["Accept"].startswith("image/webp,image/png,image/jpeg,image/gif")
    assert "svg" not in httpserver.log[0][0].headers["Accept"]


@pytest.mark.parametrize(("body", "served_as", "named"), [
    (HTML, "image/png", "an HTML page"),
    (SVG, "image/png", "an SVG document"),
    (SVG, "image/svg+xml", "an SVG document"),
    (b"GIF87a", "image/gif", "header cannot be read"),  # a signature and nothing after it
    (b"", "image/jpeg", "an empty file"),
])
def test_what_is_not_a_jpeg_png_gif_or_webp_is_refused_whatever_its_label(
    httpserver: HTTPServer, body: bytes, served_as: str, named: str
) -> None:
    httpserver.expect_request("/i.png").respond_with_data(body, content_type=served_as)
    url = httpserver.url_for("/i.png")
    with pytest.raises(NotAnImageError, match=named) as caught:
        fetch(url)
    assert isinstance(caught.value, PermanentError) and caught.value.code == "not_an_image" and url in caught.value.reason


def test_a_decompression_bomb_is_refused_from_its_header_without_decoding() -> None:
    bomb = bomb_png(50_000, 50_000)
    assert len(bomb) < 100  # what the partner sends: a few dozen bytes, declaring 2.5 gigapixels
    with pytest.raises(ImageBombError, match=r"over the 50000000-pixel limit.*2500000000 pixels"):
        inspect_image(bomb, "https://partner.example/bomb.png", 50_000_000)
    # under Pillow's own limit, the header's size is named as it is
    with pytest.raises(ImageBombError, match=r"12000x9000 = 108000000 pixels, over the 50000000-pixel limit"):
        inspect_image(bomb_png(12_000, 9_000), "https://partner.example/bomb.png", 50_000_000)
    # the same picture's header under the limit is kept (nothing about it was decoded either way)
    assert inspect_image(bomb_png(4000, 3000), "https://partner.example/ok.png", 50_000_000).width == 4000


def test_a_decompression_bomb_served_as_a_png_is_refused(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/bomb.png").respond_with_data(bomb_png(), content_type="image/png")
    with pytest.raises(ImageBombError) as caught:
        fetch(httpserver.url_for("/bomb.png"))
    assert caught.value.code == "image_bomb" and "SYNDICATION_MAX_IMAGE_PIXELS" in caught.value.reason


def test_the_pixel_cap_is_a_setting() -> None:
    image = picture("PNG", 40, 30)
    assert inspect_image(image, "u", 1200).height == 30
    with pytest.raises(ImageBombError):
        inspect_image(image, "u", 1199)


def test_a_body_past_the_cap_is_not_read_past_it() -> None:
    cap = 1 * MIB
    with StreamingImageServer(total=512 * MIB) as server:  # no Content-Length: the cap is met while streaming
        with pytest.raises(TooLargeError, match=f"exceeds the {cap}-byte limit"):
            fetch(server.url(), settings(SYNDICATION_MAX_IMAGE_BYTES=str(cap)))
        assert server.done.wait(30), "the server's handler did not finish"
    # what the server got out before we hung up: the cap, a read's chunk, and what the sockets buffer
    assert server.sent < cap + 32 * MIB < server.total


def test_a_length_announced_past_the_cap_is_refused_before_the_body_is_read() -> None:
    cap = 1 * MIB
    with StreamingImageServer(total=512 * MIB, announce=512 * MIB) as server:
        with pytest.raises(TooLargeError, match=f"announces {512 * MIB} bytes, over the {cap}-byte limit"):
            fetch(server.url(), settings(SYNDICATION_MAX_IMAGE_BYTES=str(cap)))
        assert server.done.wait(30), "the server's handler did not finish"
    assert server.sent < 32 * MIB


def test_the_default_cap_is_15_mib_and_the_setting_is_bounded() -> None:
    assert load_settings({}).max_image_bytes == 15 * MIB
    for bad in ("0", "-1", str(300 * MIB), "lots"):
        with pytest.raises(SystemExit, match="SYNDICATION_MAX_IMAGE_BYTES"):
            load_settings({"SYNDICATION_MAX_IMAGE_BYTES": bad})


def test_a_redirect_to_a_private_address_is_refused_at_the_hop(
    httpserver: HTTPServer, internal_server: HTTPServer
) -> None:
    internal_server.expect_request("/secret.png").respond_with_data(picture("PNG"), content_type="image/png")
    httpserver.expect_request("/i.png").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.2:{internal_server.port}/secret.png"})
    with pytest.raises(PrivateAddressError, match="127.0.0.2, a loopback address"):
        fetch(httpserver.url_for("/i.png"))
    assert internal_server.log == []  # never connected to


def test_a_missing_image_is_gone(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/gone.png").respond_with_data("", status=404)
    with pytest.raises(GoneError, match="HTTP 404"):
        fetch(httpserver.url_for("/gone.png"))


def test_robots_txt_is_obeyed_for_images(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /private/\n",
                                                               content_type="text/plain")
    httpserver.expect_request("/private/i.png").respond_with_data(picture("PNG"), content_type="image/png")
    httpserver.expect_request("/public/i.png").respond_with_data(picture("PNG"), content_type="image/png")
    with pytest.raises(RobotsDisallowedError):
        fetch(httpserver.url_for("/private/i.png"), robots=True)
    assert fetch(httpserver.url_for("/public/i.png"), robots=True).facts.content_type == "image/png"
    assert [request.path for request, _ in httpserver.log].count("/private/i.png") == 0


def test_a_partner_dripping_an_image_is_cut_at_the_total_deadline() -> None:
    with SlowPeer(lambda method, path: slow_body("image/png", interval=0.5, give_up_after=20)) as peer:
        with pytest.raises(FetchDeadlineError):
            fetch(peer.url("/slow.png"), settings(SYNDICATION_FETCH_TOTAL_TIMEOUT="1"))
