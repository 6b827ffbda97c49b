"""Wire conventions shared by every endpoint (API.md section 4): names, int64, money, time, pages."""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.errors import invalid

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NEW_YORK = ZoneInfo("America/New_York")


def snake(name: str) -> str:
    return _CAMEL.sub(r"_\1", name).lower()


def camel(name: str) -> str:
    """snake_case to the lowerCamelCase of responses."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def snake_keys(value: Any) -> Any:
    """Requests accept camelCase and snake_case alike: handlers read snake_case only."""
    if isinstance(value, dict):
        return {snake(str(k)): snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def now() -> datetime:
    return datetime.now(UTC)


def ts(moment: datetime | None = None) -> str:
    """RFC 3339, UTC, millisecond precision, as the exchange's examples show."""
    moment = moment or now()
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_ts(value: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid(f"{field}: not an RFC 3339 timestamp") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def business_date(moment: datetime | None = None) -> date:
    """The trade date rolls at 17:00 America/New_York (API.md 8 #25)."""
    local = (moment or now()).astimezone(NEW_YORK)
    if local.hour >= 17:
        local = local + timedelta(days=1)
    return local.date()


def trade_date_end(day: date) -> datetime:
    """The moment trade date `day` ends (17:00 America/New_York that day); it began at the end of
    the day before."""
    return datetime(day.year, day.month, day.day, 17, tzinfo=NEW_YORK).astimezone(UTC)


def v1_date(day: date) -> dict[str, int]:
    return {"year": day.year, "month": day.month, "day": day.day}


def parse_v1_date(value: Any, field: str) -> date:
    """A `v1Date` ({year, month, day}, numbers or decimal strings) as a date."""
    if not isinstance(value, dict):
        raise invalid(f"{field}: a date {{year, month, day}} is required")
    parts = [
        int64(value.get(name), f"{field}.{name}", default=None) for name in ("year", "month", "day")
    ]
    try:
        return date(*parts)
    except ValueError as exc:
        raise invalid(f"{field}: not a valid date") from exc


def exchange_id() -> str:
    """Order, execution and trade ids: 12 upper-case alphanumerics (API.md 8 #16)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


_CROCKFORD_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]


def ulid() -> str:
    """A ULID-like id: 48-bit millisecond time then 80 random bits, Crockford base32."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    # 26 characters of 5 bits, most significant first; the lower 24 are made two at a time.
    pairs = []
    for _ in range(12):
        value, pair = divmod(value, 1024)
        pairs.append(_CROCKFORD_PAIRS[pair])
    value, last = divmod(value, 32)
    return _CROCKFORD[value % 32] + _CROCKFORD[last] + "".join(reversed(pairs))


def workflow_id() -> str:
    return str(uuid.uuid4())


def int64(value: Any, field: str, *, default: int | None = 0) -> int:
    """proto3 JSON int64: a number or a decimal string."""
    if value is None or value == "":
        if default is None:
            raise invalid(f"{field} is required")
        return default
    if isinstance(value, bool):
        raise invalid(f"{field}: not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value.strip())
    raise invalid(f"{field}: not an integer")


def boolean(value: Any, field: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "1", "0"}:
        return value.lower() in {"true", "1"}
    raise invalid(f"{field}: not a boolean")


def text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(f"{field}: must be a string")
    return value


def money(value: Any, field: str, *, places: int = 2) -> Decimal:
    """An exact decimal string (numbers are accepted too, but never floats with binary noise)."""
    if isinstance(value, bool) or value is None or value == "":
        raise invalid(f"{field} is required")
    raw = str(value).strip()
    if not re.fullmatch(r"-?\d+(\.\d+)?", raw):
        raise invalid(f"{field}: not a decimal amount")
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:
        raise invalid(f"{field}: not a decimal amount") from exc
    if -amount.as_tuple().exponent > places:  # type: ignore[operator]
        raise invalid(f"{field}: at most {places} decimal places")
    return amount


def fmt_money(amount: Decimal) -> str:
    """Decimal strings as the exchange shows them: two places, more only when needed."""
    if amount == amount.quantize(Decimal("0.01")):
        return f"{amount:.2f}"
    return format(amount.normalize(), "f")


def enum_out(value: str, zero: str, emit_zero: bool) -> str | None:
    """proto3 JSON omits a zero-valued enum; callers drop None values."""
    if value == zero and not emit_zero:
        return None
    return value


def drop_none(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def page_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"o": offset}, separators=(",", ":")).encode()).decode()


def page_offset(token: Any) -> int:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.b64decode(str(token), validate=True))
        offset = int(decoded["o"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise invalid("invalid page token") from exc
    if offset < 0:
        raise invalid("invalid page token")
    return offset


def page_size(value: Any, *, default: int, maximum: int) -> int:
    size = int64(value, "pageSize", default=0)
    if size < 0 or size > maximum:
        raise invalid(f"pageSize must be between 1 and {maximum}")
    return size or default


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))
