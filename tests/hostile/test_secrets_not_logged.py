"""Secrets come from the environment only and are never written down: not in worker logs, not in the store,
not in what the operator's commands print.

A real `syndicate worker` on real Redis runs with two outlets whose secrets are environment variables: a
webhook (signing secret) and a WordPress site (Application Password) played by a loopback stub that
first answers 503, then 401, so the password goes through the retry path and a permanent failure, the
two places a careless message would quote a request. An article is imported with `syndicate import
--wait`, delivered to the webhook, refused by "WordPress"; then every log file, every text column of the
SQLite store (and the raw database files), the output of `syndicate deliveries`, `articles list`,
`sources` and `outlets check` are searched for the secret values, also base64-encoded as in an
Authorization header. The test also checks that both secrets were really used (a valid signature at
the receiver, the password in the stub's Authorization header), so it cannot pass by not using them.
"""
from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.plugins.celery_worker import ROOT, SOURCES_YAML, Deployment
from tests.support.deliveries import wait_settled
from tests.support.loopback_http import LoopbackHTTPServer
from tests.support.partner_site import PartnerSite
from tests.support.webhook_receiver import WebhookReceiver
from worker.store import DeliveryState, Store

WEBHOOK_ENV = "HOSTILE_WEBHOOK_SIGNING_SECRET"
WP_ENV = "HOSTILE_WP_APP_PASSWORD"
WP_USER = "syndication-bot"


class WordPressStub:
    """Answers like a WordPress whose REST API first is busy (503), then refuses the credentials (401)."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        self.calls = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _rest(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                stub.authorizations.append(self.headers.get("Authorization", ""))
                stub.calls += 1
                if stub.calls == 1:
                    self._answer(503, b'{"code":"busy","message":"Try again"}', {"Retry-After": "1"})
                else:
                    self._answer(401, b'{"code":"rest_not_logged_in","message":"Sorry, you are not allowed to do that.",'
                                      b'"data":{"status":401}}')

            def do_HEAD(self) -> None:
                stub.authorizations.append(self.headers.get("Authorization", ""))
                self._answer(200, b"")

            do_GET = do_POST = do_PUT = do_DELETE = _rest

        self.http = LoopbackHTTPServer(Handler, name="wordpress-stub")

    @property
    def url(self) -> str:
        return self.http.origin

    @contextmanager
    def running(self) -> Iterator[WordPressStub]:
        with self.http:
            yield self


def cli(deployment: Deployment, *args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, "-m", "worker.cli", *args], env=deployment.env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)
    return f"$ syndicate {' '.join(args)} (exit {done.returncode})\n{done.stdout}\n{done.stderr}"


def store_text(database: Path) -> str:
    """Every text value of every table, and the raw bytes of the database files, as one string."""
    parts = []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - names from sqlite_master
                parts.extend(str(value) for value in row if isinstance(value, (str, bytes)))
    for path in database.parent.glob(database.name + "*"):
        parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_configured_secrets_never_reach_logs_store_or_cli_output(deployment: Deployment) -> None:
    webhook_secret = f"whsec-{uuid.uuid4().hex}"
    wp_password = f"wpapp {uuid.uuid4().hex[:4]} {uuid.uuid4().hex[:4]} {uuid.uuid4().hex[:4]}"
    basic = base64.b64encode(f"{WP_USER}:{wp_password}".encode()).decode()
    api_token = f"api-{uuid.uuid4().hex}"  # the console/API token: every process has it in its environment
    secrets = {"webhook secret": webhook_secret, "WordPress password": wp_password, "Basic credentials": basic,
               "WordPress password, bare": wp_password.replace(" ", ""), "API token": api_token}

    with PartnerSite(1) as site, WebhookReceiver(webhook_secret) as receiver, WordPressStub().running() as wordpress:
        deployment.extra_env = {WEBHOOK_ENV: webhook_secret, WP_ENV: wp_password, "SYNDICATION_API_TOKEN": api_token}
        deployment.write_config(
            outlets_yaml=(
                "outlets:\n"
                f"  - id: hook\n    kind: webhook\n    url: {receiver.url}\n    secret_env: {WEBHOOK_ENV}\n    timeout: 5\n"
                f"  - id: newsroom-wp\n    kind: wordpress\n    url: {wordpress.url}\n    username: {WP_USER}\n"
                f"    app_password_env: {WP_ENV}\n    timeout: 5\n"
            ),
            sources_yaml=SOURCES_YAML,
        )
        for path in (deployment.base / "config").iterdir():
            assert not any(secret in path.read_text() for secret in secrets.values()), "secrets are never in YAML"
        deployment.start_worker()

        outputs = [cli(deployment, "import", site.article_url(0), "--source", "theepochtimes", "--wait", "--timeout", "90")]
        store = Store(deployment.database_url)
        rows = wait_settled(store, 2, timeout=120)
        states = {r.outlet_id: r.state for r in rows}
        assert states == {"hook": DeliveryState.DELIVERED, "newsroom-wp": DeliveryState.FAILED}, rows

        # both secrets were really in use
        assert receiver.requests and all(r.signature_ok for r in receiver.requests)
        assert f"Basic {basic}" in wordpress.authorizations
        assert wordpress.calls >= 2, "the stub's 503 was retried before the 401"

        for args in (["deliveries"], ["deliveries", "--state", "failed"], ["articles", "list"], ["sources"],
                     ["outlets", "check"], ["check"]):
            outputs.append(cli(deployment, *args))
        cli_text = "\n".join(outputs)
        assert "newsroom-wp" in cli_text and "hook" in cli_text  # the commands did show the outlets
        assert WP_ENV in cli_text  # the failure names the variable, not its value

    deployment.stop_all()  # flush and close the logs
    logs = {p.name: p.read_text(errors="replace") for p in deployment.base.glob("*.log")}
    assert logs and any("delivered" in text for text in logs.values()), "the worker logged its work"
    places = {**{f"log {name}": text for name, text in logs.items()},
              "store": store_text(deployment.base / "var" / "syndication.db"),
              "CLI output": cli_text,
              "files under the deployment": "\n".join(
                  p.read_bytes().decode("latin-1") for p in deployment.base.rglob("*")
                  if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm") and p.stat().st_size < 5_000_000)}
    control = json.dumps(deployment.env())  # the search does find the values where they legitimately are
    assert webhook_secret in control and wp_password in control
    leaks = [f"{what} in {where}" for where, text in places.items() for what, value in secrets.items() if value in text]
    assert not leaks, "secrets written down: " + "; ".join(leaks)
    failed = [r for r in rows if r.state == DeliveryState.FAILED]
    assert failed and failed[0].last_error and WP_ENV in failed[0].last_error, json.dumps(
        [r.last_error for r in failed])
