"""An http.server on a free 127.0.0.1 port, serving from a daemon thread until stopped.

Why one helper: the webhook receiver, the partner site and the tests' stand-ins (a proxy that loses an
answer, a stub WordPress) each started a ThreadingHTTPServer and stopped it the same way, and stopping
has a trap: shutdown() waits for serve_forever to notice, so on a server that never started it waits
forever. pytest-httpserver serves canned answers; these peers need handlers of their own.
"""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackHTTPServer:
    """`with LoopbackHTTPServer(Handler) as server:` serves at `server.url(path)`; or start()/stop()."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str = "loopback-http") -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # handler threads die with the test process and server_close does not wait for them: a client
        # holding a keep-alive connection open must not hold up a test's teardown
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True, name=name)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice, or on a server never started."""
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
