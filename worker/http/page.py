"""What a fetch returns (Page) and what a conditional GET sends back (Validators).

Kept apart from client.py so that code which only reads pages (extract, discover, tests) does not pull in
the HTTP machinery.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

from worker.http.decode import decode_body


@dataclass(frozen=True)
class Validators:
    """What the store remembers of the last fetch of a URL, sent back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Page:
    """A fetched partner resource: the bytes as received, where they came from, and their validators.

    `not_modified` pages (HTTP 304) have an empty body: the caller keeps what it had and parses nothing.
    """

    requested_url: str
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None

    @cached_property
    def _decoded(self) -> tuple[str, str]:
        # headers is a plain dict in the partner's spelling, so look the name up without case
        content_type = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        return decode_body(self.body, content_type)

    @property
    def encoding(self) -> str:
        """Header charset, else the document's declaration, else detected (see worker/http/decode.py)."""
        return self._decoded[1]

    @property
    def text(self) -> str:
        return self._decoded[0]

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)
