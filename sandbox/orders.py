"""Order entry and the book (API.md 5.5): generic REST orders, cancels, open orders, vendor orders.

The maths (matching, fees, positions, cash per fill) is `sandbox.engine`'s; this module loads the
book from the database, asks the engine what happens, and writes every consequence in the same
transaction: orders, executions, trades, positions and their ledger, and the balance ledger
(`ORDER_EXECUTION` for the cash of a fill, `COMMISSION` for its fee), so they always agree.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox import firms, ledger, risk, wire
from sandbox.engine.enums import (
    ExecutionType,
    Liquidity,
    OrderState,
    OrderType,
    OrdRejectReason,
    Side,
    TimeInForce,
)
from sandbox.engine.fees import FeeTally, OrderFees, charge_fill
from sandbox.engine.fixedpoint import InstrumentSpec, round_half_even_div
from sandbox.engine.matching import IncomingOrder, MatchResult, RestingOrder, match_order
from sandbox.engine.positions import Position, apply_fill, fill_cash_delta
from sandbox.errors import ApiError, Code, invalid, not_found
from sandbox.routing import PID_REQUIRED, Ctx, Route

if TYPE_CHECKING:
    from sandbox.app import Sandbox

CLORD_RE = re.compile(r"^[\x21-\x7e]{1,64}$")
LIVE = ("NEW", "PARTIALLY_FILLED")
HOUSE_LEVELS = (5, 6, 7)  # cents away from 50 on each side
HOUSE_CONTRACTS = 100_000


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


def _enum(cls: Any, value: Any, field: str, default: Any) -> Any:
    if value in (None, "", 0):
        return default
    try:
        return cls.from_wire(value)
    except (KeyError, ValueError) as exc:
        raise invalid(f"{field}: unknown value {value!r}") from exc


def parse_order(body: dict[str, Any]) -> OrderRequest:
    symbol = wire.text(body.get("symbol"), "symbol").strip()
    if not symbol:
        raise invalid("symbol is required")
    side = _enum(Side, body.get("side"), "side", None)
    if side is None:
        raise invalid("side is required")
    order_qty = wire.int64(body.get("order_qty"), "orderQty", default=0)
    cash_qty = wire.int64(body.get("cash_order_qty"), "cashOrderQty", default=0)
    if bool(order_qty) == bool(cash_qty):
        raise invalid("exactly one of orderQty and cashOrderQty must be set")
    if order_qty < 0 or cash_qty < 0:
        raise invalid("invalid order quantity")
    price = wire.int64(body.get("price"), "price", default=0)
    clord_id = wire.text(body.get("clord_id"), "clordId").strip()
    if clord_id and not CLORD_RE.match(clord_id):
        raise invalid("clordId: 1-64 visible ASCII characters")
    tif = _enum(TimeInForce, body.get("time_in_force"), "timeInForce", TimeInForce.DAY)
    gtt = wire.text(body.get("good_till_time"), "goodTillTime")
    if tif is TimeInForce.GOOD_TILL_TIME:
        if not gtt:
            raise invalid("goodTillTime is required for TIME_IN_FORCE_GOOD_TILL_TIME")
        gtt = wire.ts(wire.parse_ts(gtt, "goodTillTime"))
    return OrderRequest(
        type=_enum(OrderType, body.get("type"), "type", OrderType.LIMIT),
        side=side,
        symbol=symbol,
        price=price or None,
        order_qty=order_qty or None,
        cash_order_qty=cash_qty or None,
        time_in_force=tif,
        clord_id=clord_id or wire.exchange_id(),
        account=wire.text(body.get("account"), "account").strip(),
        good_till_time=gtt if tif is TimeInForce.GOOD_TILL_TIME else "",
        manual_order_indicator=wire.text(
            body.get("manual_order_indicator"), "manualOrderIndicator"
        ),
    )


# ---- JSON ----


def order_json(o: dict[str, Any] | sqlite3.Row, emit_zero: bool = False) -> dict[str, Any]:
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


# ---- persistence helpers ----


def _load(db: sqlite3.Connection, order_id: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    return dict(row)


def _save(db: sqlite3.Connection, o: dict[str, Any]) -> None:
    db.execute(
        "UPDATE orders SET order_qty = ?, cum_qty = ?, leaves_qty = ?, notional = ?, state = ?, "
        "price = ?, commission_total = ?, fee_state = ?, fills = ?, last_trade_id = ?, "
        "last_transact_time = ? WHERE id = ?",
        (
            o["order_qty"],
            o["cum_qty"],
            o["leaves_qty"],
            o["notional"],
            o["state"],
            o["price"],
            o["commission_total"],
            o["fee_state"],
            o["fills"],
            o["last_trade_id"],
            o["last_transact_time"],
            o["id"],
        ),
    )


def _execution(
    db: sqlite3.Connection,
    o: dict[str, Any],
    exec_type: ExecutionType,
    stamp: str,
    *,
    last_shares: int = 0,
    last_px: int = 0,
    trade_id: str = "",
    aggressor: bool = False,
    commission: int = 0,
    text: str = "",
    reject_reason: OrdRejectReason | None = None,
) -> str:
    exec_id = wire.exchange_id()
    db.execute(
        "INSERT INTO executions (id, order_id, account, symbol, type, last_shares, last_px, "
        "trade_id, aggressor, commission, text, reject_reason, transact_time, trade_date, "
        "order_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            exec_id,
            o["id"],
            o["account"],
            o["symbol"],
            exec_type.name,
            last_shares,
            last_px,
            trade_id,
            int(aggressor),
            commission,
            text,
            reject_reason.name if reject_reason is not None else "",
            stamp,
            wire.business_date().isoformat(),
            json.dumps(order_json(o)),
        ),
    )
    return exec_id


def _fees(o: dict[str, Any]) -> OrderFees:
    state = json.loads(o["fee_state"] or "{}")
    return OrderFees(
        taker=FeeTally(Decimal(state.get("te", "0")), Decimal(state.get("tc", "0"))),
        maker=FeeTally(Decimal(state.get("me", "0")), Decimal(state.get("mc", "0"))),
    )


def _store_fees(o: dict[str, Any], fees: OrderFees) -> None:
    o["fee_state"] = json.dumps(
        {
            "te": str(fees.taker.exact),
            "tc": str(fees.taker.charged),
            "me": str(fees.maker.exact),
            "mc": str(fees.maker.charged),
        }
    )


def _position(db: sqlite3.Connection, account: str, symbol: str) -> Position:
    row = db.execute(
        "SELECT * FROM positions WHERE account = ? AND symbol = ?", (account, symbol)
    ).fetchone()
    if row is None:
        return Position(account=account, symbol=symbol)
    return Position(
        account=account,
        symbol=symbol,
        net_position=row["net_position"],
        qty_bought=row["qty_bought"],
        qty_sold=row["qty_sold"],
        cost=row["cost"],
        realized=row["realized"],
        expired=bool(row["expired"]),
    )


def write_position(
    db: sqlite3.Connection,
    before: Position,
    after: Position,
    description: str,
    stamp: str,
    ref: str = "",
) -> None:
    db.execute(
        "INSERT INTO positions (account, symbol, net_position, qty_bought, qty_sold, cost, realized, "
        "expired, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, symbol) DO "
        "UPDATE SET net_position = excluded.net_position, qty_bought = excluded.qty_bought, "
        "qty_sold = excluded.qty_sold, cost = excluded.cost, realized = excluded.realized, "
        "expired = excluded.expired, update_time = excluded.update_time",
        (
            after.account,
            after.symbol,
            after.net_position,
            after.qty_bought,
            after.qty_sold,
            after.cost,
            after.realized,
            int(after.expired),
            stamp,
        ),
    )
    db.execute(
        "INSERT INTO position_ledger (id, account, symbol, quantity_change, cost_change, "
        "realized_change, net_position, cost, realized, update_time, business_date, description, ref) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            "pl_" + wire.ulid(),
            after.account,
            after.symbol,
            after.net_position - before.net_position,
            after.cost - before.cost,
            after.realized - before.realized,
            after.net_position,
            after.cost,
            after.realized,
            stamp,
            wire.business_date().isoformat(),
            description,
            ref,
        ),
    )


def _book(db: sqlite3.Connection, symbol: str) -> list[RestingOrder]:
    rows = db.execute(
        "SELECT seq, id, account, side, price, leaves_qty, time_in_force FROM orders "
        "WHERE symbol = ? AND state IN ('NEW', 'PARTIALLY_FILLED') AND leaves_qty > 0",
        (symbol,),
    ).fetchall()
    return [
        RestingOrder(
            order_id=r["id"],
            account=r["account"],
            side=Side.from_wire(r["side"]),
            price=r["price"],
            leaves_qty=r["leaves_qty"],
            priority=r["seq"],
            time_in_force=TimeInForce.from_wire(r["time_in_force"]),
        )
        for r in rows
    ]


def _new_order(
    db: sqlite3.Connection,
    req: OrderRequest,
    *,
    order_id: str,
    firm_id: str,
    participant: str,
    spec: InstrumentSpec | None,
    stamp: str,
    is_house: bool = False,
    vendor_fee: str = "",
) -> dict[str, Any]:
    o: dict[str, Any] = {
        "id": order_id,
        "firm_id": firm_id,
        "account": req.account,
        "participant": participant,
        "symbol": req.symbol,
        "clord_id": req.clord_id,
        "side": req.side.name,
        "type": req.type.name,
        "time_in_force": req.time_in_force.name,
        "price": req.price or 0,
        "order_qty": req.order_qty or 0,
        "cash_order_qty": req.cash_order_qty or 0,
        "cum_qty": 0,
        "leaves_qty": req.order_qty or 0,
        "notional": 0,
        "state": "PENDING_NEW",
        "good_till_time": req.good_till_time,
        "manual_order_indicator": req.manual_order_indicator,
        "commission_total": 0,
        "fee_state": "{}",
        "vendor_fee": vendor_fee,
        "price_scale": spec.price_scale if spec else 100,
        "frac_scale": spec.fractional_qty_scale if spec else 1,
        "fills": "{}",
        "last_trade_id": "",
        "is_house": int(is_house),
        "insert_time": stamp,
        "last_transact_time": stamp,
    }
    columns = ", ".join(o)
    db.execute(
        f"INSERT INTO orders ({columns}) VALUES ({', '.join('?' * len(o))})",  # noqa: S608 - fixed keys
        list(o.values()),
    )
    return o


def _reject(
    db: sqlite3.Connection, o: dict[str, Any], reason: OrdRejectReason, text: str, stamp: str
) -> None:
    o.update(state="REJECTED", leaves_qty=0, last_transact_time=stamp)
    _save(db, o)
    _execution(db, o, ExecutionType.REJECTED, stamp, reject_reason=reason, text=text)


def submit(
    db: sqlite3.Connection,
    req: OrderRequest,
    *,
    firm_id: str,
    participant: str,
    is_house: bool = False,
    vendor_fee: str = "",
) -> dict[str, Any]:
    """Enter an order and apply whatever the engine says happens; returns the order's final row."""
    stamp = wire.ts()
    order_id = wire.exchange_id()
    instrument = db.execute("SELECT * FROM instruments WHERE symbol = ?", (req.symbol,)).fetchone()
    from sandbox.market import spec as make_spec

    spec = make_spec(instrument) if instrument is not None else None
    o = _new_order(
        db,
        req,
        order_id=order_id,
        firm_id=firm_id,
        participant=participant,
        spec=spec,
        stamp=stamp,
        is_house=is_house,
        vendor_fee=vendor_fee,
    )
    if spec is None or instrument is None:
        _reject(db, o, OrdRejectReason.UNKNOWN_SYMBOL, "unknown symbol", stamp)
        return o
    if instrument["state"] != "OPEN":
        _reject(db, o, OrdRejectReason.EXCHANGE_CLOSED, "instrument is not open", stamp)
        return o
    account = db.execute(
        "SELECT suspended FROM accounts WHERE account = ?", (req.account,)
    ).fetchone()
    if account is not None and account["suspended"]:
        _reject(db, o, OrdRejectReason.EXCHANGE_OPTION, "account is suspended", stamp)
        return o
    incoming = IncomingOrder(
        order_id=order_id,
        account=req.account,
        side=req.side,
        price=req.price,
        order_qty=req.order_qty,
        cash_order_qty=req.cash_order_qty,
        order_type=req.type,
        time_in_force=req.time_in_force,
    )
    result = match_order(spec, _book(db, req.symbol), incoming)
    if result.state is OrderState.REJECTED:
        reason = result.reject_reason or OrdRejectReason.EXCHANGE_OPTION
        _reject(db, o, reason, reason.name.lower().replace("_", " "), stamp)
        return o
    if not is_house and not risk.can_afford(db, req.account, spec, incoming):
        _reject(db, o, OrdRejectReason.EXCHANGE_OPTION, "insufficient buying power", stamp)
        return o
    _apply_result(db, o, spec, result, stamp)
    return o


