"""A webhook receiver on loopback that behaves like a careful partner newsroom, and can be told to misbehave.

It verifies every request's signature with the scheme documented in worker/outlets/webhook.py and
docs/webhook-receiver.md, written out again here (not imported from the worker) so that a signing bug
in the worker cannot hide behind the same bug in the check. It dedupes on Idempotency-Key the way a
receiver must (a timed-out request may have been processed), records every request, and answers from a
script: the next scripted reply for each request, then 200 with {"id", "url"} once the script runs out.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.support.loopback_http import LoopbackHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: seconds to wait before answering (beyond the outlet's timeout: the outlet gives up first)
    delay: float = 0.0
    #: a slow reply still processes the request, like a real receiver whose answer was merely late
    accept: bool = False


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    status: int = 0
    #: this request's Idempotency-Key had already been accepted, so it changed nothing
    duplicate: bool = False

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")

    def json(self) -> Any:
        return json.loads(self.body)


def signature_is_valid(secret: str, headers: dict[str, str], body: bytes, tolerance: float = 300) -> bool:
    """The receiver side of the scheme: HMAC-SHA256(secret, f"{timestamp}." + raw body), fresh timestamp."""
    timestamp = headers.get("x-syndication-timestamp", "")
    sent = headers.get("x-syndication-signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, sent)


class WebhookReceiver:
    """Start with `with WebhookReceiver(secret) as receiver:`; `receiver.url` is where to POST."""

    def __init__(self, secret: str, path: str = "/hook") -> None:
        self.secret = secret
        self.path = path
        self.requests: list[Received] = []
        #: Idempotency-Key -> the id this receiver gave the item
        self.accepted: dict[str, str] = {}
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self.http = LoopbackHTTPServer(self._handler(), name="webhook-receiver")

    @property
    def url(self) -> str:
        return self.http.url(self.path)

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, whichever article they carry."""
        with self._lock:
            self._script.extend(replies)

    def scripted_left(self) -> int:
        """Scripted replies not yet used: 0 once the last one is answering (or has answered) a request."""
        with self._lock:
            return len(self._script)

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.requests)} requests, wanted {count}")

    def __enter__(self) -> WebhookReceiver:
        self.http.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.stop()

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    def _accept(self, record: Received) -> tuple[int, bytes]:
        """Process a verified request once per Idempotency-Key; a repeat gets the first answer again."""
        key = record.key or ""
        with self._lock:
            if key in self.accepted:
                record.duplicate = True
            else:
                self.accepted[key] = f"item-{len(self.accepted) + 1}"
            item = self.accepted[key]
        return 200, json.dumps({"id": item, "url": f"{self.url}/items/{item}"}).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes; with Nagle on, the second waits ~40 ms for the
            # client's delayed ACK on every keep-alive request, which would make a benchmark measure TCP
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(405, b"", {"Allow": "POST"})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = Received("POST", self.path, headers, body, signature_is_valid(receiver.secret, headers, body))
                with receiver._lock:
                    receiver.requests.append(record)
                reply = receiver._next_reply()
                if not record.signature_ok:
                    status, payload, extra = 401, b'{"error": "bad signature"}', {}
                elif reply is None or reply.accept:
                    status, payload = receiver._accept(record)
                    extra = reply.headers if reply else {}
                else:
                    status, payload, extra = reply.status, reply.body, reply.headers
                if reply is not None and reply.delay:
                    time.sleep(reply.delay)
                record.status = status
                self._answer(status, payload, extra)

            def _answer(self, status: int, payload: bytes, extra: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in extra.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the outlet gave up waiting (the timeout case) and closed the connection

        return Handler
