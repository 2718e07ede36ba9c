"""The WordPress outlet with the version's stored images, against the real WordPress of
tests/plugins/wordpress.py: the lead image becomes the featured image and the body's images are uploaded
too, their src in the post rewritten to the uploads, all from the bytes the ingest stored (the partner
is not asked again); an image the store lacks keeps its partner URL and holds nothing back.

The article goes the product's way: ingested from a loopback partner (worker/flow/ingest.py collects its
images), then delivered by worker/flow/deliver.py to a wordpress outlet from outlets.yaml.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
from lxml import html as lxml_html
from pytest_httpserver import HTTPServer

from tests.plugins.wordpress import WordPressSite
from tests.support.image_partner import LEAD, ONE, TWO, deployment, image_requests, ingest_story, serve_story
from worker.flow.deliver import deliver_article, stored_images
from worker.flow.services import Services
from worker.outlets.wordpress_media import media_slug
from worker.store import DeliveryState

PASSWORD_ENV = "SYNDICATION_TEST_WP_APP_PASSWORD"


@pytest.fixture
def services(tmp_path: Path, wordpress: WordPressSite, monkeypatch: pytest.MonkeyPatch) -> Services:
    monkeypatch.setenv(PASSWORD_ENV, wordpress.app_password)
    return deployment(tmp_path, f"outlets:\n  - id: wp\n    kind: wordpress\n    url: {wordpress.url}\n"
                                f"    username: {wordpress.user}\n    app_password_env: {PASSWORD_ENV}\n"
                                "    status: publish\n    timeout: 20\n")


@pytest.mark.wordpress
def test_lead_and_body_images_are_uploaded_from_the_store_and_the_content_links_the_uploads(
    services: Services, wordpress: WordPressSite, httpserver: HTTPServer
) -> None:
    story = serve_story(httpserver)
    report = ingest_story(services, story)
    fetched_by_ingest = image_requests(httpserver, story)
    assert fetched_by_ingest == 4  # lead, one, two, gone: each once, by the ingest

    delivery = deliver_article(services, report.article_id, 1, "wp")
    assert delivery.state == DeliveryState.DELIVERED
    assert image_requests(httpserver, story) == fetched_by_ingest  # the outlet used the stored bytes

    post = wordpress.rest(f"/wp/v2/posts/{delivery.remote_id}", params={"context": "edit"})
    featured = wordpress.rest(f"/wp/v2/media/{post['featured_media']}", params={"context": "edit"})
    assert requests.get(featured["source_url"], timeout=10).content == LEAD

    content = lxml_html.fragment_fromstring(post["content"]["raw"], create_parent="div")
    sources = [img.get("src") for img in content.iter("img")]
    uploads = [src for src in sources if src.startswith(f"{wordpress.url}/wp-content/uploads/")]
    assert len(uploads) == 2 and sources[2] == story.image_url("gone.png")  # the missing one keeps its URL
    assert [requests.get(src, timeout=10).content for src in uploads] == [ONE, TWO]
    assert [img.get("alt") for img in content.iter("img")] == ["One", "Two", "Gone"]

    # published again (a retry after a lost answer): the same uploads, none added, the partner not asked
    images = stored_images(services.store, services.store.image_records(report.article_id, 1))
    article = services.store.get_article(report.article_id, 1)
    assert article is not None
    services.outlet("wp").publish(article, None, images=images)  # type: ignore[call-arg]
    for name in ("lead.jpg", "one.png", "two.gif"):
        found = wordpress.rest("/wp/v2/media", params={"slug": media_slug(story.image_url(name)), "context": "edit"})
        assert len(found) == 1, name
    assert wordpress.rest("/wp/v2/media", params={"slug": media_slug(story.image_url("gone.png"))}) == []
    assert image_requests(httpserver, story) == fetched_by_ingest
