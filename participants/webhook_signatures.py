"""Standard Webhooks signature checks for the exchange's KYC webhooks.

The exchange signs "{webhook-id}.{webhook-timestamp}.{raw body}" with HMAC-SHA256 under the
secret we registered (base64 after the "whsec_" prefix) and sends "v1,<base64>" in
webhook-signature (space-separated when several). During secret rotation either secret may sign.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping

TOLERANCE_SECONDS = 5 * 60
TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureRefused(Exception):
    """Why a delivery is not believed: a short code, safe to log (no payload, no secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret is whsec_ followed by base64") from exc


def sign(*, secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    message = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(
    *, headers: Mapping[str, str], body: bytes, secrets: Iterable[str], now: float | None = None
) -> str:
    """Returns the webhook id when a current secret signed this delivery recently, else raises."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (webhook_id and timestamp and signatures):
        raise SignatureRefused("missing_headers")
    # Unix seconds in ASCII digits, at most 12 of them: int() would take "+1e3"-like spellings,
    # other scripts' digits, and numbers too large to subtract from a float.
    if not TIMESTAMP.fullmatch(timestamp):
        raise SignatureRefused("bad_timestamp")
    sent_at = int(timestamp)
    if abs((now if now is not None else time.time()) - sent_at) > TOLERANCE_SECONDS:
        raise SignatureRefused("stale_timestamp")
    candidates = [s.strip() for s in signatures.split(" ") if s.strip().startswith("v1,")]
    for secret in secrets:
        if not secret:
            continue
        expected = sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=body)
        # compare_digest on every candidate: no early exit that would time the match.
        if any(
            hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates
        ):
            return webhook_id
    raise SignatureRefused("bad_signature")
