"""Serve a folder of partner pages on 127.0.0.1, for the demo (and anyone trying a config by hand).

Why hand-written: http.server can serve a folder, but the demo also needs the feed's partner.test links
pointed at wherever this server listens, which a plain static server cannot do.
"""
from __future__ import annotations

import mimetypes
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PLACEHOLDER_ORIGIN = "http://partner.test"


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, *args: object, root: Path, origin: str, **kwargs: object) -> None:
        self.root = root
        self.origin = origin
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        relative = self.path.split("?", 1)[0].lstrip("/")
        path = (self.root / relative).resolve()
        if not path.is_file() or self.root not in path.parents:
            self.send_error(404)
            return
        body = path.read_bytes()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".xml":
            body = body.replace(PLACEHOLDER_ORIGIN.encode(), self.origin.encode())
            content_type = "application/rss+xml"
        if content_type.startswith("text/") or content_type.endswith("xml"):
            content_type += "; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep the demo's output clean
        pass


class SampleSite:
    """A threaded HTTP server on a loopback port serving `root`."""

    def __init__(self, root: Path, preferred_port: int = 0) -> None:
        self.root = root.resolve()
        self.preferred_port = preferred_port
        self.server: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> str:
        """Listen on the preferred port (so links stay the same from run to run), else any free one."""
        handler = partial(_Handler, root=self.root, origin="")
        try:
            self.server = ThreadingHTTPServer(("127.0.0.1", self.preferred_port), handler)
        except OSError:
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.RequestHandlerClass = partial(_Handler, root=self.root, origin=self.origin)  # type: ignore[assignment]
        threading.Thread(target=self.server.serve_forever, daemon=True, name="sample-site").start()
        return self.origin

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
