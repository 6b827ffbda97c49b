"""KYC webhooks: registration with a synchronous `webhook.test`, and signed at-least-once delivery.

Signing is Standard Webhooks (API.md 5.2): HMAC-SHA256 keyed with base64-decode of the secret after
`whsec_`, over "{webhook-id}.{webhook-timestamp}.{body}", sent as `v1,<base64>`. Deliveries are
queued in the database in the same transaction as the state change they announce, and sent by the
background worker, never from a request thread; the event id is the same on every retry.

The real exchange requires an HTTPS URL on a public address. The sandbox also accepts plain http on
loopback, because the back-office it serves runs on 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import socket
import sqlite3
import time
from typing import Any
from urllib.parse import urlsplit

from sandbox import wire
from sandbox.env import Env
from sandbox.errors import ApiError, Code, invalid

log = logging.getLogger("sandbox.webhooks")


def secret_key(secret: str) -> bytes:
    if not secret.startswith("whsec_"):
        raise invalid("signing_secret must have the form whsec_<base64>")
    try:
        key = base64.b64decode(secret[len("whsec_") :], validate=True)
    except binascii.Error as exc:
        raise invalid("signing_secret: not valid base64 after whsec_") from exc
    if len(key) < 24:
        raise invalid("signing_secret: the decoded key must be at least 24 bytes")
    return key


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    message = f"{event_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise invalid("webhook_url must be an absolute https URL")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise invalid("webhook_url: host does not resolve") from exc
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    if all(a.is_loopback for a in addresses):
        return  # the sandbox's allowance: the back-office runs on loopback
    if parts.scheme != "https":
        raise invalid("webhook_url must use https")
    if any(a.is_private or a.is_link_local or a.is_reserved for a in addresses):
        raise invalid("webhook_url: private and internal addresses are refused")


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """POST without following redirects; returns (status, Retry-After), status 0 on no answer."""
    parts = urlsplit(url)
    conn_cls = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_cls(parts.hostname or "", parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Retry-After") or ""
    except (OSError, http.client.HTTPException) as exc:
        log.info("webhook POST to %s failed: %s", url, exc)
        return 0, ""
    finally:
        conn.close()


def envelope(event_type: str, event_id: str, data: dict[str, Any]) -> bytes:
    body = {
        "event_type": event_type,
        "event_id": event_id,
        "event_time": wire.ts(),
        "data": {k: v for k, v in data.items() if v not in ("", None)},
    }
    return json.dumps(body, separators=(",", ":")).encode()


def headers_for(event_id: str, body: bytes, secret: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": "polymarket-us-sandbox"}
    if secret:
        stamp = int(time.time())
        headers["webhook-id"] = event_id
        headers["webhook-timestamp"] = str(stamp)
        headers["webhook-signature"] = sign(secret, event_id, stamp, body)
    return headers


def register(env: Env, firm_id: str, url: str, secret: str) -> dict[str, Any]:
    """Send `webhook.test` now; save the URL (and secret, or none) only if it answered 2xx."""
    if not url:
        raise invalid("webhook_url is required")
    check_url(url)
    if secret:
        secret_key(secret)
    event_id = wire.ulid()
    body = envelope("webhook.test", event_id, {"firm_id": firm_id})
    status, _ = post(url, body, headers_for(event_id, body, secret), env.settings.webhook_timeout)
    if not 200 <= status < 300:
        raise ApiError(
            Code.INVALID_ARGUMENT,
            f"webhook test delivery failed: {'no answer' if status == 0 else f'HTTP {status}'}",
        )
    with env.store.write() as db:
        db.execute(
            "UPDATE firms SET webhook_url = ?, webhook_secret = ?, webhook_failures = 0, "
            "webhook_paused_until = 0 WHERE firm_id = ?",
            (url, secret, firm_id),
        )
    return {"validated": True, "message": "Webhook URL registered and validated successfully"}


def enqueue(db: sqlite3.Connection, firm_id: str, event_type: str, data: dict[str, Any]) -> str:
    """Queue an event inside the caller's transaction; the worker sends it after the commit."""
    event_id = wire.ulid()
    body = envelope(event_type, event_id, data)
    db.execute(
        "INSERT INTO webhook_deliveries (event_id, firm_id, event_type, body, state, next_at, "
        "created_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
        (event_id, firm_id, event_type, body.decode(), time.time(), wire.ts()),
    )
    return event_id


