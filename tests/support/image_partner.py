"""A loopback partner story with pictures, ingested and delivered the product's way: the outlet tests of
images (files, feeds, webhook, WordPress, the page in Chromium) build their deployment with this.

The story has a lead image (a figure whose caption and credit are two elements), two in-body images and
one more the partner no longer has (404). Paths are unique to each call: the WordPress site and the
pytest-httpserver server live for the whole session.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.support.article_html import article_page, prose
from tests.support.image_files import picture
from worker.flow.ingest import IngestReport, ingest_url
from worker.flow.services import Services
from worker.settings import load_settings

LEAD = picture("JPEG", 80, 50, (30, 120, 60))
ONE = picture("PNG", 40, 30, (220, 60, 20))
TWO = picture("GIF", 20, 20, (10, 10, 200))
CAPTION = "The quay at dawn, before the first ferry."
CREDIT = "Photo: Ann Lee"
LEAD_ALT = "Three ferries moored at a stone quay"

SOURCES = """\
sources:
  - id: partner
    name: The Partner
    allowed_domains: [127.0.0.1]
    allow_private_networks: [127.0.0.1]
    rate_limit_per_second: 100
    rate_limit_burst: 100
    ignore_robots: true
    ignore_robots_reason: a test partner on loopback; robots.txt for images is tested in tests/test_images.py
"""


@dataclass(frozen=True)
class Story:
    url: str
    origin: str
    prefix: str

    def image_url(self, name: str) -> str:
        return f"{self.origin}{self.prefix}/{name}"


def deployment(tmp_path: Path, outlets_yaml: str, **env: str) -> Services:
    """Services over a fresh config (the partner above and `outlets_yaml`) and a SQLite store in tmp_path."""
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "sources.yaml").write_text(SOURCES)
    (config / "outlets.yaml").write_text(outlets_yaml)
    return Services(load_settings({"CONFIG_DIR": str(config), "SYNDICATION_VAR_DIR": str(tmp_path / "var"),
                                   "SYNDICATION_FETCH_TIMEOUT": "5", **env}))


def serve_story(httpserver: HTTPServer) -> Story:
    prefix = f"/story-{uuid.uuid4().hex[:10]}"
    origin = f"http://127.0.0.1:{httpserver.port}"
    for name, data, kind in [("lead.jpg", LEAD, "image/jpeg"), ("one.png", ONE, "image/png"),
                             ("two.gif", TWO, "image/gif")]:
        httpserver.expect_request(f"{prefix}/{name}").respond_with_data(data, content_type=kind)
    httpserver.expect_request(f"{prefix}/gone.png").respond_with_data("", status=404)
    lead = (f'<figure><img src="{prefix}/lead.jpg" alt="{LEAD_ALT}"><figcaption><span class="caption">'
            f'{CAPTION}</span> <span class="credit">{CREDIT}</span></figcaption></figure>')
    body = prose("ferry", 3)
    for name, alt in [("one.png", "One"), ("two.gif", "Two"), ("gone.png", "Gone")]:
        body += f'<figure><img src="{prefix}/{name}" alt="{alt}"></figure>' + prose(alt.lower(), 2)
    path = f"{prefix}/story.html"
    page = article_page(f"Ferries return to the harbour {prefix[-4:]}", body, before=lead,
                        head=f'<meta property="og:image" content="{prefix}/lead.jpg">'
                             f'<link rel="canonical" href="{origin}{path}">')
    httpserver.expect_request(path).respond_with_data(page, content_type="text/html")
    return Story(f"{origin}{path}", origin, prefix)


def ingest_story(services: Services, story: Story) -> IngestReport:
    return ingest_url(services, "partner", story.url, None, lambda *queued: None)


def image_requests(httpserver: HTTPServer, story: Story) -> int:
    """Requests the partner got for the story's images (not the page)."""
    return sum(1 for request, _ in httpserver.log
               if request.path.startswith(story.prefix) and not request.path.endswith(".html"))
