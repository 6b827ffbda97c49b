"""Resume tokens: opaque to clients, signed, tied to one stream type, and able to expire.

A token says "resume after position `after` of this stream's log". It also remembers where the
last non-empty batch before it began (`redo`), so a reconnect can re-send that batch when the
duplicates fault asks for it. Tokens are HMAC-signed with a key kept in the store, so they survive
a restart and a client cannot forge or edit one; a token of another stream type is refused.

Expiry (the docs: tokens may expire after long disconnects; the fallback is the Report API): a
token older than `resume_token_ttl`, or issued before the operator expired every token so far
(/_sandbox/streams/expire-tokens), is refused with INVALID_ARGUMENT, as Google APIs refuse an
expired page token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
import time
from dataclasses import dataclass
from enum import IntEnum

from sandbox.store import Store

_LAYOUT = struct.Struct(">BBqqq")  # version, topic, after, redo, issued (microseconds)
_MAC_BYTES = 16
_VERSION = 1
_KEY_META = "stream_token_key"
_VALID_FROM_META = "stream_tokens_valid_from_us"


def _now_us() -> int:
    return time.time_ns() // 1000


class Topic(IntEnum):
    EXECUTIONS = 1
    TRADES = 2
    POSITIONS = 3
    INSTRUMENTS = 4


class TokenRefused(Exception):
    """The token cannot be resumed from; the message says why (for the INVALID_ARGUMENT)."""


@dataclass(frozen=True)
class Cursor:
    after: int  # the last log position delivered (or passed over) on this stream
    redo: int  # where the last non-empty batch before `after` started


class Tokens:
    def __init__(self, store: Store, ttl_seconds: float) -> None:
        self.store = store
        self.ttl_us = int(ttl_seconds * 1_000_000)
        key = store.meta_get(_KEY_META)
        if key is None:
            key = secrets.token_hex(32)
            store.meta_set(_KEY_META, key)
        self._key = bytes.fromhex(key)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_MAC_BYTES]

    def issue(self, topic: Topic, cursor: Cursor) -> bytes:
        body = _LAYOUT.pack(_VERSION, topic, cursor.after, cursor.redo, _now_us())
        return body + self._mac(body)

    def read(self, topic: Topic, token: bytes) -> Cursor:
        body, mac = token[: _LAYOUT.size], token[_LAYOUT.size :]
        if len(body) != _LAYOUT.size or not hmac.compare_digest(mac, self._mac(body)):
            raise TokenRefused("resume_token is not a token this exchange issued")
        version, kind, after, redo, issued = _LAYOUT.unpack(body)
        if version != _VERSION or kind != topic:
            raise TokenRefused("resume_token belongs to another kind of subscription")
        valid_from = int(self.store.meta_get(_VALID_FROM_META) or 0)
        if issued < valid_from or _now_us() - issued > self.ttl_us:
            raise TokenRefused(
                "resume_token has expired: reconcile through the Report API, then resume by time"
            )
        return Cursor(after=after, redo=redo)

    def expire_all(self) -> None:
        """Every token issued until now is refused from now on."""
        self.store.meta_set(_VALID_FROM_META, str(_now_us() + 1))
