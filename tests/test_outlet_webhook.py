"""The webhook outlet: signed POSTs, retry-or-give-up by status, exactly one accepted delivery per version.

Unit tests call the outlet against a loopback receiver; the end-to-end tests go through real Celery
workers on real Redis, where the retry policy of tasks.py meets the outlet's errors.
"""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.plugins.celery_worker import ROOT, Deployment
from tests.support.deliveries import wait_settled
from tests.support.webhook_receiver import Reply, WebhookReceiver, signature_is_valid
from tests.support.slow_peer import Answer, SlowPeer, cut_short, head, slow_body, slow_headers
from worker.errors import ConfigError, OutletDeadlineError, OutletRejectedError, OutletUnavailableError
from worker.outlets.base import RemoteRef
from worker.outlets.signing import signature, verify
from worker.outlets.webhook import WebhookOptions, WebhookOutlet
from worker.schema import Author, Image, SourceRef, from_ninjs, make_article
from worker.settings import load_settings
from worker.store import DeliveryState, Store

SECRET = "s3cret-for-tests"
SECRET_ENV = "TEST_WEBHOOK_SECRET"


def article(version: int = 1, n: int = 0, body: str = "<p>Body.</p>"):
    return make_article(
        version=version, source=SourceRef(id="p", name="Partner"), attribution="From Partner",
        url=f"https://partner.example/story-{n}.html", headline=f"Story {n} v{version}",
        authors=[Author(name="Ann Lee")], published=datetime(2024, 1, 1, tzinfo=timezone.utc),
        lead_image=Image(url="https://partner.example/i.jpg", caption="A caption"),
        body_html=body, body_text=body.replace("<p>", "").replace("</p>", ""),
        fetched_at=datetime(2024, 1, 2, tzinfo=timezone.utc),
    )


def outlet(url: str, **options: object) -> WebhookOutlet:
    opts = WebhookOptions(url=url, secret_env=SECRET_ENV, timeout=1, **options)
    return WebhookOutlet("hook", opts, load_settings({}))


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with WebhookReceiver(SECRET) as running:
        yield running


# --- signing ---------------------------------------------------------------------------------------

def test_signature_is_hmac_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{\"a\":1}", hashlib.sha256).hexdigest()
    assert signature("k", 1700000000, b'{"a":1}') == f"sha256={expected}"
    assert verify("k", "1700000000", f"sha256={expected}", b'{"a":1}', now=1700000100)
    assert not verify("k", "1700000000", f"sha256={expected}", b'{"a":2}', now=1700000100)  # body changed
    assert not verify("k", "1700000001", f"sha256={expected}", b'{"a":1}', now=1700000100)  # timestamp changed
    assert not verify("k", "1700000000", f"sha256={expected}", b'{"a":1}', now=1700001000)  # too old


def test_receiver_check_rejects_a_tampered_request() -> None:
    headers = {"x-syndication-timestamp": str(int(time.time()))}
    headers["x-syndication-signature"] = signature(SECRET, int(headers["x-syndication-timestamp"]), b"{}")
    assert signature_is_valid(SECRET, headers, b"{}")
    assert not signature_is_valid(SECRET, headers, b"{ }")
    assert not signature_is_valid("other", headers, b"{}")


# --- Standard Webhooks: verified with the `standardwebhooks` package, as a receiver would -------------

STANDARD_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def standard_receiver(monkeypatch: pytest.MonkeyPatch, secret: str) -> SlowPeer:
    """A receiver that answers 200 at once and keeps the raw requests, for the library to verify."""
    monkeypatch.setenv(SECRET_ENV, secret)
    return SlowPeer(lambda method, path: Answer(head(200, {"Content-Type": "application/json"}, 2), b"{}"))


