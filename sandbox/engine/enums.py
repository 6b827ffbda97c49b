"""The order enums the engine speaks, numbered as in the proto reference (API.md 5.5.4).

Members are named after the proto value without its prefix; `.wire` gives the full proto3 JSON name
the API shows (``Side.BUY.wire == "SIDE_BUY"``).
"""

from __future__ import annotations

import re
from enum import Enum, IntEnum
from typing import Self


def _prefix(cls: type) -> str:
    """`TimeInForce` -> `TIME_IN_FORCE_`: the proto enum value prefix is the type name in caps."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).upper() + "_"


class _Wire(IntEnum):
    """An IntEnum whose `.wire` is the proto3 JSON name: the type's prefix plus the member name."""

    @property
    def wire(self) -> str:
        return _prefix(type(self)) + self.name

    @classmethod
    def from_wire(cls, value: str | int) -> Self:
        """Accept the full proto name, the short name or the number."""
        if isinstance(value, int):
            return cls(value)
        return cls[value.removeprefix(_prefix(cls))]


class Side(_Wire):
    BUY = 1
    SELL = 2

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign of the YES-terms position change."""
        return 1 if self is Side.BUY else -1


class OrderType(_Wire):
    MARKET_TO_LIMIT = 1
    LIMIT = 2
    STOP = 3
    STOP_LIMIT = 4


class TimeInForce(_Wire):
    DAY = 1
    GOOD_TILL_CANCEL = 2
    IMMEDIATE_OR_CANCEL = 3
    GOOD_TILL_TIME = 4
    FILL_OR_KILL = 5


class OrderState(_Wire):
    NEW = 0
    PARTIALLY_FILLED = 1
    FILLED = 2
    CANCELED = 3
    REPLACED = 4
    REJECTED = 5
    EXPIRED = 6
    PENDING_NEW = 7
    PENDING_REPLACE = 8
    PENDING_CANCEL = 9
    PENDING_RISK = 10


class ExecutionType(_Wire):
    NEW = 0
    PARTIAL_FILL = 1
    FILL = 2
    CANCELED = 3
    REPLACE = 4
    REJECTED = 5
    EXPIRED = 6
    DONE_FOR_DAY = 7


class OrdRejectReason(_Wire):
    EXCHANGE_OPTION = 0
    UNKNOWN_SYMBOL = 1
    EXCHANGE_CLOSED = 2
    INCORRECT_QUANTITY = 3
    INVALID_PRICE_INCREMENT = 4
    INCORRECT_ORDER_TYPE = 5
    PRICE_OUT_OF_BOUNDS = 6
    NO_LIQUIDITY = 7


class Liquidity(Enum):
    """Which side of a fill an order was on: the resting order is the maker, the incoming the taker."""

    MAKER = "maker"
    TAKER = "taker"