def _apply_result(
    db: sqlite3.Connection, o: dict[str, Any], spec: InstrumentSpec, result: MatchResult, stamp: str
) -> None:
    o["order_qty"] = result.order_qty or o["order_qty"]
    o.update(state="NEW", leaves_qty=o["order_qty"])
    if result.state is OrderState.EXPIRED:
        o["leaves_qty"] = o["order_qty"]
    _execution(db, o, ExecutionType.NEW, stamp)
    touched: set[str] = set()
    fills_map: dict[str, int] = {}
    fees = _fees(o)
    for fill in result.fills:
        trade_id = wire.exchange_id()
        maker = _load(db, fill.resting_order_id)
        # The taker's side of the fill.
        charge = charge_fill(fees, spec, Liquidity.TAKER, fill.qty, fill.price)
        fees = charge.fees
        fills_map[str(fill.price)] = fills_map.get(str(fill.price), 0) + fill.qty
        o.update(
            cum_qty=fill.taker_cum_qty,
            leaves_qty=fill.taker_leaves_qty,
            notional=o["notional"] + fill.qty * fill.price,
            commission_total=o["commission_total"] + charge.commission_notional,
            fills=json.dumps(fills_map),
            last_trade_id=trade_id,
            last_transact_time=stamp,
            state="FILLED" if fill.taker_leaves_qty == 0 else "PARTIALLY_FILLED",
        )
        _store_fees(o, fees)
        taker_type = (
            ExecutionType.FILL if fill.taker_leaves_qty == 0 else ExecutionType.PARTIAL_FILL
        )
        taker_exec = _execution(
            db,
            o,
            taker_type,
            stamp,
            last_shares=fill.qty,
            last_px=fill.price,
            trade_id=trade_id,
            aggressor=True,
            commission=charge.commission_notional,
        )
        _settle_fill(
            db,
            spec,
            o,
            Side.from_wire(o["side"]),
            fill.qty,
            fill.price,
            charge.fee,
            stamp,
            taker_exec,
        )
        # The maker's side.
        maker_fees = _fees(maker)
        maker_charge = charge_fill(maker_fees, spec, Liquidity.MAKER, fill.qty, fill.price)
        maker_fills = json.loads(maker["fills"] or "{}")
        maker_fills[str(fill.price)] = maker_fills.get(str(fill.price), 0) + fill.qty
        maker.update(
            cum_qty=maker["cum_qty"] + fill.qty,
            leaves_qty=fill.resting_leaves_qty,
            notional=maker["notional"] + fill.qty * fill.price,
            commission_total=maker["commission_total"] + maker_charge.commission_notional,
            fills=json.dumps(maker_fills),
            last_trade_id=trade_id,
            last_transact_time=stamp,
            state="FILLED" if fill.resting_leaves_qty == 0 else "PARTIALLY_FILLED",
        )
        _store_fees(maker, maker_charge.fees)
        _save(db, maker)
        passive_exec = _execution(
            db,
            maker,
            fill.resting_execution_type,
            stamp,
            last_shares=fill.qty,
            last_px=fill.price,
            trade_id=trade_id,
            commission=maker_charge.commission_notional,
        )
        _settle_fill(
            db,
            spec,
            maker,
            fill.resting_side,
            fill.qty,
            fill.price,
            maker_charge.fee,
            stamp,
            passive_exec,
        )
        db.execute(
            "INSERT INTO trades (id, symbol, aggressor_exec, passive_exec, aggressor_account, "
            "passive_account, state, price, qty, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'CLEARED', ?, ?, ?)",
            (
                trade_id,
                spec.symbol,
                taker_exec,
                passive_exec,
                o["account"],
                maker["account"],
                fill.price,
                fill.qty,
                stamp,
            ),
        )
        touched.add(maker["account"])
        if maker["is_house"] and fill.resting_leaves_qty == 0:
            _house_order(db, spec, fill.resting_side, fill.price)
    o["state"] = result.state.name
    o["leaves_qty"] = result.leaves_qty
    o["order_qty"] = result.order_qty or o["order_qty"]
    if result.rests and result.rest_price is not None:
        o["price"] = result.rest_price
    o["last_transact_time"] = stamp
    _save(db, o)
    if result.state is OrderState.CANCELED:
        _execution(db, o, ExecutionType.CANCELED, stamp, text="immediate or cancel remainder")
    elif result.state is OrderState.EXPIRED:
        o["leaves_qty"] = 0
        _save(db, o)
        _execution(db, o, ExecutionType.EXPIRED, stamp, text="fill or kill not filled")
    for account in touched - {firms.HOUSE_ACCOUNT}:
        cancel_unfunded(db, account, stamp)


