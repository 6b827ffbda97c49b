"""Reading the exchange's JSON tolerantly and exactly (API.md 4.3, 4.5, Appendix B).

Field names are looked up in lowerCamelCase and then snake_case; int64 values may be strings or
numbers; money is a decimal string read as Decimal; timestamps are RFC 3339 (nanoseconds allowed)
read as aware datetimes; dates are `{year, month, day}` objects or "YYYY-MM-DD". Anything of the
wrong type raises MalformedResponse (a transient error: the answer could not be read).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from backoffice.gateway.errors import MalformedResponse

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def snake(name: str) -> str:
    return _CAMEL.sub("_", name).lower()


class Fields:
    """One JSON object of an answer."""

    def __init__(self, data: Any, where: str) -> None:
        if not isinstance(data, dict):
            raise MalformedResponse(f"{where}: expected an object, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.where = where

    def _bad(self, name: str, value: Any, expected: str) -> MalformedResponse:
        return MalformedResponse(
            f"{self.where}.{name}: expected {expected}, got {type(value).__name__}"
        )

    def has(self, name: str) -> bool:
        return self.raw(name) is not None

    def raw(self, name: str) -> Any:
        if name in self.data:
            return self.data[name]
        return self.data.get(snake(name))

    def text(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._bad(name, value, "a string")
        return value

    def integer(self, name: str, default: int = 0) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise self._bad(name, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            return int(value)
        raise self._bad(name, value, "an integer")

    def opt_integer(self, name: str) -> int | None:
        return self.integer(name) if self.has(name) and self.raw(name) != "" else None

    def decimal(self, name: str, default: Decimal | None = None) -> Decimal:
        value = self.raw(name)
        if value is None or value == "":
            return Decimal(0) if default is None else default
        return to_decimal(value, f"{self.where}.{name}")

    def opt_decimal(self, name: str) -> Decimal | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        return to_decimal(value, f"{self.where}.{name}")

    def flag(self, name: str) -> bool:
        value = self.raw(name)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(name, value, "a boolean")
        return value

    def timestamp(self, name: str) -> dt.datetime | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._bad(name, value, "an RFC 3339 timestamp")
        return to_datetime(value, f"{self.where}.{name}")

    def day(self, name: str) -> dt.date | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        return to_date(value, f"{self.where}.{name}")

    def obj(self, name: str) -> Fields | None:
        value = self.raw(name)
        if value is None:
            return None
        return Fields(value, f"{self.where}.{name}")

    def array(self, name: str) -> list[Any]:
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(name, value, "a list")
        return value

    def strings(self, name: str) -> list[str]:
        values = self.array(name)
        if not all(isinstance(value, str) for value in values):
            raise MalformedResponse(f"{self.where}.{name}: expected a list of strings")
        return values

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.raw(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._bad(name, value, "an object")
        return value


def to_decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise MalformedResponse(f"{where}: expected a decimal, got a boolean")
    if isinstance(value, float):
        value = repr(value)  # the shortest text that round-trips: 0.01, not 0.01000000000000000021
    if not isinstance(value, (str, int)):
        raise MalformedResponse(f"{where}: expected a decimal, got {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise MalformedResponse(f"{where}: {value!r} is not a decimal") from None
    if not number.is_finite():
        raise MalformedResponse(f"{where}: {value!r} is not a finite decimal")
    return number


def to_datetime(value: str, where: str) -> dt.datetime:
    text = _FRACTION.sub(r"\1", value.strip())  # Python keeps microseconds; nanoseconds are cut
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise MalformedResponse(f"{where}: {value!r} is not an RFC 3339 timestamp") from None
    if moment.tzinfo is None:
        raise MalformedResponse(f"{where}: {value!r} has no time zone")
    return moment


def to_date(value: Any, where: str) -> dt.date | None:
    try:
        if isinstance(value, str):
            return dt.date.fromisoformat(value)
        if isinstance(value, dict):
            year, month, day = (int(value.get(part) or 0) for part in ("year", "month", "day"))
            if year == month == day == 0:
                return None  # proto's empty Date
            return dt.date(year, month, day)
    except (TypeError, ValueError):
        pass
    raise MalformedResponse(f"{where}: {value!r} is not a date")
