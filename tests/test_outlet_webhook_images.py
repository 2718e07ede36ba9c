"""The webhook outlet with the version's stored images: the receiver gets URLs it can fetch (the partner's,
with what the stored bytes are), or by option the bytes themselves, and the ninjs stays valid by IPTC's
own schema (tests/test_ninjs_schema.py's validator, formats asserted).

Ingested from a loopback partner and delivered through worker/flow/deliver.py to a webhook outlet from
outlets.yaml; the receiver (tests/support/webhook_receiver.py) checks the signature as a newsroom would.
"""
from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer

from tests.support.image_partner import LEAD, ONE, TWO, deployment, image_requests, ingest_story, serve_story
from tests.support.webhook_receiver import WebhookReceiver
from tests.test_ninjs_schema import violations
from worker.flow.deliver import deliver_article
from worker.schema import Article
from worker.store import DeliveryState

SECRET, SECRET_ENV = "webhook-images-secret", "TEST_WEBHOOK_IMAGES_SECRET"


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with WebhookReceiver(SECRET) as running:
        yield running


def deliver(tmp_path: Path, httpserver: HTTPServer, receiver: WebhookReceiver, **options: str) -> dict:
    extra = "".join(f"    {key}: {value}\n" for key, value in options.items())
    services = deployment(tmp_path, f"outlets:\n  - id: hook\n    kind: webhook\n    url: {receiver.url}\n"
                                    f"    secret_env: {SECRET_ENV}\n    timeout: 10\n{extra}")
    story = serve_story(httpserver)
    report = ingest_story(services, story)
    fetched = image_requests(httpserver, story)
    assert deliver_article(services, report.article_id, 1, "hook").state == DeliveryState.DELIVERED
    assert image_requests(httpserver, story) == fetched  # the delivery itself fetched nothing
    [request] = receiver.requests
    assert request.signature_ok
    return {"document": request.json(), "story": story}


def renditions(association: dict) -> dict[str, dict]:
    return {r["name"]: r for r in association["renditions"]}


def test_the_receiver_gets_fetchable_urls_with_what_the_images_are_in_valid_ninjs(
    tmp_path: Path, httpserver: HTTPServer, receiver: WebhookReceiver
) -> None:
    sent = deliver(tmp_path, httpserver, receiver)
    document, story = sent["document"], sent["story"]
    assert violations(document) == []
    by_name = {a["name"]: a for a in document["associations"]}
    assert set(by_name) == {"featureimage", "bodyimage-1", "bodyimage-2"}  # the missing one adds nothing
    feature = renditions(by_name["featureimage"])["original"]
    assert feature == {"name": "original", "href": story.image_url("lead.jpg"), "contenttype": "image/jpeg",
                       "width": 80, "height": 50, "sizeinbytes": len(LEAD)}
    assert by_name["featureimage"]["headlines"][0]["value"] and by_name["featureimage"]["by"]  # caption, credit apart
    for name, data, kind in [("bodyimage-1", ONE, "image/png"), ("bodyimage-2", TWO, "image/gif")]:
        original = renditions(by_name[name])["original"]
        assert original["contenttype"] == kind and original["sizeinbytes"] == len(data)
        # what a receiver does with it: fetch the URL, and get the picture
        assert requests.get(original["href"], timeout=10).content == data
        assert by_name[name]["type"] == "picture" and by_name[name]["uri"] == original["href"]
        assert "embedded" not in renditions(by_name[name])


def test_by_option_the_bytes_travel_too_as_data_uris_and_the_ninjs_stays_valid(
    tmp_path: Path, httpserver: HTTPServer, receiver: WebhookReceiver
) -> None:
    document = deliver(tmp_path, httpserver, receiver, embed_images="true")["document"]
    assert violations(document) == []
    by_name = {a["name"]: a for a in document["associations"]}
    for name, data, kind in [("featureimage", LEAD, "image/jpeg"), ("bodyimage-1", ONE, "image/png"),
                             ("bodyimage-2", TWO, "image/gif")]:
        embedded = renditions(by_name[name])["embedded"]
        prefix = f"data:{kind};base64,"
        assert embedded["href"].startswith(prefix) and embedded["contenttype"] == kind
        assert base64.b64decode(embedded["href"][len(prefix):]) == data


def test_the_canonical_format_carries_the_bytes_beside_the_article_by_option(
    tmp_path: Path, httpserver: HTTPServer, receiver: WebhookReceiver
) -> None:
    document = deliver(tmp_path, httpserver, receiver, format="canonical", embed_images="true")["document"]
    images = document.pop("images")
    assert [(i["role"], base64.b64decode(i["data"])) for i in images] == [("lead", LEAD), ("body", ONE), ("body", TWO)]
    assert Article.model_validate(document).lead_image is not None  # the rest is the article, as before


def test_without_the_option_the_canonical_format_is_the_article_alone(
    tmp_path: Path, httpserver: HTTPServer, receiver: WebhookReceiver
) -> None:
    document = deliver(tmp_path, httpserver, receiver, format="canonical")["document"]
    assert "images" not in document and Article.model_validate(document).id