def test_a_standard_webhooks_library_verifies_what_the_outlet_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    item = article(version=2)
    with standard_receiver(monkeypatch, STANDARD_SECRET) as peer:
        outlet(peer.url("/hook"), signature="standard").publish(item, None)
    [sent] = peer.exchanges
    receiver = Webhook(STANDARD_SECRET)  # the secret string as the operator gave it to both sides
    assert from_ninjs(receiver.verify(sent.body, sent.headers)) == item
    assert sent.headers["webhook-id"] == sent.headers["idempotency-key"] == f"{item.id}:2"
    assert sent.headers["webhook-signature"].startswith("v1,")
    assert "x-syndication-signature" not in sent.headers and "x-syndication-timestamp" not in sent.headers
    with pytest.raises(WebhookVerificationError):
        receiver.verify(sent.body.replace(b"Story", b"Storm"), sent.headers)  # a tampered body
    with pytest.raises(WebhookVerificationError):
        receiver.verify(sent.body, {**sent.headers, "webhook-id": f"{item.id}:3"})  # a changed id
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(sent.body, sent.headers)  # wrong secret


def test_both_schemes_by_default_each_checkable_by_its_own_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    with standard_receiver(monkeypatch, STANDARD_SECRET) as peer:
        hook = outlet(peer.url("/hook"))
        assert hook.options.signature == "both"
        hook.withdraw(RemoteRef("item-7"), "withdrawn by the partner")
    [sent] = peer.exchanges
    Webhook(STANDARD_SECRET).verify(sent.body, sent.headers)
    assert signature_is_valid(STANDARD_SECRET, sent.headers, sent.body)  # the X-Syndication receiver's check
    assert sent.headers["webhook-timestamp"] == sent.headers["x-syndication-timestamp"]


def test_a_plain_secret_is_a_raw_key_for_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    with standard_receiver(monkeypatch, SECRET) as peer:
        outlet(peer.url("/hook"), signature="standard").publish(article(), None)
    [sent] = peer.exchanges
    Webhook(SECRET.encode("utf-8")).verify(sent.body, sent.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET.encode("utf-8")).verify(sent.body + b" ", sent.headers)


def test_the_syndication_scheme_alone_sends_no_standard_headers(receiver: WebhookReceiver) -> None:
    outlet(receiver.url, signature="syndication").publish(article(), None)
    [request] = receiver.requests
    assert request.signature_ok and "webhook-signature" not in request.headers


def test_a_whsec_secret_that_is_not_base64_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "whsec_not*base64!")
    with pytest.raises(ConfigError, match=f"environment variable {SECRET_ENV} is not a usable Standard Webhooks key"):
        outlet("http://127.0.0.1:9/hook", signature="standard").publish(article(), None)


# --- unit: one outlet, one receiver ----------------------------------------------------------------

def test_publish_posts_signed_ninjs_with_idempotency_key(receiver: WebhookReceiver) -> None:
    item = article(version=3)
    ref = outlet(receiver.url, headers={"X-Route": "world"}).publish(item, RemoteRef("item-0"))
    [request] = receiver.requests
    assert request.signature_ok
    assert request.headers["idempotency-key"] == f"{item.id}:3"
    assert request.headers["x-syndication-event"] == "published"
    assert request.headers["x-syndication-previous-id"] == "item-0"
    assert request.headers["x-route"] == "world"
    assert request.headers["content-type"].startswith("application/json")
    assert abs(int(request.headers["x-syndication-timestamp"]) - time.time()) < 5
    assert from_ninjs(request.json()) == item
    assert ref == RemoteRef("item-1", f"{receiver.url}/items/item-1")


def test_canonical_format_and_key_as_remote_id_when_receiver_names_none(receiver: WebhookReceiver) -> None:
    receiver.script(Reply(202, b"queued"))
    item = article()
    ref = outlet(receiver.url, format="canonical").publish(item, None)
    assert receiver.requests[0].json()["headline"] == item.headline
    assert receiver.requests[0].json()["id"] == item.id
    assert ref == RemoteRef(f"{item.id}:1", None)


@pytest.mark.parametrize("reply, retry_after", [
    (Reply(500, b"boom"), None),
    (Reply(503, b"busy", {"Retry-After": "7"}), 7.0),
    (Reply(429, b"slow down", {"Retry-After": "2"}), 2.0),
    (Reply(408, b"request timeout"), None),
])
def test_server_errors_and_throttling_are_transient(receiver: WebhookReceiver, reply: Reply,
                                                    retry_after: float | None) -> None:
    receiver.script(reply)
    with pytest.raises(OutletUnavailableError) as caught:
        outlet(receiver.url).publish(article(), None)
    assert caught.value.retry_after == retry_after
    assert f"HTTP {reply.status}" in caught.value.reason and reply.body.decode() in caught.value.reason