def deliver_due(env: Env) -> int:
    settings = env.settings
    now = time.time()
    due = env.store.db.execute(
        "SELECT * FROM webhook_deliveries WHERE state = 'pending' AND next_at <= ? "
        "ORDER BY seq LIMIT 50",
        (now,),
    ).fetchall()
    sent = 0
    for row in due:
        firm = env.store.db.execute(
            "SELECT * FROM firms WHERE firm_id = ?", (row["firm_id"],)
        ).fetchone()
        if firm is None or not firm["webhook_url"]:
            with env.store.write() as db:
                db.execute(
                    "UPDATE webhook_deliveries SET state = 'failed', last_status = "
                    "'no webhook registered' WHERE seq = ?",
                    (row["seq"],),
                )
            continue
        if firm["webhook_paused_until"] > now:
            with env.store.write() as db:
                db.execute(
                    "UPDATE webhook_deliveries SET next_at = ? WHERE seq = ?",
                    (firm["webhook_paused_until"], row["seq"]),
                )
            continue
        body = row["body"].encode()
        headers = headers_for(row["event_id"], body, firm["webhook_secret"])
        status, retry_after = post(firm["webhook_url"], body, headers, settings.webhook_timeout)
        sent += 1
        _record(env, row, firm, status, retry_after)
    return sent


def _record(env: Env, row: sqlite3.Row, firm: sqlite3.Row, status: int, retry_after: str) -> None:
    settings = env.settings
    attempts = row["attempts"] + 1
    now = time.time()
    with env.store.write() as db:
        if 200 <= status < 300:
            db.execute(
                "UPDATE webhook_deliveries SET state = 'delivered', attempts = ?, last_status = ?, "
                "delivered_at = ? WHERE seq = ?",
                (attempts, str(status), wire.ts(), row["seq"]),
            )
            db.execute(
                "UPDATE firms SET webhook_failures = 0 WHERE firm_id = ?", (firm["firm_id"],)
            )
            return
        failures = firm["webhook_failures"] + 1
        paused_until = 0.0
        if failures >= settings.webhook_breaker_threshold:
            # Circuit breaker: a growing cool-down after each further consecutive failure.
            steps = failures - settings.webhook_breaker_threshold
            paused_until = now + min(3600.0, settings.webhook_breaker_cooldown * 2**steps)
        db.execute(
            "UPDATE firms SET webhook_failures = ?, webhook_paused_until = ? WHERE firm_id = ?",
            (failures, paused_until, firm["firm_id"]),
        )
        if attempts > len(settings.webhook_backoff):
            db.execute(
                "UPDATE webhook_deliveries SET state = 'failed', attempts = ?, last_status = ? "
                "WHERE seq = ?",
                (attempts, str(status), row["seq"]),
            )
            return
        delay = settings.webhook_backoff[attempts - 1]
        delay *= 1 + random.uniform(-settings.webhook_jitter, settings.webhook_jitter)
        if status in {408, 429} and retry_after.isdigit():
            delay = max(delay, float(retry_after))
        db.execute(
            "UPDATE webhook_deliveries SET attempts = ?, last_status = ?, next_at = ? WHERE seq = ?",
            (attempts, str(status), now + delay, row["seq"]),
        )


def delivery_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "eventId": row["event_id"],
        "firmId": row["firm_id"],
        "eventType": row["event_type"],
        "state": row["state"],
        "attempts": row["attempts"],
        "lastStatus": row["last_status"],
        "createdAt": row["created_at"],
        "deliveredAt": row["delivered_at"],
        "body": json.loads(row["body"]),
    }