def _settle_fill(
    db: sqlite3.Connection,
    spec: InstrumentSpec,
    o: dict[str, Any],
    side: Side,
    qty: int,
    price: int,
    fee: Decimal,
    stamp: str,
    exec_id: str,
) -> None:
    """Position, position ledger and balance ledger of one side of one fill (ref = execution)."""
    account = o["account"]
    before = _position(db, account, spec.symbol)
    cash = fill_cash_delta(spec, before.net_position, side, qty, price)
    after, _change = apply_fill(before, side, qty, price)
    write_position(db, before, after, "Trade fill", stamp, exec_id)
    contracts = spec.contracts(qty)
    verb = "Buy" if side is Side.BUY else "Sell"
    ledger.post(
        db,
        account=account,
        amount=cash,
        entry_type="ORDER_EXECUTION",
        description=f"{verb} {contracts.normalize():f} @ {price}",
        symbol=spec.symbol,
        ref=exec_id,
        allow_negative=True,
        moment=stamp,
    )
    if fee != 0:
        ledger.post(
            db,
            account=account,
            amount=-fee,
            entry_type="COMMISSION",
            description="Taker fee" if fee > 0 else "Maker rebate",
            symbol=spec.symbol,
            ref=exec_id,
            allow_negative=True,
            moment=stamp,
        )


