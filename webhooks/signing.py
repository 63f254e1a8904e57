"""The signature on every delivery: `X-Throughline-Signature: t=<unix seconds>,v1=<hex>`,
where the hex is the HMAC-SHA256, keyed with the subscription's secret, of the timestamp, a
dot and the body exactly as sent. docs/webhooks.md shows a receiver how to check it (the
same steps as `verify` here, which the tests run against what a receiver got)."""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Throughline-Signature"
TOLERANCE_SECONDS = 5 * 60


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: float | None = None) -> bool:
    """Whether `header` signs `body` with `secret`, made within TOLERANCE_SECONDS of `now`."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
