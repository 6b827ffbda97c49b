"""An `InsertOrderRequest` (API.md 5.5.2) read into an `OrderRequest`, refusing bad fields by name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox import wire
from sandbox.engine.enums import OrderType, Side, TimeInForce
from sandbox.errors import invalid

CLORD_RE = re.compile(r"^[\x21-\x7e]{1,64}$")


@dataclass
class OrderRequest:
    type: OrderType
    side: Side
    symbol: str
    price: int | None
    order_qty: int | None
    cash_order_qty: int | None
    time_in_force: TimeInForce
    clord_id: str
    account: str
    good_till_time: str
    manual_order_indicator: str


def parse_enum(cls: Any, value: Any, field: str, default: Any) -> Any:
    """An enum given by full name, short name or number; absent means `default`."""
    if value in (None, "", 0):
        return default
    try:
        return cls.from_wire(value)
    except (KeyError, ValueError) as exc:
        raise invalid(f"{field}: unknown value {value!r}") from exc


def parse_good_till(tif: TimeInForce, value: Any) -> str:
    """`goodTillTime` as stored: required with GOOD_TILL_TIME, ignored otherwise."""
    gtt = wire.text(value, "goodTillTime")
    if tif is not TimeInForce.GOOD_TILL_TIME:
        return ""
    if not gtt:
        raise invalid("goodTillTime is required for TIME_IN_FORCE_GOOD_TILL_TIME")
    return wire.ts(wire.parse_ts(gtt, "goodTillTime"))


def parse_clord(value: Any) -> str:
    clord_id = wire.text(value, "clordId").strip()
    if clord_id and not CLORD_RE.match(clord_id):
        raise invalid("clordId: 1-64 visible ASCII characters")
    return clord_id


def parse_order(body: dict[str, Any]) -> OrderRequest:
    symbol = wire.text(body.get("symbol"), "symbol").strip()
    if not symbol:
        raise invalid("symbol is required")
    side = parse_enum(Side, body.get("side"), "side", None)
    if side is None:
        raise invalid("side is required")
    order_qty = wire.int64(body.get("order_qty"), "orderQty", default=0)
    cash_qty = wire.int64(body.get("cash_order_qty"), "cashOrderQty", default=0)
    if bool(order_qty) == bool(cash_qty):
        raise invalid("exactly one of orderQty and cashOrderQty must be set")
    if order_qty < 0 or cash_qty < 0:
        raise invalid("invalid order quantity")
    price = wire.int64(body.get("price"), "price", default=0)
    clord_id = parse_clord(body.get("clord_id"))
    tif = parse_enum(TimeInForce, body.get("time_in_force"), "timeInForce", TimeInForce.DAY)
    return OrderRequest(
        type=parse_enum(OrderType, body.get("type"), "type", OrderType.LIMIT),
        side=side,
        symbol=symbol,
        price=price or None,
        order_qty=order_qty or None,
        cash_order_qty=cash_qty or None,
        time_in_force=tif,
        clord_id=clord_id or wire.exchange_id(),
        account=wire.text(body.get("account"), "account").strip(),
        good_till_time=parse_good_till(tif, body.get("good_till_time")),
        manual_order_indicator=wire.text(
            body.get("manual_order_indicator"), "manualOrderIndicator"
        ),
    )
