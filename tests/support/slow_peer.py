"""A hostile HTTP peer on loopback: drips its answer a byte at a time, or cuts it short, and notes when the
client hung up.

A bare socket server, not http.server or pytest-httpserver: those write a whole answer at once, and a
drip must control every byte, the status line and headers included. Each connection serves one request
and is closed after it (`Connection: close`), so what the server measures is one request's life.

`held_for` is measured on the server's side, from the request's arrival to the client's hang-up: it
leaves out the client's start-up (a subprocess importing the worker), so a test can bound how long the
peer held the client without timing the client.
"""
from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal


def head(status: int = 200, headers: dict[str, str] | None = None, length: int | None = None) -> bytes:
    """A status line and headers, ended by the blank line; `length` becomes Content-Length."""
    lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass(frozen=True)
class Answer:
    """What the peer does with one request."""

    head: bytes
    body: bytes = b""
    #: which part goes out one byte per `interval`; "none" sends it all at once and hangs up
    drip: Literal["none", "head", "body"] = "none"
    interval: float = 1.0
    #: a dripping peer hangs up after this long, so that code without a deadline ends too (and fails)
    give_up_after: float = 30.0


def slow_headers(interval: float = 1.0, give_up_after: float = 30.0) -> Answer:
    """A plausible answer whose status line and headers arrive one byte per `interval`."""
    return Answer(head(200, {"Content-Type": "text/html; charset=utf-8", "X-Padding": "p" * 200}, 100),
                  b"<p>" + b"x" * 93 + b"</p>", drip="head", interval=interval, give_up_after=give_up_after)


def slow_body(content_type: str = "text/html", interval: float = 1.0, give_up_after: float = 30.0) -> Answer:
    """Headers at once, then a body of 10 000 bytes one byte per `interval`."""
    return Answer(head(200, {"Content-Type": content_type}, 10_000), b"x" * 10_000, drip="body",
                  interval=interval, give_up_after=give_up_after)


def cut_short(status: int = 200, announced: int = 5000, sent: bytes = b'{"id": "it') -> Answer:
    """Announces `announced` bytes, sends fewer, and hangs up: an answer cut mid-body."""
    return Answer(head(status, {"Content-Type": "application/json"}, announced), sent)


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float
    #: when the client closed its end (monotonic), None while it has not
    gone_at: float | None = None
    #: bytes of the answer that got out
    sent: int = 0

    @property
    def held_for(self) -> float | None:
        return None if self.gone_at is None else self.gone_at - self.received_at


@dataclass
class SlowPeer:
    """`with SlowPeer(lambda method, path: Answer(...)) as peer:` serves at `peer.url(path)`."""

    answer: Callable[[str, str], Answer]
    exchanges: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> SlowPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()

    def wait_gone(self, path: str, timeout: float = 60) -> Exchange:
        """The first exchange for `path` once its client has hung up."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for exchange in self.exchanges:
                    if exchange.path == path and exchange.gone_at is not None:
                        return exchange
            time.sleep(0.05)
        raise AssertionError(f"no client of {path} hung up within {timeout} s: {self.exchanges}")

    # --- serving ------------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:  # one request per connection: hanging up ends the answer (and cuts a short one)
            exchange = self._read_request(conn)
            if exchange is None:
                return
            with self._lock:
                self.exchanges.append(exchange)
            try:
                self._send(conn, self.answer(exchange.method, exchange.path), exchange)
            except OSError:
                exchange.gone_at = time.monotonic()

    @staticmethod
    def _read_request(conn: socket.socket) -> Exchange | None:
        conn.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return None
                data += chunk
            raw_head, _, body = data.partition(b"\r\n\r\n")
            request_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
        except OSError:
            return None
        method, path, *_ = request_line.split(" ")
        return Exchange(method, path, headers, body, time.monotonic())

    def _send(self, conn: socket.socket, answer: Answer, exchange: Exchange) -> None:
        ends = time.monotonic() + answer.give_up_after
        whole = answer.head + answer.body
        start = 0 if answer.drip == "head" else len(answer.head) if answer.drip == "body" else len(whole)
        conn.sendall(whole[:start])
        exchange.sent = start
        for offset in range(start, len(whole)):
            if self._stop.is_set() or time.monotonic() > ends:
                return
            if self._hung_up_within(conn, answer.interval):
                exchange.gone_at = time.monotonic()
                return
            conn.sendall(whole[offset:offset + 1])
            exchange.sent += 1

    @staticmethod
    def _hung_up_within(conn: socket.socket, wait: float) -> bool:
        """Wait up to `wait` seconds; True as soon as the client closes its end."""
        readable, _, _ = select.select([conn], [], [], wait)
        if not readable:
            return False
        try:
            return conn.recv(65536) == b""
        except OSError:
            return True
