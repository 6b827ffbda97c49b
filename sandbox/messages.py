"""The Order, Execution and Trade messages (API.md 5.5.3, 5.6) in proto3 JSON, from store rows."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from sandbox import wire
from sandbox.engine.fixedpoint import round_half_even_div

Row = dict[str, Any] | sqlite3.Row


def order_json(o: Row, emit_zero: bool = False) -> dict[str, Any]:
    fills = json.loads(o["fills"]) if o["fills"] else {}
    cum = int(o["cum_qty"])
    data: dict[str, Any] = {
        "id": o["id"],
        "type": "ORDER_TYPE_" + o["type"],
        "side": "SIDE_" + o["side"],
        "orderQty": str(o["order_qty"]),
        "symbol": o["symbol"],
        "clordId": o["clord_id"],
        "timeInForce": "TIME_IN_FORCE_" + o["time_in_force"],
        "account": o["account"],
        "cumQty": str(cum),
        "avgPx": str(round_half_even_div(int(o["notional"]), cum) if cum else 0),
        "leavesQty": str(o["leaves_qty"]),
        "state": wire.enum_out("ORDER_STATE_" + o["state"], "ORDER_STATE_NEW", emit_zero),
        "participant": o["participant"],
        "price": str(o["price"]),
        "insertTime": o["insert_time"],
        "createTime": o["insert_time"],
        "lastTransactTime": o["last_transact_time"],
        "commissionNotionalTotalCollected": str(o["commission_total"]),
        "priceScale": str(o["price_scale"]),
        "fractionalQuantityScale": str(o["frac_scale"]),
        "priceToQuantityFilled": {str(k): str(v) for k, v in fills.items()},
    }
    if o["cash_order_qty"]:
        data["cashOrderQty"] = str(o["cash_order_qty"])
    if o["good_till_time"]:
        data["goodTillTime"] = o["good_till_time"]
    if o["last_trade_id"]:
        data["lastTradeId"] = o["last_trade_id"]
    if o["manual_order_indicator"]:
        data["manualOrderIndicator"] = o["manual_order_indicator"]
    if o["cross_id"]:
        data["crossId"] = o["cross_id"]
    return wire.drop_none(data)


def execution_json(row: sqlite3.Row, emit_zero: bool = False) -> dict[str, Any]:
    day = row["trade_date"]
    data: dict[str, Any] = {
        "id": row["id"],
        "order": json.loads(row["order_json"]),
        "lastShares": str(row["last_shares"]),
        "lastPx": str(row["last_px"]),
        "type": wire.enum_out("EXECUTION_TYPE_" + row["type"], "EXECUTION_TYPE_NEW", emit_zero),
        "text": row["text"],
        "transactTime": row["transact_time"],
        "tradeId": row["trade_id"],
        "aggressor": bool(row["aggressor"]),
        "commissionNotionalCollected": str(row["commission"]),
        "transactTradeDate": {
            "year": int(day[0:4]),
            "month": int(day[5:7]),
            "day": int(day[8:10]),
        },
    }
    if row["reject_reason"]:
        data["orderRejectReason"] = wire.enum_out(
            "ORD_REJECT_REASON_" + row["reject_reason"],
            "ORD_REJECT_REASON_EXCHANGE_OPTION",
            emit_zero,
        )
    return wire.drop_none(data)


def _execution(db: sqlite3.Connection, exec_id: str, emit: bool) -> dict[str, Any]:
    row = db.execute("SELECT * FROM executions WHERE id = ?", (exec_id,)).fetchone()
    return execution_json(row, emit) if row is not None else {}


def trade_json(db: sqlite3.Connection, row: sqlite3.Row, emit: bool) -> dict[str, Any]:
    return {
        "id": row["id"],
        "aggressor": _execution(db, row["aggressor_exec"], emit),
        "passive": _execution(db, row["passive_exec"], emit),
        "tradeType": "TRADE_TYPE_" + row["trade_type"],
        "state": "TRADE_STATE_" + row["state"],
        "text": "",
        "tradeLinkId": "",
        "metadata": {},
    }
