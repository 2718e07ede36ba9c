"""Webhook request signing: what a receiver checks to know a request is ours, unaltered and recent.

The scheme (also in the webhook module docstring and docs/webhook-receiver.md, which receivers follow):

    X-Syndication-Timestamp: <t>               whole seconds since the Unix epoch, as decimal digits
    X-Syndication-Signature: sha256=<hex>      hex = lowercase hex of HMAC-SHA256(key=secret as UTF-8,
                                                     msg=<t> + "." + <raw request body bytes>)

Why the timestamp is inside the MAC: a captured request replayed later fails the receiver's freshness
check, and the timestamp cannot be changed without breaking the signature. Why the raw bytes: a
receiver that re-serializes parsed JSON gets different bytes; it must verify before it parses.
"""
from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Syndication-Signature"
TIMESTAMP_HEADER = "X-Syndication-Timestamp"
SIGNATURE_PREFIX = "sha256="


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Syndication-Signature value for `body` sent at `timestamp`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Timestamp and signature headers for one request; a retry signs again with a fresh timestamp."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def verify(secret: str, timestamp: str | None, sent_signature: str | None, body: bytes,
           tolerance: float = 300, now: float | None = None) -> bool:
    """True when the signature matches and the timestamp is within `tolerance` seconds of now."""
    if not timestamp or not sent_signature or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), sent_signature)
