"""Encryption of personal data at rest, and the keyed hash used to find exact matches.

Keys come from the environment: PII_ENCRYPTION_KEYS is a list of Fernet keys, newest first; values
encrypted under any of them can be read, new values are written under the first. Each stored value
names the key it was written with ("pii1:<key id>:<fernet token>"), so `rotate_pii_keys` can tell
what is left to re-encrypt and pick up where it stopped.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

PREFIX = "pii1"


class PiiKeyError(Exception):
    """A stored value cannot be decrypted with any configured key."""


def _key_id(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> tuple[str, dict[str, Fernet], MultiFernet]:
    if not keys:
        raise PiiKeyError("PII_ENCRYPTION_KEYS is empty")
    fernets = {_key_id(key): Fernet(key) for key in keys}
    return _key_id(keys[0]), fernets, MultiFernet([Fernet(key) for key in keys])


def _current() -> tuple[str, dict[str, Fernet], MultiFernet]:
    return _keyring(tuple(settings.PII_ENCRYPTION_KEYS))


def primary_key_id() -> str:
    return _current()[0]


def encrypt(plaintext: str) -> str:
    key_id, fernets, _ = _current()
    token = fernets[key_id].encrypt(plaintext.encode()).decode()
    return f"{PREFIX}:{key_id}:{token}"


def decrypt(stored: str) -> str:
    _, fernets, multi = _current()
    prefix, _, rest = stored.partition(":")
    key_id, _, token = rest.partition(":")
    if prefix != PREFIX or not token:
        raise PiiKeyError("stored value is not an encrypted PII value")
    try:
        fernet = fernets.get(key_id)
        return (fernet or multi).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise PiiKeyError(f"no configured key decrypts this value (key id {key_id})") from exc


def needs_rotation(stored: str) -> bool:
    """True when `stored` was written under a key other than the newest one."""
    return not stored.startswith(f"{PREFIX}:{primary_key_id()}:")


def rotate(stored: str) -> str:
    return encrypt(decrypt(stored))


def pii_hash(value: str) -> str:
    """A keyed hash for exact-match lookups (duplicate SSNs) that reveals nothing without the key.

    Callers normalise first (an SSN as its nine digits), so that equal values hash equally.
    """
    key = settings.PII_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
