"""How personal data is shown by default: enough to recognise, not enough to misuse."""

from __future__ import annotations

import datetime as dt

DOT = "•"


def format_ssn(ssn: str) -> str:
    """An SSN in clear as people write and read it, 123-45-6789 (it is stored as nine digits)."""
    digits = "".join(ch for ch in ssn if ch.isdigit())
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}" if len(digits) == 9 else ssn


def mask_ssn(ssn: str) -> str:
    digits = "".join(ch for ch in ssn if ch.isdigit())
    return f"{DOT * 3}-{DOT * 2}-{digits[-4:]}" if len(digits) >= 4 else DOT * 9


def mask_name(name: str) -> str:
    return f"{name[0]}{DOT * 3}" if name else ""


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    if not domain:
        return DOT * 6
    return f"{local[:1]}{DOT * 3}@{domain[:1]}{DOT * 3}.{domain.rsplit('.', 1)[-1]}"


def mask_phone(phone: str) -> str:
    return f"{DOT * 3} {DOT * 3} {phone[-4:]}" if len(phone) >= 4 else DOT * 6


def mask_date(_: dt.date | None) -> str:
    return f"{DOT * 4}-{DOT * 2}-{DOT * 2}"


def mask_text(_: str) -> str:
    """Addresses, IP addresses and secrets such as a document-check link: nothing shown."""
    return DOT * 8
