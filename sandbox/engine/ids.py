"""Exchange identifiers (API.md 2.3 and section 8 #16): 12 characters of ``[0-9A-Z]``.

Real examples: order ``BT3DNMHB94XJ``, execution ``BW9QY8RWN52Z``. The random source is the
caller's, so tests can seed it and the server can pass ``secrets.SystemRandom()``.
"""

from __future__ import annotations

import random
import re
import string

ID_ALPHABET = string.digits + string.ascii_uppercase
ID_LENGTH = 12
ID_PATTERN = re.compile(r"[0-9A-Z]{12}")


def new_id(rng: random.Random) -> str:
    """A fresh 12-character order, execution or trade id drawn from ``rng``."""
    return "".join(rng.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


def is_exchange_id(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None
