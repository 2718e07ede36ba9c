"""Reading a response body under a size cap, counted both on the wire and after decompression.

Why we decompress ourselves instead of letting requests do it: a gzip bomb of 100 KB can expand to
gigabytes, and how much a single urllib3 read may inflate at once depends on the urllib3 version. Here
the raw stream is read in small chunks (cap on compressed bytes) and zlib is asked for at most the
bytes still allowed (cap on decompressed bytes), so memory stays bounded whatever the partner sends.
We only advertise gzip and deflate, so those are the only codings to undo.

Time is capped too: the caller's Deadline (worker/http/deadline.py) is checked before every read and
bounds each recv inside it, so a partner dripping its body stops at the deadline, not at the next chunk.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterator

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from worker.errors import FetchDeadlineError, FetchFailedError, TooLargeError
from worker.http.deadline import Deadline

CHUNK = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"
GZIP_MAGIC = b"\x1f\x8b"


class _Inflater:
    """zlib with an output budget; handles gzip (also multi-member), zlib-wrapped and raw deflate."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        # 47 = auto-detect gzip or zlib header; raw deflate (a common server bug) is tried on failure
        self._wbits = 47 if coding in ("gzip", "x-gzip") else 15
        self._z = zlib.decompressobj(self._wbits)
        self._first = True

    def feed(self, data: bytes, budget: int) -> bytes:
        """Inflate `data`, returning at most budget + 1 bytes (one more tells the caller it overflowed)."""
        out = bytearray()
        while data and len(out) <= budget:
            try:
                out += self._z.decompress(data, budget + 1 - len(out))
            except zlib.error:
                if not self._first or self._wbits != 15:
                    raise
                self._z, self._wbits = zlib.decompressobj(-15), -15
                continue
            self._first = False
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data:  # the next gzip member
                data = self._z.unused_data
                self._z = zlib.decompressobj(self._wbits)
        return bytes(out)


def too_slow(url: str, deadline: Deadline) -> FetchDeadlineError:
    return FetchDeadlineError(f"{url}: the answer did not arrive in full within the {deadline.seconds:g} s "
                              "total deadline; the peer is too slow")


def _raw_chunks(response: requests.Response, url: str, deadline: Deadline) -> Iterator[bytes]:
    try:
        while True:
            if deadline.expired:
                raise too_slow(url, deadline)
            chunk = response.raw.read(CHUNK, decode_content=False)
            if not chunk:
                return
            yield chunk
    except (requests.RequestException, Urllib3Error, OSError) as exc:
        if deadline.expired:
            raise too_slow(url, deadline) from exc
        raise FetchFailedError(f"{url}: reading the body failed: {exc}") from exc


def read_capped(
    response: requests.Response, url: str, limit: int, *, deadline: Deadline, truncate: bool = False
) -> bytes:
    """The decoded body, raising TooLargeError past `limit` bytes (compressed or not) unless `truncate`.

    Read inside `with deadline:` (as the request was), so that each recv is bounded by the time left.
    """
    declared = response.headers.get("Content-Length", "")
    if not truncate and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"{url}: the partner announces {int(declared)} bytes, over the {limit}-byte limit")
    coding = response.headers.get("Content-Encoding", "identity").strip().lower()
    inflater = _Inflater(coding) if coding in ("gzip", "x-gzip", "deflate") else None
    body = bytearray()
    wire = 0
    for chunk in _raw_chunks(response, url, deadline):
        wire += len(chunk)
        if wire > limit and not truncate:
            sent = "compressed body" if inflater else "body"
            raise TooLargeError(f"{url}: the {sent} exceeds the {limit}-byte limit")
        try:
            data = inflater.feed(chunk, limit - len(body)) if inflater else chunk
        except zlib.error as exc:
            raise FetchFailedError(f"{url}: the {coding} body is corrupt: {exc}") from exc
        body += data
        if len(body) > limit:
            if truncate:
                return bytes(body[:limit])
            what = "decompressed body" if inflater else "body"
            raise TooLargeError(f"{url}: the {what} exceeds the {limit}-byte limit; stopped reading")
    return bytes(body)


def gunzip_capped(data: bytes, url: str, limit: int) -> bytes:
    """Inflate a gzip file served as is (sitemap.xml.gz), under the same cap."""
    try:
        out = _Inflater("gzip").feed(data, limit)
    except zlib.error as exc:
        raise FetchFailedError(f"{url}: the gzip file is corrupt: {exc}") from exc
    if len(out) > limit:
        raise TooLargeError(f"{url}: the decompressed file exceeds the {limit}-byte limit; stopped inflating")
    return out