def cancel_unfunded(db: sqlite3.Connection, account: str, stamp: str) -> None:
    """After a fill, the exchange cancels resting orders the account can no longer fund."""
    for order_id in risk.unfunded(db, account):
        cancel(db, _load(db, order_id), stamp, text="unfunded after fill", unsolicited=True)


def cancel(
    db: sqlite3.Connection,
    o: dict[str, Any],
    stamp: str,
    *,
    text: str = "",
    unsolicited: bool = False,
    exec_type: ExecutionType = ExecutionType.CANCELED,
) -> None:
    o.update(
        state="CANCELED" if exec_type is ExecutionType.CANCELED else exec_type.name,
        leaves_qty=0,
        last_transact_time=stamp,
    )
    _save(db, o)
    _execution(db, o, exec_type, stamp, text=text or ("unsolicited cancel" if unsolicited else ""))


def _house_order(db: sqlite3.Connection, spec: InstrumentSpec, side: Side, price: int) -> None:
    req = OrderRequest(
        type=OrderType.LIMIT,
        side=side,
        symbol=spec.symbol,
        price=price,
        order_qty=HOUSE_CONTRACTS * spec.fractional_qty_scale,
        cash_order_qty=None,
        time_in_force=TimeInForce.GOOD_TILL_CANCEL,
        clord_id=wire.exchange_id(),
        account=firms.HOUSE_ACCOUNT,
        good_till_time="",
        manual_order_indicator="MANUAL_ORDER_INDICATOR_AUTOMATED",
    )
    submit(db, req, firm_id=firms.HOUSE_FIRM, participant=firms.HOUSE_PARTICIPANT, is_house=True)


