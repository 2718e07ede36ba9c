"""Webhook request signing: what a receiver checks to know a request is ours, unaltered and recent.

Two schemes; the webhook outlet's `signature:` option picks one or both (docs/webhook-receiver.md):

Standard Webhooks (https://www.standardwebhooks.com), so a receiver can verify with a kept library in its
own language (`standardwebhooks` for Python, `standardwebhooks` for JavaScript, Go, Java, Ruby, PHP...):

    webhook-id: <message id>                   our Idempotency-Key: the same on every retry of one message
    webhook-timestamp: <t>                     whole seconds since the Unix epoch
    webhook-signature: v1,<base64>             base64 of HMAC-SHA256(key, f"{id}.{t}." + raw body bytes)

    key: a secret written as the spec gives it, `whsec_` + base64, is those decoded bytes (any Standard
    Webhooks library takes the string as it is); any other secret is its UTF-8 bytes, which the libraries
    take as a raw key (Python `Webhook(secret.encode())`, JavaScript `new Webhook(bytes, {format: "raw"})`,
    Go `NewWebhookRaw`). The signature itself is made by the `standardwebhooks` package, not by hand.

Syndication, the scheme of the first receivers (kept for them):

    X-Syndication-Timestamp: <t>               whole seconds since the Unix epoch, as decimal digits
    X-Syndication-Signature: sha256=<hex>      hex = lowercase hex of HMAC-SHA256(key=secret as UTF-8,
                                                     msg=<t> + "." + <raw request body bytes>)

Why a timestamp inside the MAC: a captured request replayed later fails the receiver's freshness check,
and the timestamp cannot be changed without breaking the signature. Why the raw bytes: a receiver that
re-serializes parsed JSON gets different bytes; it must verify before it parses. Why the id inside the
Standard Webhooks MAC: a receiver dedupes on it, so it must not be changeable either.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from datetime import datetime, timezone
from typing import Literal

from standardwebhooks import Webhook

SIGNATURE_HEADER = "X-Syndication-Signature"
TIMESTAMP_HEADER = "X-Syndication-Timestamp"
SIGNATURE_PREFIX = "sha256="
STANDARD_SECRET_PREFIX = "whsec_"

Scheme = Literal["standard", "syndication", "both"]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Syndication-Signature value for `body` sent at `timestamp`."""
    message = str(timestamp).encode("ascii") + b"." + body
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """X-Syndication timestamp and signature headers for one request; a retry signs again, freshly."""
    timestamp = int(time.time() if now is None else now)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: signature(secret, timestamp, body)}


def standard_key(secret: str) -> bytes:
    """The HMAC key a Standard Webhooks receiver derives from `secret` (see the module docstring).

    Decoded here rather than by the library because the library accepts any string after whsec_ (it
    drops what is not base64), and a mistyped secret should be refused with its variable named.
    """
    if not secret.startswith(STANDARD_SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(STANDARD_SECRET_PREFIX):]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    if not key:
        raise ValueError("the whsec_ secret is empty after its prefix")
    return key


def standard_headers(secret: str, message_id: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """webhook-id, webhook-timestamp and webhook-signature for one request (Standard Webhooks v1)."""
    timestamp = int(time.time() if now is None else now)
    signed = Webhook(standard_key(secret)).sign(message_id, datetime.fromtimestamp(timestamp, timezone.utc), body)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signed}


def signing_headers(scheme: Scheme, secret: str, message_id: str, body: bytes,
                    now: float | None = None) -> dict[str, str]:
    """The headers of `scheme` ("both": the two sets, with one timestamp) for one request."""
    moment = time.time() if now is None else now
    headers: dict[str, str] = {}
    if scheme in ("standard", "both"):
        headers.update(standard_headers(secret, message_id, body, moment))
    if scheme in ("syndication", "both"):
        headers.update(signed_headers(secret, body, moment))
    return headers


def verify(secret: str, timestamp: str | None, sent_signature: str | None, body: bytes,
           tolerance: float = 300, now: float | None = None) -> bool:
    """True when the X-Syndication signature matches and the timestamp is within `tolerance` s of now."""
    if not timestamp or not sent_signature or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), sent_signature)
