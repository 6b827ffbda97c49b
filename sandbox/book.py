"""The order book: orders entered, matched, filled, cancelled and expired, in one transaction each.

The maths (matching, fees, positions, cash per fill) is `sandbox.engine`'s; this module loads the
book from the database, asks the engine what happens, and writes every consequence in the caller's
transaction: the orders themselves, and through `sandbox.journal` the executions, trades, positions
and their ledger, and through `sandbox.ledger` the balance ledger (`ORDER_EXECUTION` for the cash
of a fill, `COMMISSION` for its fee), so they always agree.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from typing import Any

from sandbox import firms, instruments, journal, ledger, risk, wire
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
from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.matching import IncomingOrder, MatchResult, RestingOrder, match_order
from sandbox.engine.positions import apply_fill, fill_cash_delta
from sandbox.errors import ApiError, Code
from sandbox.order_input import OrderRequest
from sandbox.store import Store

LIVE = ("NEW", "PARTIALLY_FILLED")
HOUSE_LEVELS = (5, 6, 7)  # cents away from 50 on each side
HOUSE_CONTRACTS = 100_000


# ---- orders as rows ----


def load_order(db: sqlite3.Connection, order_id: str) -> dict[str, Any]:
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


def _resting(db: sqlite3.Connection, symbol: str) -> list[RestingOrder]:
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


def check_clord_free(db: sqlite3.Connection, participant: str, clord_id: str) -> None:
    """A clordId is unique among the participant's live orders (API.md 7.3)."""
    clash = db.execute(
        "SELECT 1 FROM orders WHERE participant = ? AND clord_id = ? "
        "AND state IN ('NEW', 'PARTIALLY_FILLED', 'PENDING_NEW')",
        (participant, clord_id),
    ).fetchone()
    if clash:
        raise ApiError(Code.ALREADY_EXISTS, "duplicate clordId among live orders")


# ---- entering an order ----


def _reject(
    db: sqlite3.Connection, o: dict[str, Any], reason: OrdRejectReason, text: str, stamp: str
) -> None:
    o.update(state="REJECTED", leaves_qty=0, last_transact_time=stamp)
    _save(db, o)
    journal.record_execution(db, o, ExecutionType.REJECTED, stamp, reject_reason=reason, text=text)


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
    instrument = instruments.find(db, req.symbol)
    spec = instruments.spec(instrument) if instrument is not None else None
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
    result = match_order(spec, _resting(db, req.symbol), incoming)
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
    journal.record_execution(db, o, ExecutionType.NEW, stamp)
    touched: set[str] = set()
    fills_map: dict[str, int] = {}
    fees = _fees(o)
    for fill in result.fills:
        trade_id = wire.exchange_id()
        maker = load_order(db, fill.resting_order_id)
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
        taker_exec = journal.record_execution(
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
        passive_exec = journal.record_execution(
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
        journal.record_trade(
            db,
            trade_id=trade_id,
            symbol=spec.symbol,
            aggressor_exec=taker_exec,
            passive_exec=passive_exec,
            aggressor_account=o["account"],
            passive_account=maker["account"],
            price=fill.price,
            qty=fill.qty,
            stamp=stamp,
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
        journal.record_execution(
            db, o, ExecutionType.CANCELED, stamp, text="immediate or cancel remainder"
        )
    elif result.state is OrderState.EXPIRED:
        o["leaves_qty"] = 0
        _save(db, o)
        journal.record_execution(
            db, o, ExecutionType.EXPIRED, stamp, text="fill or kill not filled"
        )
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
    before = journal.read_position(db, account, spec.symbol)
    cash = fill_cash_delta(spec, before.net_position, side, qty, price)
    after, _change = apply_fill(before, side, qty, price)
    journal.record_position(db, before, after, "Trade fill", stamp, exec_id)
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
        cancel(db, load_order(db, order_id), stamp, text="unfunded after fill", unsolicited=True)


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
    journal.record_execution(
        db, o, exec_type, stamp, text=text or ("unsolicited cancel" if unsolicited else "")
    )


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
    s = instruments.instrument_spec(db, symbol)
    mid = s.price_scale // 2
    cent = s.price_scale // 100
    for away in HOUSE_LEVELS:
        _house_order(db, s, Side.BUY, mid - away * cent)
        _house_order(db, s, Side.SELL, mid + away * cent)


def expire_due(store: Store) -> int:
    """GTT orders past their time leave the book as EXPIRED."""
    now = wire.ts()
    due = store.db.execute(
        "SELECT id FROM orders WHERE time_in_force = 'GOOD_TILL_TIME' AND state IN "
        "('NEW', 'PARTIALLY_FILLED') AND good_till_time != '' AND good_till_time <= ?",
        (now,),
    ).fetchall()
    for row in due:
        with store.write() as db:
            o = load_order(db, row["id"])
            if o["state"] in LIVE:
                cancel(
                    db, o, wire.ts(), text="good till time reached", exec_type=ExecutionType.EXPIRED
                )
    return len(due)