def house_quote(db: sqlite3.Connection, symbol: str) -> None:
    """Seed resting house bids below and offers above the middle of the price range."""
    from sandbox.market import instrument_row, spec

    s = spec(instrument_row(db, symbol))
    mid = s.price_scale // 2
    cent = s.price_scale // 100
    for away in HOUSE_LEVELS:
        _house_order(db, s, Side.BUY, mid - away * cent)
        _house_order(db, s, Side.SELL, mid + away * cent)


def expire_due(sandbox: Sandbox) -> int:
    """GTT orders past their time leave the book as EXPIRED."""
    now = wire.ts()
    due = sandbox.store.db.execute(
        "SELECT id FROM orders WHERE time_in_force = 'GOOD_TILL_TIME' AND state IN "
        "('NEW', 'PARTIALLY_FILLED') AND good_till_time != '' AND good_till_time <= ?",
        (now,),
    ).fetchall()
    for row in due:
        with sandbox.store.write() as db:
            o = _load(db, row["id"])
            if o["state"] in LIVE:
                cancel(
                    db, o, wire.ts(), text="good till time reached", exec_type=ExecutionType.EXPIRED
                )
    return len(due)


# ---- REST handlers ----


def _check_clord(db: sqlite3.Connection, participant: str, clord_id: str) -> None:
    clash = db.execute(
        "SELECT 1 FROM orders WHERE participant = ? AND clord_id = ? "
        "AND state IN ('NEW', 'PARTIALLY_FILLED', 'PENDING_NEW')",
        (participant, clord_id),
    ).fetchone()
    if clash:
        raise ApiError(Code.ALREADY_EXISTS, "duplicate clordId among live orders")


