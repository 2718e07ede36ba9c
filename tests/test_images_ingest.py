"""The image stage of the ingest (worker/flow/images.py) on a loopback partner whose images are mostly
hostile: the article is stored and its deliveries planned whatever the images do, each image is stored
or recorded missing with its reason, nothing is read past its cap, a missing image is tried again by the
next version, a stored one is reused, and the files outlet writes the stored ones beside the page.

Real HTTP (pytest-httpserver, a second server on 127.0.0.2 the source does not allow, a streaming
server that counts what it sent), real SQLite, the real files outlet; no mocks.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import html5lib
import pytest
from pytest_httpserver import HTTPServer

from tests.support.article_html import article_page, prose
from tests.support.image_files import HTML, SVG, StreamingImageServer, bomb_png, picture
from worker.flow.deliver import deliver_article
from worker.flow.ingest import ingest_url
from worker.flow.services import Services
from worker.outlets.base import Outlet, OutletOptions, RemoteRef
from worker.outlets.images import ArticleImages
from worker.schema import Article
from worker.settings import load_settings
from worker.store import DeliveryState

MIB = 1024 * 1024
LEAD = picture("JPEG", 64, 40, (20, 90, 160))
ONE = picture("PNG", 30, 20, (200, 40, 30))
NS = {"h": "http://www.w3.org/1999/xhtml"}

SOURCES = """\
sources:
  - id: partner
    name: The Partner
    allowed_domains: [127.0.0.1, 127.0.0.2, localhost]
    allow_private_networks: [127.0.0.1, "::1"]
    rate_limit_per_second: 100
    rate_limit_burst: 100
    ignore_robots: true
    ignore_robots_reason: a test partner on loopback; robots.txt is tested in tests/test_images.py