def test_a_slow_receiver_times_out_as_transient(receiver: WebhookReceiver) -> None:
    receiver.script(Reply(200, delay=2.5))
    started = time.monotonic()
    with pytest.raises(OutletUnavailableError, match="did not answer within 1s"):
        outlet(receiver.url).publish(article(), None)
    assert time.monotonic() - started < 2.4


@pytest.mark.parametrize("drip", [slow_headers(interval=0.3), slow_body("application/json", interval=0.3)],
                         ids=["headers", "body"])
def test_a_receiver_dripping_its_reply_is_cut_at_the_timeout(monkeypatch: pytest.MonkeyPatch, drip: Answer) -> None:
    """A byte every 0.3 s keeps every read inside `timeout: 1`; only the total deadline stops it."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with SlowPeer(lambda method, path: drip) as peer:
        started = time.monotonic()
        with pytest.raises(OutletDeadlineError, match="did not answer within 1s") as caught:
            outlet(peer.url("/hook")).publish(article(), None)
        assert time.monotonic() - started < 1 + 10  # the deadline plus a generous margin, not the 30 s drip
        assert isinstance(caught.value, OutletUnavailableError)  # transient: retried
        assert (peer.wait_gone("/hook").held_for or 0) < 1 + 10


@pytest.mark.parametrize("status", [200, 400])
def test_a_reply_cut_mid_body_is_transient(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    """Content-Length 5000, ten bytes, hang-up: the receiver may or may not have the item, so send again
    (the Idempotency-Key makes that safe); never a permanent failure, never an unnamed exception."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with SlowPeer(lambda method, path: cut_short(status)) as peer:
        with pytest.raises(OutletUnavailableError, match="cut its answer short") as caught:
            outlet(peer.url("/hook")).publish(article(), None)
    assert not isinstance(caught.value, OutletDeadlineError)
    assert len(peer.exchanges) == 1


def test_unreachable_receiver_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    from worker.embedded_redis import free_port

    with pytest.raises(OutletUnavailableError, match="unreachable"):
        outlet(f"http://127.0.0.1:{free_port()}/hook").publish(article(), None)


def test_client_errors_are_permanent_with_the_body_in_the_reason(receiver: WebhookReceiver) -> None:
    error = {"error": "headline too long", "field": "headlines[0]"}
    receiver.script(Reply(400, json.dumps(error).encode() + b" " + b"x" * 2000))
    with pytest.raises(OutletRejectedError) as caught:
        outlet(receiver.url).publish(article(), None)
    assert "HTTP 400" in caught.value.reason and '"headline too long"' in caught.value.reason
    assert "x" * 600 not in caught.value.reason  # the body is cut to its first 500 characters


def test_a_redirect_is_permanent_and_names_the_target(receiver: WebhookReceiver) -> None:
    receiver.script(Reply(301, headers={"Location": "https://elsewhere.example/hook"}))
    with pytest.raises(OutletRejectedError, match="elsewhere.example"):
        outlet(receiver.url).publish(article(), None)
    assert len(receiver.requests) == 1


def test_wrong_secret_is_refused_by_the_receiver(receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-shared-secret")
    with pytest.raises(OutletRejectedError, match="HTTP 401"):
        outlet(receiver.url).publish(article(), None)
    assert receiver.accepted == {}


def test_missing_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ConfigError, match=f"environment variable {SECRET_ENV} is not set"):
        outlet("http://127.0.0.1:9/hook").publish(article(), None)


def test_withdraw_posts_a_signed_withdrawal_event(receiver: WebhookReceiver) -> None:
    item = article()
    hook = outlet(receiver.url)
    hook.withdraw(RemoteRef(f"{item.id}:1"), "withdrawn by the partner")
    receiver.script(Reply(410, b"gone"))
    hook.withdraw(RemoteRef(f"{item.id}:1"), "withdrawn by the partner")  # already gone there: done
    first, second = receiver.requests
    assert first.signature_ok and first.headers["x-syndication-event"] == "withdrawn"
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == f"{item.id}:withdrawn"
    assert first.json() == {"event": "withdrawn", "article_id": item.id, "remote_id": f"{item.id}:1",
                            "reason": "withdrawn by the partner"}


