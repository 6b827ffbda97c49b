"""Report downloads (API.md 5.6): orders, executions and trades of many accounts as CSV files.

`POST /v1/report/{orders,executions,trades}/csv` with `{startTime, endTime, accounts[]}`, streamed
as `{"result": {"filechunk": ...}}` messages (sandbox.downloads). With x-participant-id the file
covers that participant's accounts, as the searches do; without it (the sandbox's choice, so that
one call serves a firm with thousands of participants) it covers the firm's participant accounts,
or the `accounts` asked for, each of which must be the firm's.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from werkzeug.wrappers import Response

from sandbox import downloads, wire
from sandbox.messages import order_json
from sandbox.reports import report_accounts, report_route, time_filter
from sandbox.routing import PID_OPTIONAL, Ctx

ORDER_COLUMNS = (
    "id",
    "clord_id",
    "account",
    "participant",
    "symbol",
    "side",
    "type",
    "time_in_force",
    "state",
    "price",
    "order_qty",
    "cash_order_qty",
    "cum_qty",
    "leaves_qty",
    "avg_px",
    "commission_notional_total_collected",
    "price_scale",
    "fractional_quantity_scale",
    "insert_time",
    "last_transact_time",
    "good_till_time",
    "cross_id",
    "last_trade_id",
)
EXECUTION_COLUMNS = (
    "id",
    "order_id",
    "clord_id",
    "account",
    "symbol",
    "side",
    "type",
    "last_shares",
    "last_px",
    "trade_id",
    "aggressor",
    "commission_notional_collected",
    "order_reject_reason",
    "text",
    "transact_time",
    "transact_trade_date",
    "order_state",
    "cum_qty",
    "leaves_qty",
)
TRADE_COLUMNS = (
    "id",
    "symbol",
    "state",
    "trade_type",
    "price",
    "qty",
    "create_time",
    "aggressor_exec_id",
    "aggressor_order_id",
    "aggressor_account",
    "aggressor_side",
    "passive_exec_id",
    "passive_order_id",
    "passive_account",
)


# A trade with the order of each side (the side of the aggressor's gives the trade's direction).
TRADES = (
    "SELECT trades.*, a.order_id AS aggressor_order, o.side AS aggressor_side, "
    "p.order_id AS passive_order FROM trades "
    "JOIN executions a ON a.id = trades.aggressor_exec "
    "JOIN orders o ON o.id = a.order_id "
    "JOIN executions p ON p.id = trades.passive_exec "
    "WHERE (trades.aggressor_account IN (SELECT value FROM json_each(?)) "
    "OR trades.passive_account IN (SELECT value FROM json_each(?)))"
)


def _select(ctx: Ctx, table: str, time_column: str) -> tuple[str, list[Any]]:
    """The table's rows of the report's accounts within its time window."""
    body = ctx.body()
    accounts = json.dumps(report_accounts(ctx, body))
    time_sql, time_params = time_filter(body, time_column)
    # Only fixed names are formatted into the SQL; every value is a bound parameter.
    select = f"SELECT * FROM {table} WHERE account IN (SELECT value FROM json_each(?)){time_sql}"  # noqa: S608
    return select, [accounts, *time_params]


def _order_row(row: sqlite3.Row) -> Sequence[object]:
    data = order_json(row, emit_zero=True)
    return [data.get(wire.camel(column), "") for column in ORDER_COLUMNS]


def download_orders(ctx: Ctx) -> Response:
    select, params = _select(ctx, "orders", "insert_time")
    rows = downloads.pages(ctx.db, "orders", select, params, _order_row)
    return downloads.csv_response(downloads.TEXT, ORDER_COLUMNS, rows)


def _execution_row(row: sqlite3.Row) -> Sequence[object]:
    order = json.loads(row["order_json"])
    return [
        row["id"],
        row["order_id"],
        order["clordId"],
        row["account"],
        row["symbol"],
        order["side"],
        "EXECUTION_TYPE_" + row["type"],
        row["last_shares"],
        row["last_px"],
        row["trade_id"],
        "true" if row["aggressor"] else "false",
        row["commission"],
        "ORD_REJECT_REASON_" + row["reject_reason"] if row["reject_reason"] else "",
        row["text"],
        row["transact_time"],
        row["trade_date"],
        order.get("state", "ORDER_STATE_NEW"),
        order["cumQty"],
        order["leavesQty"],
    ]


def download_executions(ctx: Ctx) -> Response:
    select, params = _select(ctx, "executions", "transact_time")
    rows = downloads.pages(ctx.db, "executions", select, params, _execution_row)
    return downloads.csv_response(downloads.TEXT, EXECUTION_COLUMNS, rows)


def _trade_row(row: sqlite3.Row) -> Sequence[object]:
    return [
        row["id"],
        row["symbol"],
        "TRADE_STATE_" + row["state"],
        "TRADE_TYPE_" + row["trade_type"],
        row["price"],
        row["qty"],
        row["created_at"],
        row["aggressor_exec"],
        row["aggressor_order"],
        row["aggressor_account"],
        "SIDE_" + row["aggressor_side"],
        row["passive_exec"],
        row["passive_order"],
        row["passive_account"],
    ]


def download_trades(ctx: Ctx) -> Response:
    body = ctx.body()
    accounts = json.dumps(report_accounts(ctx, body))
    time_sql, time_params = time_filter(body, "trades.created_at")
    select = TRADES + time_sql  # time_sql: fixed names and placeholders
    rows = downloads.pages(ctx.db, "trades", select, [accounts, accounts, *time_params], _trade_row)
    return downloads.csv_response(downloads.TEXT, TRADE_COLUMNS, rows)


ROUTES = [
    report_route("/v1/report/orders/csv", download_orders, pid=PID_OPTIONAL),
    report_route("/v1/report/executions/csv", download_executions, pid=PID_OPTIONAL),
    report_route("/v1/report/trades/csv", download_trades, pid=PID_OPTIONAL),
]
