"""Strict parsing at the edge: what a request carries is checked before anything reads the
database with it, and refused (never trimmed, never coerced) when it does not fit.

Python is generous where we must not be: `str.isdigit()` and `int()` take Arabic-Indic and
superscript digits, `int()` takes any size while the database stops at 64 bits, `json.loads`
recurses until the stack runs out and hands back lone surrogates and NULs that PostgreSQL
refuses. Each helper here closes one of those doors; form fields built on them live in
`backoffice.fields`.
"""

from __future__ import annotations

import json
import re
from typing import Any

# The largest id a BigAutoField (PostgreSQL bigint, SQLite INTEGER) holds.
MAX_ID = 2**63 - 1
_ID = re.compile(r"[0-9]{1,19}")
# NUL and the other C0 controls but tab, newline and carriage return; lone UTF-16 surrogates.
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class InputRefused(ValueError):
    """Input we will not act on. `reason` is a short code safe to log and to answer with; `field`
    names the part at fault, when there is one."""

    def __init__(self, reason: str, *, field: str = "", message: str = "") -> None:
        super().__init__(message or (f"{reason}: {field}" if field else reason))
        self.reason = reason
        self.field = field
        self.message = message or str(self)


def parse_id(value: str) -> int | None:
    """A database id written in ASCII digits (1 to MAX_ID), or None for anything else."""
    if not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def ascii_digits(value: str, *, length: int) -> bool:
    """Exactly `length` digits 0-9: what an SSN or a ZIP code is, whatever Unicode calls a digit."""
    return len(value) == length and value.isascii() and value.isdecimal()


def is_clean_text(value: str) -> bool:
    """No NUL, no control characters (tab and line breaks aside), no lone surrogates."""
    return _BAD_TEXT.search(value) is None


def json_bounded(body: bytes, *, max_bytes: int, max_depth: int) -> Any:
    """The JSON value in `body`, refused when it is larger than `max_bytes`, nested deeper than
    `max_depth`, not UTF-8, not JSON, or carries a string (key or value) that is not clean text."""
    if len(body) > max_bytes:
        raise InputRefused("body_too_large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputRefused("not_utf8") from exc
    # Measured before parsing, since the parser itself is what would run out of stack.
    if _depth(text) > max_depth:
        raise InputRefused("too_deep")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        raise InputRefused("malformed_json") from exc
    _check_strings(value)
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in `text`, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _check_strings(value: Any) -> None:
    if isinstance(value, str):
        if not is_clean_text(value):
            raise InputRefused("invalid_text")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
