"""Request bodies over the limit are refused (413, the API's error shape) before they are read: a declared
200 MB body with only its first bytes sent, and a chunked body cut off past the limit, against the real
server (uvicorn on loopback) spoken to over a raw socket, so nothing on the client side buffers or fixes
the request up."""
from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.plugins.browser import API_TOKEN, uvicorn_threads
from worker.errors import SyndicationError
from worker.settings import load_settings
from worker.web.app import create_app
from worker.web.body_limit import DEFAULT_MAX_REQUEST_BYTES, LIMIT_ENV, max_request_bytes

#: a generous wait for an answer that, when the limit works, comes at once
ANSWER_DEADLINE = 30.0
DECLARED = 200 * 1024 * 1024


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    #: the server closed the connection after answering (it does not go on reading the refused body)
    closed: bool

    def json(self) -> Any:
        return json.loads(self.body)


def exchange(port: int, request: bytes) -> Reply:
    """Send `request` (headers and as much of a body as the test wants), then read until the server closes
    or the deadline passes. The request goes in one send so it has all arrived before any answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_DEADLINE) as sock:
        sock.sendall(request)
        data, closed = b"", False
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            data += chunk
    assert data, f"no answer within {ANSWER_DEADLINE}s: the server is waiting for (reading) the body"
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return Reply(int(status_line.split()[1]), headers, body, closed)


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2:]
    return out


def request_head(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """start(limit=None) -> port of a real uvicorn serving the app (None: the configured default)."""
    settings = load_settings({"SYNDICATION_VAR_DIR": str(tmp_path / "var"), "CONFIG_DIR": str(tmp_path / "config")})
    with uvicorn_threads() as run:
        def start(limit: int | None = None) -> int:
            return run(create_app(settings, API_TOKEN, max_request_bytes=limit))

        yield start


JSON_AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}


@pytest.mark.parametrize("headers", [JSON_AUTH, {"Content-Type": "application/json"}], ids=["token", "no-token"])
def test_a_declared_200_mb_preview_is_refused_before_its_body_is_read(serve: Any, headers: dict[str, str]) -> None:
    port = serve()
    # the headers say 200 MB; only the first KiB follows, and the client then waits, as a slow sender would
    reply = exchange(port, request_head("/preview", {**headers, "Content-Length": str(DECLARED)})
                     + b'{"html": "' + b"x" * 1024)
    assert reply.status == 413
    assert reply.json() == {"error": "too_large", "message": "the request body is over the limit of 16 MiB "
                                                             f"({LIMIT_ENV}); send less"}
    assert reply.headers["connection"] == "close" and reply.closed
    assert reply.headers["x-content-type-options"] == "nosniff"  # still inside the security headers


def test_a_chunked_body_is_stopped_as_soon_as_it_passes_the_limit(serve: Any) -> None:
    limit = 256 * 1024
    port = serve(limit)
    piece = b"x" * (16 * 1024)
    # one chunk past the limit, and no last chunk: a server that read to the end would wait here forever
    body = chunk(b'{"html": "') + b"".join(chunk(piece) for _ in range(limit // len(piece) + 1))
    reply = exchange(port, request_head("/preview", {**JSON_AUTH, "Transfer-Encoding": "chunked"}) + body)
    assert reply.status == 413
    assert reply.json() == {"error": "too_large",
                            "message": f"the request body is over the limit of {limit} bytes ({LIMIT_ENV}); send less"}
    assert reply.headers["connection"] == "close" and reply.closed


def test_a_chunked_body_under_the_limit_is_read_and_validated(serve: Any) -> None:
    port = serve(256 * 1024)
    body = chunk(b'{"html": ') + chunk(b'"<p>Hi</p>", "colour": "red"}') + b"0\r\n\r\n"
    reply = exchange(port, request_head("/preview", {**JSON_AUTH, "Transfer-Encoding": "chunked",
                                                     "Connection": "close"}) + body)
    assert reply.status == 422 and reply.json()["error"] == "invalid_request"
    assert "colour" in reply.json()["message"]


def test_a_console_form_over_the_limit_gets_the_console_error_page(serve: Any) -> None:
    port = serve()
    reply = exchange(port, request_head("/console/import", {
        "Content-Type": "application/x-www-form-urlencoded", "Content-Length": str(DECLARED)}) + b"url=")
    assert reply.status == 413 and reply.closed
    assert reply.headers["content-type"].startswith("text/html")
    assert b"too_large" in reply.body and b"16 MiB" in reply.body
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]


def test_the_limit_is_SYNDICATION_MAX_REQUEST_BYTES(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert max_request_bytes({}) == DEFAULT_MAX_REQUEST_BYTES == 16 * 1024 * 1024
    assert max_request_bytes({LIMIT_ENV: " 1024 "}) == 1024
    for bad in ("10MB", "0", "-5"):
        with pytest.raises(SyndicationError, match=f"{LIMIT_ENV}={bad!r}: expected a whole number of bytes"):
            max_request_bytes({LIMIT_ENV: bad})
    monkeypatch.setenv(LIMIT_ENV, "1000")
    app = create_app(load_settings({"SYNDICATION_VAR_DIR": str(tmp_path)}), API_TOKEN)
    with TestClient(app) as client:
        refused = client.post("/preview", headers=JSON_AUTH, content=b"{" + b" " * 1000 + b"}")
        assert refused.status_code == 413 and "1000 bytes" in refused.json()["message"]
        assert client.post("/preview", headers=JSON_AUTH, content=b"{}").status_code == 422