def test_check_reports_reachable_or_unavailable(receiver: WebhookReceiver) -> None:
    assert "answered HTTP 405" in outlet(receiver.url).check()
    from worker.embedded_redis import free_port

    with pytest.raises(OutletUnavailableError, match="not reachable"):
        outlet(f"http://127.0.0.1:{free_port()}/hook").check()


# --- end to end: real workers, real Redis, the ledger ------------------------------------------------

def configure(deployment: Deployment, url: str, max_retries: int = 2) -> None:
    deployment.max_retries = max_retries
    deployment.extra_env = {SECRET_ENV: SECRET}
    deployment.write_config(
        "outlets:\n"
        "  - id: hook\n"
        "    kind: webhook\n"
        f"    url: {url}\n"
        f"    secret_env: {SECRET_ENV}\n"
        "    timeout: 1\n"
    )


def store_versions(deployment: Deployment, *versions: int) -> tuple[Store, str]:
    store = Store(deployment.database_url)
    store.migrate()
    for version in versions:
        store.upsert_article(article(body=f"<p>Body of version {version}.</p>"))
    stored = store.list_articles()[0]
    assert [a.version for a in store.versions(stored.id)] == list(versions)
    return store, stored.id


@pytest.mark.integration
def test_failures_are_retried_to_exactly_one_accepted_delivery_per_version(
        deployment: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    with WebhookReceiver(SECRET) as receiver:
        failures = [
            Reply(500, b"internal error"),
            Reply(503, b"maintenance", {"Retry-After": "1"}),
            Reply(429, b"too many"),
            Reply(200, delay=2, accept=True),  # processed, but the answer comes after the 1 s timeout
        ]
        receiver.script(*failures)
        # four failures may all land on one version's task: enough retries that none gives up
        configure(deployment, receiver.url, max_retries=len(failures) + 1)
        store, article_id = store_versions(deployment, 1, 2)
        deployment.start_worker()
        app = deployment.app()
        for version in (1, 2):
            app.send_task("syndication.deliver", (article_id, "hook"), {"version": version}, queue="deliver")
        rows = wait_settled(store, 2, timeout=90, exactly=True)
        assert sorted((r.version, r.state) for r in rows) == [(1, DeliveryState.DELIVERED), (2, DeliveryState.DELIVERED)]
        time.sleep(2.5)  # a stray retry, if there were one, would arrive now (backoff max is 2 s)
        assert all(r.signature_ok for r in receiver.requests)
        assert sorted(receiver.accepted) == [f"{article_id}:1", f"{article_id}:2"]
        assert len(receiver.requests) == len(failures) + 2
        assert sum(r.duplicate for r in receiver.requests) <= 1  # only the timed-out one can repeat
        for row in rows:
            assert row.remote_id and row.remote_id.startswith("item-")
            assert row.remote_url == f"{receiver.url}/items/{row.remote_id}"
            assert receiver.accepted[f"{article_id}:{row.version}"] == row.remote_id
            assert row.attempts >= 1
        assert sum(r.attempts for r in rows) == len(failures) + 2


@pytest.mark.integration
def test_a_client_error_fails_permanently_with_the_receivers_body_on_the_ledger(deployment: Deployment) -> None:
    with WebhookReceiver(SECRET) as receiver:
        receiver.script(Reply(400, b'{"error": "section \\"Opinion\\" is not syndicated here"}'))
        configure(deployment, receiver.url)
        store, article_id = store_versions(deployment, 1)
        deployment.start_worker()
        deployment.app().send_task("syndication.deliver", (article_id, "hook"), {"version": 1}, queue="deliver")
        [row] = wait_settled(store, 1, timeout=90, exactly=True)
        assert row.state == DeliveryState.FAILED
        assert "HTTP 400" in (row.last_error or "")
        assert 'section \\"Opinion\\" is not syndicated here' in (row.last_error or "")
        time.sleep(2.5)  # no retry comes
        assert len(receiver.requests) == 1 and receiver.accepted == {}
        listing = subprocess.run([sys.executable, "-m", "worker.cli", "deliveries", "--state", "failed"],
                                 env=deployment.env(), cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert listing.returncode == 0, listing.stderr
        assert "failed" in listing.stdout and 'section \\"Opinion\\" is not syndicated here' in listing.stdout