def insert_order(ctx: Ctx) -> dict[str, Any]:
    req = parse_order(ctx.body())
    req.account = ctx.own_account(req.account, "account")
    assert ctx.participant is not None
    participant = ctx.participant["participant_id"]
    with ctx.sandbox.store.write() as db:
        _check_clord(db, participant, req.clord_id)
        o = submit(db, req, firm_id=ctx.firm_id, participant=participant)
    return {"orderId": o["id"]}


def cancel_order(ctx: Ctx) -> dict[str, Any]:
    body = ctx.body()
    order_id = wire.text(body.get("order_id"), "orderId").strip()
    clord_id = wire.text(body.get("clord_id"), "clordId").strip()
    symbol = wire.text(body.get("symbol"), "symbol").strip()
    if not order_id and not clord_id:
        raise invalid("orderId or clordId is required")
    accounts = ctx.participant_accounts()
    if not accounts:
        raise not_found("order not found")
    marks = ",".join("?" * len(accounts))
    with ctx.sandbox.store.write() as db:
        if order_id:
            row = db.execute(
                f"SELECT id FROM orders WHERE id = ? AND account IN ({marks})",  # noqa: S608
                (order_id, *accounts),
            ).fetchone()
        else:
            row = db.execute(
                f"SELECT id FROM orders WHERE clord_id = ? AND account IN ({marks}) "  # noqa: S608
                "ORDER BY (state IN ('NEW', 'PARTIALLY_FILLED')) DESC, seq DESC LIMIT 1",
                (clord_id, *accounts),
            ).fetchone()
        if row is None:
            raise not_found("order not found")
        o = _load(db, row["id"])
        if symbol and symbol != o["symbol"]:
            raise invalid("symbol does not match the order")
        if o["state"] not in LIVE:
            raise ApiError(Code.ABORTED, f"order is {o['state'].lower()} and cannot be canceled")
        cancel(db, o, wire.ts())
    return {}


def open_orders(ctx: Ctx) -> dict[str, Any]:
    mine = ctx.participant_accounts()
    wanted = ctx.query_list("accounts")
    for account in wanted:
        ctx.own_account(account, "accounts")
    accounts = [a for a in mine if not wanted or a in wanted]
    symbols = ctx.query_list("symbols")
    if not accounts:
        return {"orders": []}
    sql = (
        f"SELECT * FROM orders WHERE account IN ({','.join('?' * len(accounts))}) "  # noqa: S608
        "AND state IN ('NEW', 'PARTIALLY_FILLED')"
    )
    params: list[Any] = list(accounts)
    if symbols:
        sql += f" AND symbol IN ({','.join('?' * len(symbols))})"
        params.extend(symbols)
    rows = ctx.db.execute(sql + " ORDER BY seq", params).fetchall()
    emit = ctx.sandbox.settings.emit_zero_enums
    return {"orders": [order_json(r, emit) for r in rows]}


ROUTES = [
    Route(
        "/v1/trading/orders",
        ("POST",),
        insert_order,
        scope="write:orders",
        pid=PID_REQUIRED,
        family="orders",
        limit="insert_order",
    ),
    Route(
        "/v1/trading/orders/cancel",
        ("POST",),
        cancel_order,
        scope="write:orders",
        pid=PID_REQUIRED,
        family="orders",
        limit="cancel_order",
    ),
    Route(
        "/v1/trading/orders/open",
        ("GET",),
        open_orders,
        scope="read:orders",
        pid=PID_REQUIRED,
        family="orders",
    ),
]
