"""Drop Copy messages built with the contract's protobuf classes, as the exchange sends them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from backoffice.gateway import results as r
from backoffice.gateway.scales import Scales
from backoffice.gateway.streams import execution_from_proto, to_timestamp, trade_from_proto
from polymarket.v1 import order_pb2, report_pb2

SYMBOL = "aec-nfl-ne-den-2026-01-25"
ACCOUNT = "firms/ISV-Acme/accounts/0001"
T0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)


def no_lookup(symbol: str) -> Scales:
    raise AssertionError(f"the order carries its scales; no lookup of {symbol}")


def order(order_id: str, **fields: Any) -> order_pb2.Order:
    values: dict[str, Any] = {
        "id": order_id,
        "clord_id": f"c-{order_id}",
        "symbol": SYMBOL,
        "account": ACCOUNT,
        "side": order_pb2.SIDE_BUY,
        "type": order_pb2.ORDER_TYPE_LIMIT,
        "time_in_force": order_pb2.TIME_IN_FORCE_GOOD_TILL_CANCEL,
        "price": 45,
        "order_qty": 10000,
        "leaves_qty": 10000,
        "price_scale": 100,
        "fractional_quantity_scale": 100,
    }
    values.update(fields)
    message = order_pb2.Order(**values)
    message.insert_time.CopyFrom(to_timestamp(T0))
    return message


def execution(
    exec_id: str, order_message: order_pb2.Order, *, seconds: int = 0, **fields: Any
) -> r.Execution:
    message = report_pb2.Execution(id=exec_id, **fields)
    message.order.CopyFrom(order_message)
    message.order.last_transact_time.CopyFrom(to_timestamp(T0 + dt.timedelta(seconds=seconds)))
    message.transact_time.CopyFrom(to_timestamp(T0 + dt.timedelta(seconds=seconds)))
    return execution_from_proto(message, no_lookup)


def fill_pair(order_id: str, trade_id: str, qty: int, *, seconds: int) -> list[r.Execution]:
    """NEW then FILL of a buy of `qty` raw units at 45 (scales 100/100)."""
    new = execution(f"{order_id}-n", order(order_id), seconds=seconds)
    filled = order(order_id, cum_qty=qty, leaves_qty=0, order_qty=qty, avg_px=45)
    filled.state = order_pb2.ORDER_STATE_FILLED
    fill = execution(
        f"{order_id}-f",
        filled,
        seconds=seconds,
        type=report_pb2.EXECUTION_TYPE_FILL,
        last_shares=qty,
        last_px=45,
        trade_id=trade_id,
        aggressor=True,
        commission_notional_collected=100,
    )
    return [new, fill]


def trade(trade_id: str, aggressor: r.Execution | None, state: Any) -> r.Trade:
    message = report_pb2.Trade(id=trade_id, state=state, trade_type=report_pb2.TRADE_TYPE_REGULAR)
    if aggressor is not None:
        leg = report_pb2.Execution(
            id=aggressor.id,
            last_shares=int(aggressor.last_shares * 100),
            last_px=int((aggressor.last_px or 0) * 100),
        )
        leg.order.CopyFrom(order("x", account=ACCOUNT))
        leg.transact_time.CopyFrom(to_timestamp(T0))
        message.aggressor.CopyFrom(leg)
    return trade_from_proto(message, no_lookup)