"""


@pytest.fixture
def internal_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def huge() -> Iterator[StreamingImageServer]:
    with StreamingImageServer(total=512 * MIB) as server:
        yield server


@pytest.fixture
def services(tmp_path: Path) -> Services:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(SOURCES)
    (config / "outlets.yaml").write_text(f"outlets:\n  - id: files\n    kind: files\n    directory: {tmp_path / 'out'}\n")
    return Services(load_settings({
        "CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"), "SYNDICATION_FETCH_TIMEOUT": "5",
        "SYNDICATION_MAX_IMAGE_BYTES": str(1 * MIB),
    }))


def partner_page(origin: str, huge_url: str, internal: str, edit: str = "") -> str:
    lead = ('<figure><img src="/img/lead.jpg" alt="Ferries waiting at the quay">'
            '<figcaption><span class="caption">The harbour at dawn.</span> '
            '<span class="credit">Photo: Ann Lee</span></figcaption></figure>')

    def figure(path: str, alt: str) -> str:
        return f'<figure><img src="{path}" alt="{alt}"></figure>'

    body = prose("harbour", 3)
    for path, alt in [("/img/one.png", "One"), ("/img/html.png", "Html"), ("/img/vector.png", "Vector"),
                      ("/img/bomb.png", "Bomb"), ("/img/moved.png", "Moved"), ("/img/gone.png", "Gone"),
                      (huge_url, "Huge"), ("/img/copy.png?a=1&amp;b=2", "Copy")]:
        body += figure(path, alt) + prose(alt.lower(), 2)
    head = f'<meta property="og:image" content="/img/lead.jpg"><link rel="canonical" href="{origin}/a.html">'
    return article_page(f"Images that travel{edit}", body + (f"<p>{edit} is new text of the story.</p>" if edit else ""),
                        head=head, before=lead)


@pytest.fixture
def partner(httpserver: HTTPServer, internal_server: HTTPServer, huge: StreamingImageServer) -> HTTPServer:
    internal_server.expect_request("/secret.png").respond_with_data(picture("PNG"), content_type="image/png")
    for path, data, kind in [("/img/lead.jpg", LEAD, "image/jpeg"), ("/img/one.png", ONE, "image/png"),
                             ("/img/copy.png", ONE, "image/png"), ("/img/html.png", HTML, "image/png"),
                             ("/img/vector.png", SVG, "image/png"), ("/img/bomb.png", bomb_png(), "image/png")]:
        httpserver.expect_request(path).respond_with_data(data, content_type=kind)
    httpserver.expect_request("/img/moved.png").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.2:{internal_server.port}/secret.png"})
    httpserver.expect_request("/img/gone.png").respond_with_data("", status=404)
    serve_page(httpserver, huge, internal_server)
    return httpserver


def serve_page(httpserver: HTTPServer, huge: StreamingImageServer, internal: HTTPServer, edit: str = "") -> None:
    origin = f"http://127.0.0.1:{httpserver.port}"
    httpserver.expect_request("/a.html").respond_with_data(
        partner_page(origin, huge.url(), f"http://127.0.0.2:{internal.port}", edit), content_type="text/html")


def page_url(httpserver: HTTPServer) -> str:
    return f"http://127.0.0.1:{httpserver.port}/a.html"


def image_requests(httpserver: HTTPServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for request, _ in httpserver.log:
        if request.path.startswith("/img/"):
            counts[request.path] = counts.get(request.path, 0) + 1
    return counts


def ingest(services: Services, httpserver: HTTPServer) -> tuple[object, list[tuple[str, int, str]]]:
    queued: list[tuple[str, int, str]] = []
    report = ingest_url(services, "partner", page_url(httpserver), None,
                        lambda article_id, version, outlet_id: queued.append((article_id, version, outlet_id)))
    return report, queued


def test_hostile_images_leave_the_article_deliverable_each_recorded_with_its_reason(
    services: Services, partner: HTTPServer, internal_server: HTTPServer, huge: StreamingImageServer
) -> None:
    report, queued = ingest(services, partner)
    assert report.outcome == "new" and queued == [(report.article_id, 1, "files")]  # the article goes out

    records = {r.url.rsplit("/", 1)[-1]: r for r in services.store.image_records(report.article_id, 1)}
    assert [r.role for r in services.store.image_records(report.article_id, 1)][:2] == ["lead", "body"]
    stored = {name for name, r in records.items() if r.stored}
    assert stored == {"lead.jpg", "one.png", "copy.png?a=1&b=2"}
    missing = {name: (r.code, r.reason) for name, r in records.items() if not r.stored}
    assert {name: code for name, (code, _) in missing.items()} == {
        "html.png": "not_an_image", "vector.png": "not_an_image", "bomb.png": "image_bomb",
        "moved.png": "private_address", "gone.png": "gone", "huge.png": "too_large",
    }
    assert "an HTML page" in missing["html.png"][1] and "SVG" in missing["vector.png"][1]
    assert "127.0.0.2, a loopback address" in missing["moved.png"][1]
    assert "1048576-byte limit" in missing["huge.png"][1]
    # the type, size and hash are the bytes', and the same picture under two URLs is one file
    lead = records["lead.jpg"]
    assert (lead.content_type, lead.width, lead.height, lead.byte_size) == ("image/jpeg", 64, 40, len(LEAD))
    assert records["one.png"].sha256 == records["copy.png?a=1&b=2"].sha256 == hashlib.sha256(ONE).hexdigest()
    assert services.store.image_bytes(records["one.png"].sha256) == ONE
    # nothing was fetched past its cap, nothing reached the internal host
    assert huge.done.wait(30)
    assert huge.sent < 1 * MIB + 32 * MIB < huge.total
    assert internal_server.log == []
    assert all(count == 1 for count in image_requests(partner).values())  # each fetched once for the version


def test_the_files_outlet_writes_the_stored_images_beside_the_page_and_links_them(
    services: Services, partner: HTTPServer, huge: StreamingImageServer, tmp_path: Path
) -> None:
    report, _ = ingest(services, partner)
    delivery = deliver_article(services, report.article_id, 1, "files")
    assert delivery.state == DeliveryState.DELIVERED
    folder = tmp_path / "out" / report.article_id
    lead_file = f"image-{hashlib.sha256(LEAD).hexdigest()[:24]}.jpg"
    one_file = f"image-{hashlib.sha256(ONE).hexdigest()[:24]}.png"
    assert sorted(p.name for p in folder.glob("image-*")) == sorted([lead_file, one_file])
    assert (folder / lead_file).read_bytes() == LEAD and (folder / one_file).read_bytes() == ONE
    document = html5lib.parse((folder / "index.html").read_bytes(), namespaceHTMLElements=True)
    sources = [img.get("src") for img in document.iterfind(".//h:img", NS)]
    origin = f"http://127.0.0.1:{partner.port}"
    # the lead image and the body's stored ones are linked relatively (one file for the two URLs of one
    # picture); the missing ones keep the partner's URL
    assert sources[0] == lead_file
    assert sources[1:] == [one_file, f"{origin}/img/html.png", f"{origin}/img/vector.png", f"{origin}/img/bomb.png",
                           f"{origin}/img/moved.png", f"{origin}/img/gone.png", huge.url(), one_file]


def test_the_next_version_tries_the_missing_images_again_and_reuses_the_stored(
    services: Services, partner: HTTPServer, internal_server: HTTPServer, huge: StreamingImageServer
) -> None:
    first, _ = ingest(services, partner)
    assert huge.done.wait(30)
    before = image_requests(partner)
    huge.done.clear()
    serve_page_again(partner, huge, internal_server)
    second, queued = ingest(services, partner)
    assert second.outcome == "new_version" and second.version == 2 and queued == [(first.article_id, 2, "files")]
    after = image_requests(partner)
    fetched_again = {path for path in after if after[path] > before.get(path, 0)}
    assert fetched_again == {"/img/html.png", "/img/vector.png", "/img/bomb.png", "/img/moved.png", "/img/gone.png"}
    assert huge.requests == 2  # the huge one too, on its own server
    records = services.store.image_records(first.article_id, 2)
    assert sorted(r.url.rsplit("/", 1)[-1] for r in records if r.stored) == ["copy.png?a=1&b=2", "lead.jpg", "one.png"]
    assert len([r for r in records if not r.stored]) == 6
    assert internal_server.log == []


def serve_page_again(httpserver: HTTPServer, huge: StreamingImageServer, internal: HTTPServer) -> None:
    """The partner edits the story: the page answers with new text (the newest handler wins)."""
    httpserver.clear_all_handlers()
    for path, data, kind in [("/img/lead.jpg", LEAD, "image/jpeg"), ("/img/one.png", ONE, "image/png"),
                             ("/img/copy.png", ONE, "image/png"), ("/img/html.png", HTML, "image/png"),
                             ("/img/vector.png", SVG, "image/png"), ("/img/bomb.png", bomb_png(), "image/png")]:
        httpserver.expect_request(path).respond_with_data(data, content_type=kind)
    httpserver.expect_request("/img/moved.png").respond_with_data(
        "", status=302, headers={"Location": f"http://127.0.0.2:{internal.port}/secret.png"})
    httpserver.expect_request("/img/gone.png").respond_with_data("", status=404)
    serve_page(httpserver, huge, internal, edit=" (updated)")


def test_an_unchanged_page_fetches_no_image_again(services: Services, partner: HTTPServer,
                                                  huge: StreamingImageServer) -> None:
    ingest(services, partner)
    before = image_requests(partner)
    report, _ = ingest(services, partner)
    assert report.outcome == "unchanged"
    assert image_requests(partner) == before and huge.requests == 1


def test_no_images_are_collected_when_the_limit_is_zero(tmp_path: Path, partner: HTTPServer,
                                                       huge: StreamingImageServer) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "sources.yaml").write_text(SOURCES)
    (config / "outlets.yaml").write_text(f"outlets:\n  - id: files\n    kind: files\n    directory: {tmp_path / 'out'}\n")
    services = Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                       "SYNDICATION_MAX_IMAGES_PER_ARTICLE": "0"}))
    report, _ = ingest(services, partner)
    records = services.store.image_records(report.article_id, 1)
    assert image_requests(partner) == {} and huge.requests == 0
    assert {r.code for r in records} == {"too_many_images"} and len(records) == 9


class TwoArgumentOutlet(Outlet):
    """A plug-in written before images travelled: publish(article, previous), nothing else."""

    kind = "two-argument"
    options_model = OutletOptions
    published: ClassVar[list[str]] = []

    def publish(self, article: Article, previous: RemoteRef | None) -> RemoteRef:
        type(self).published.append(article.id)
        return RemoteRef(article.id)


class ImageTakingOutlet(Outlet):
    """A plug-in that asks for the images by taking **kwargs."""

    kind = "image-taking"
    options_model = OutletOptions
    received: ClassVar[list[ArticleImages]] = []

    def publish(self, article: Article, previous: RemoteRef | None, **kwargs: object) -> RemoteRef:
        type(self).received.append(kwargs["images"])  # type: ignore[arg-type]
        return RemoteRef(article.id)


def test_plug_in_outlets_keep_their_publish_signature_and_may_ask_for_the_images(
    services: Services, partner: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(TwoArgumentOutlet, "published", [])
    monkeypatch.setattr(ImageTakingOutlet, "received", [])
    (services.settings.config_dir / "outlets.yaml").write_text(
        "outlets:\n  - id: old\n    kind: tests.test_images_ingest:TwoArgumentOutlet\n"
        "  - id: new\n    kind: tests.test_images_ingest:ImageTakingOutlet\n")
    report, _ = ingest(services, partner)
    assert deliver_article(services, report.article_id, 1, "old").state == DeliveryState.DELIVERED
    assert deliver_article(services, report.article_id, 1, "new").state == DeliveryState.DELIVERED
    assert TwoArgumentOutlet.published == [report.article_id]
    [images] = ImageTakingOutlet.received
    assert len(images) == 9 and len(images.available) == 3
    assert images.available[0].role == "lead" and images.available[0].read() == LEAD
    gone = next(image for image in images.missing if image.url.endswith("/img/gone.png"))
    assert not gone.available and "HTTP 404" in (gone.missing_reason or "")
