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
from dataclasses import dataclass
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
from sandbox.engine.fees import FeeCharge, FeeTally, OrderFees, charge_fill
from sandbox.engine.fixedpoint import InstrumentSpec
from sandbox.engine.matching import (
    IncomingOrder,
    MatchResult,
    RestingOrder,
    match_order,
    validate_order,
)
from sandbox.engine.positions import Position, apply_fill, fill_cash_delta
from sandbox.errors import ApiError, Code, invalid
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
        "SELECT seq, priority, id, account, side, price, leaves_qty, time_in_force FROM orders "
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
            priority=r["priority"] or r["seq"],
            time_in_force=TimeInForce.from_wire(r["time_in_force"]),
        )
        for r in rows
    ]


def order_fields(
    req: OrderRequest,
    *,
    order_id: str,
    firm_id: str,
    participant: str,
    spec: InstrumentSpec | None,
    stamp: str,
    is_house: bool = False,
    vendor_fee: str = "",
    cross_id: str = "",
) -> dict[str, Any]:
    """A new order's row, PENDING_NEW, as the book stores it."""
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
        "cross_id": cross_id,
    }
    return o


def insert_orders(db: sqlite3.Connection, orders: list[dict[str, Any]]) -> None:
    """Write new orders, each a dict of `order_fields` (whose keys are the columns)."""
    columns = ", ".join(orders[0])
    db.executemany(
        f"INSERT INTO orders ({columns}) VALUES ({', '.join('?' * len(orders[0]))})",  # noqa: S608 - fixed keys
        [list(o.values()) for o in orders],
    )


def _new_order(db: sqlite3.Connection, req: OrderRequest, **fields: Any) -> dict[str, Any]:
    o = order_fields(req, **fields)
    insert_orders(db, [o])
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


def require_live(o: dict[str, Any], action: str) -> None:
    """Only a live order can be canceled or replaced; a done one is ABORTED (409, API.md 7.1)."""
    if o["state"] not in LIVE:
        raise ApiError(Code.ABORTED, f"order is {o['state'].lower()} and cannot be {action}")


# ---- entering an order ----

Refusal = tuple[OrdRejectReason, str]


def _reject(db: sqlite3.Connection, o: dict[str, Any], refusal: Refusal, stamp: str) -> None:
    reason, text = refusal
    o.update(state="REJECTED", leaves_qty=0, last_transact_time=stamp)
    _save(db, o)
    journal.record_execution(db, o, ExecutionType.REJECTED, stamp, reject_reason=reason, text=text)


def _entry_refusal(
    db: sqlite3.Connection, instrument: sqlite3.Row | None, account: str
) -> Refusal | None:
    """Why the exchange would reject any order for this instrument and account outright."""
    if instrument is None:
        return OrdRejectReason.UNKNOWN_SYMBOL, "unknown symbol"
    if instrument["state"] != "OPEN":
        return OrdRejectReason.EXCHANGE_CLOSED, "instrument is not open"
    row = db.execute("SELECT suspended FROM accounts WHERE account = ?", (account,)).fetchone()
    if row is not None and row["suspended"]:
        return OrdRejectReason.EXCHANGE_OPTION, "account is suspended"
    return None


def _engine_refusal(reason: OrdRejectReason | None) -> Refusal:
    reason = reason or OrdRejectReason.EXCHANGE_OPTION
    return reason, reason.name.lower().replace("_", " ")


UNFUNDED: Refusal = (OrdRejectReason.EXCHANGE_OPTION, "insufficient buying power")


def _incoming(o: dict[str, Any], req: OrderRequest) -> IncomingOrder:
    return IncomingOrder(
        order_id=o["id"],
        account=req.account,
        side=req.side,
        price=req.price,
        order_qty=req.order_qty,
        cash_order_qty=req.cash_order_qty,
        order_type=req.type,
        time_in_force=req.time_in_force,
    )


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
    instrument = instruments.find(db, req.symbol)
    spec = instruments.spec(instrument) if instrument is not None else None
    o = _new_order(
        db,
        req,
        order_id=wire.exchange_id(),
        firm_id=firm_id,
        participant=participant,
        spec=spec,
        stamp=stamp,
        is_house=is_house,
        vendor_fee=vendor_fee,
    )
    refusal = _entry_refusal(db, instrument, req.account)
    if refusal is not None or spec is None:
        _reject(db, o, refusal or _engine_refusal(OrdRejectReason.UNKNOWN_SYMBOL), stamp)
        return o
    incoming = _incoming(o, req)
    result = match_order(spec, _resting(db, req.symbol), incoming)
    if result.state is OrderState.REJECTED:
        _reject(db, o, _engine_refusal(result.reject_reason), stamp)
    elif not is_house and not risk.can_afford(db, req.account, spec, incoming):
        _reject(db, o, UNFUNDED, stamp)
    else:
        _apply_result(db, o, spec, result, stamp)
    return o


def preview(
    db: sqlite3.Connection, req: OrderRequest, *, firm_id: str, participant: str
) -> dict[str, Any]:
    """The order as `submit` would leave it, with nothing kept: the whole entry runs inside a
    savepoint that is rolled back, so a preview can never disagree with the real thing."""
    db.execute("SAVEPOINT preview")
    try:
        return submit(db, req, firm_id=firm_id, participant=participant)
    finally:
        db.execute("ROLLBACK TO preview")
        db.execute("RELEASE preview")


def cross(
    db: sqlite3.Connection,
    passive: OrderRequest,
    aggressor: OrderRequest,
    *,
    firm_id: str,
    participant: str,
    cross_id: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two opposite LIMIT orders of the same symbol, price and quantity traded with each other in
    full, or both rejected (CROSS_TYPE_ALL_OR_NONE): never against the book, and refused when the
    price would trade through it. The passive order is entered first and is the maker."""
    stamp = wire.ts()
    instrument = instruments.find(db, passive.symbol)
    spec = instruments.spec(instrument) if instrument is not None else None
    legs = [
        _new_order(
            db,
            req,
            order_id=wire.exchange_id(),
            firm_id=firm_id,
            participant=participant,
            spec=spec,
            stamp=stamp,
            cross_id=cross_id,
        )
        for req in (passive, aggressor)
    ]
    refusal = _cross_refusal(db, instrument, spec, legs, (passive, aggressor))
    if refusal is not None:
        for o in legs:
            _reject(db, o, refusal, stamp)
        return legs[0], legs[1]
    assert spec is not None  # no refusal means the instrument exists
    maker, taker = legs
    for o in legs:
        o["state"] = "NEW"
        journal.record_execution(db, o, ExecutionType.NEW, stamp)
    _trade(
        db,
        spec,
        taker=taker,
        maker=maker,
        qty=maker["order_qty"],
        price=maker["price"],
        taker_leaves=0,
        maker_leaves=0,
        stamp=stamp,
        trade_type="CROSS",
    )
    _save(db, taker)
    _cancel_unfunded(db, {maker["account"], taker["account"]}, stamp)
    return maker, taker


def _cross_refusal(
    db: sqlite3.Connection,
    instrument: sqlite3.Row | None,
    spec: InstrumentSpec | None,
    legs: list[dict[str, Any]],
    requests: tuple[OrderRequest, OrderRequest],
) -> Refusal | None:
    for req in requests:
        refusal = _entry_refusal(db, instrument, req.account)
        if refusal is not None:
            return refusal
    assert spec is not None
    for o, req in zip(legs, requests, strict=True):
        reason = validate_order(spec, _incoming(o, req))
        if reason is not None:
            return _engine_refusal(reason)
    price = requests[0].price or 0
    resting = _resting(db, spec.symbol)
    if any(
        (r.side is Side.BUY and r.price > price) or (r.side is Side.SELL and r.price < price)
        for r in resting
    ):
        return OrdRejectReason.PRICE_OUT_OF_BOUNDS, "cross price outside the best bid and offer"
    for o, req in zip(legs, requests, strict=True):
        if not risk.can_afford(db, req.account, spec, _incoming(o, req)):
            return UNFUNDED
    return None


# ---- replacing an order ----


@dataclass(frozen=True)
class Replacement:
    """The new terms of a CancelReplaceOrderRequest; None or "" keeps the order's own."""

    price: int | None = None
    order_qty: int | None = None
    time_in_force: TimeInForce | None = None
    good_till_time: str = ""
    clord_id: str = ""
    manual_order_indicator: str = ""


RESTING_TIF = (TimeInForce.DAY, TimeInForce.GOOD_TILL_CANCEL, TimeInForce.GOOD_TILL_TIME)


def replace(db: sqlite3.Connection, o: dict[str, Any], new: Replacement) -> None:
    """Change a live order's price, quantity or time in force, keeping its id (FIX style: a new
    clordId, if given, becomes the order's). The order loses its time priority when its price
    changes or its quantity grows, and is matched again like an incoming order at its new terms.
    Refusals raise and leave the order as it was."""
    require_live(o, "replaced")
    instrument = instruments.instrument_row(db, o["symbol"])
    if instrument["state"] != "OPEN":
        raise ApiError(Code.FAILED_PRECONDITION, "instrument is not open")
    spec = instruments.spec(instrument)
    tif = new.time_in_force or TimeInForce.from_wire(o["time_in_force"])
    if tif not in RESTING_TIF:
        raise invalid("timeInForce: a replaced order rests (DAY, GOOD_TILL_CANCEL, GOOD_TILL_TIME)")
    good_till = new.good_till_time or (
        o["good_till_time"] if tif is TimeInForce.GOOD_TILL_TIME else ""
    )
    if tif is TimeInForce.GOOD_TILL_TIME and not good_till:
        raise invalid("goodTillTime is required for TIME_IN_FORCE_GOOD_TILL_TIME")
    price = new.price or o["price"]
    qty = new.order_qty or o["order_qty"]
    if qty <= o["cum_qty"]:
        raise invalid(f"orderQty must be more than the {o['cum_qty']} already filled")
    incoming = IncomingOrder(
        order_id=o["id"],
        account=o["account"],
        side=Side.from_wire(o["side"]),
        price=price,
        order_qty=qty - o["cum_qty"],
        time_in_force=tif,
    )
    reason = validate_order(spec, incoming)
    if reason is not None:
        raise invalid("price: " + _engine_refusal(reason)[1])
    if not o["is_house"] and not risk.can_afford(db, o["account"], spec, incoming, o["id"]):
        raise ApiError(Code.FAILED_PRECONDITION, "insufficient buying power for the replacement")
    if new.clord_id and new.clord_id != o["clord_id"]:
        check_clord_free(db, o["participant"], new.clord_id)
    if price != o["price"] or qty > o["order_qty"]:
        # A fresh number from the orders' own sequence: later than every order so far, and no
        # order inserted afterwards can take the same one.
        row = db.execute(
            "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'orders' RETURNING seq"
        ).fetchone()
        o["priority"] = row["seq"]
    stamp = wire.ts()
    o.update(
        type=OrderType.LIMIT.name,
        price=price,
        order_qty=qty,
        cash_order_qty=0,
        leaves_qty=qty - o["cum_qty"],
        time_in_force=tif.name,
        good_till_time=good_till,
        clord_id=new.clord_id or o["clord_id"],
        manual_order_indicator=new.manual_order_indicator or o["manual_order_indicator"],
        last_transact_time=stamp,
    )
    db.execute(
        "UPDATE orders SET type = ?, cash_order_qty = 0, time_in_force = ?, good_till_time = ?, "
        "clord_id = ?, manual_order_indicator = ?, priority = ? WHERE id = ?",
        (
            o["type"],
            o["time_in_force"],
            good_till,
            o["clord_id"],
            o["manual_order_indicator"],
            o["priority"],
            o["id"],
        ),
    )
    _save(db, o)
    journal.record_execution(db, o, ExecutionType.REPLACE, stamp)
    book = [r for r in _resting(db, o["symbol"]) if r.order_id != o["id"]]
    result = match_order(spec, book, incoming)
    touched = _take(db, o, spec, result, stamp)
    _save(db, o)
    _cancel_unfunded(db, touched, stamp)


def _apply_result(
    db: sqlite3.Connection, o: dict[str, Any], spec: InstrumentSpec, result: MatchResult, stamp: str
) -> None:
    o["order_qty"] = result.order_qty or o["order_qty"]
    o.update(state="NEW", leaves_qty=o["order_qty"])
    journal.record_execution(db, o, ExecutionType.NEW, stamp)
    touched = _take(db, o, spec, result, stamp)
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
        journal.record_execution(
            db, o, ExecutionType.EXPIRED, stamp, text="fill or kill not filled"
        )
    _cancel_unfunded(db, touched, stamp)


def _take(
    db: sqlite3.Connection, o: dict[str, Any], spec: InstrumentSpec, result: MatchResult, stamp: str
) -> set[str]:
    """Trade `o`, as the taker, against each resting order the engine matched it with; returns
    the accounts of those makers (whose other orders may now be unfunded)."""
    touched: set[str] = set()
    for fill in result.fills:
        maker = load_order(db, fill.resting_order_id)
        _trade(
            db,
            spec,
            taker=o,
            maker=maker,
            qty=fill.qty,
            price=fill.price,
            taker_leaves=fill.taker_leaves_qty,
            maker_leaves=fill.resting_leaves_qty,
            stamp=stamp,
        )
        touched.add(maker["account"])
        if maker["is_house"] and fill.resting_leaves_qty == 0:
            _house_order(db, spec, fill.resting_side, fill.price)
    return touched


def _trade(
    db: sqlite3.Connection,
    spec: InstrumentSpec,
    *,
    taker: dict[str, Any],
    maker: dict[str, Any],
    qty: int,
    price: int,
    taker_leaves: int,
    maker_leaves: int,
    stamp: str,
    trade_type: str = "REGULAR",
) -> None:
    """One trade between two orders: both orders' fills, executions, positions and cash, and the
    trade itself. The maker is saved here; the taker's row is the caller's to save."""
    trade_id = wire.exchange_id()
    taker_charge = fill_order(
        taker, spec, Liquidity.TAKER, qty, price, taker_leaves, trade_id, stamp
    )
    taker_exec = journal.record_execution(
        db,
        taker,
        _fill_type(taker_leaves),
        stamp,
        last_shares=qty,
        last_px=price,
        trade_id=trade_id,
        aggressor=True,
        commission=taker_charge.commission_notional,
    )
    _settle_fill(db, spec, taker, qty, price, taker_charge.fee, stamp, taker_exec)
    maker_charge = fill_order(
        maker, spec, Liquidity.MAKER, qty, price, maker_leaves, trade_id, stamp
    )
    _save(db, maker)
    passive_exec = journal.record_execution(
        db,
        maker,
        _fill_type(maker_leaves),
        stamp,
        last_shares=qty,
        last_px=price,
        trade_id=trade_id,
        commission=maker_charge.commission_notional,
    )
    _settle_fill(db, spec, maker, qty, price, maker_charge.fee, stamp, passive_exec)
    journal.record_trade(
        db,
        trade_id=trade_id,
        symbol=spec.symbol,
        aggressor_exec=taker_exec,
        passive_exec=passive_exec,
        aggressor_account=taker["account"],
        passive_account=maker["account"],
        price=price,
        qty=qty,
        stamp=stamp,
        trade_type=trade_type,
    )


def _fill_type(leaves: int) -> ExecutionType:
    return ExecutionType.FILL if leaves == 0 else ExecutionType.PARTIAL_FILL


def fill_order(
    o: dict[str, Any],
    spec: InstrumentSpec,
    liquidity: Liquidity,
    qty: int,
    price: int,
    leaves: int,
    trade_id: str,
    stamp: str,
) -> FeeCharge:
    """The order's own figures after filling `qty` at `price` (leaving `leaves`), fee included;
    returns the fee charged."""
    charge = charge_fill(_fees(o), spec, liquidity, qty, price)
    filled = json.loads(o["fills"] or "{}")
    filled[str(price)] = filled.get(str(price), 0) + qty
    o.update(
        cum_qty=o["cum_qty"] + qty,
        leaves_qty=leaves,
        notional=o["notional"] + qty * price,
        commission_total=o["commission_total"] + charge.commission_notional,
        fills=json.dumps(filled),
        last_trade_id=trade_id,
        last_transact_time=stamp,
        state="FILLED" if leaves == 0 else "PARTIALLY_FILLED",
    )
    _store_fees(o, charge.fees)
    return charge


def _settle_fill(
    db: sqlite3.Connection,
    spec: InstrumentSpec,
    o: dict[str, Any],
    qty: int,
    price: int,
    fee: Decimal,
    stamp: str,
    exec_id: str,
) -> None:
    """Position, position ledger and balance ledger of one side of one fill (ref = execution)."""
    account, side = o["account"], Side.from_wire(o["side"])
    before = journal.read_position(db, account, spec.symbol)
    after, postings = fill_consequences(spec, before, side, qty, price, fee)
    journal.record_position(db, before, after, "Trade fill", stamp, exec_id)
    for entry_type, amount, description in postings:
        ledger.post(
            db,
            account=account,
            amount=amount,
            entry_type=entry_type,
            description=description,
            symbol=spec.symbol,
            ref=exec_id,
            allow_negative=True,
            moment=stamp,
        )


def fill_consequences(
    spec: InstrumentSpec, before: Position, side: Side, qty: int, price: int, fee: Decimal
) -> tuple[Position, list[tuple[str, Decimal, str]]]:
    """What one side of a fill does to its account: the position after it, and the balance-ledger
    postings (entry type, amount, description): ORDER_EXECUTION for its cash, COMMISSION for its
    fee (a maker's rebate is a negative fee)."""
    cash = fill_cash_delta(spec, before.net_position, side, qty, price)
    after, _ = apply_fill(before, side, qty, price)
    postings = [("ORDER_EXECUTION", cash, fill_description(spec, side, qty, price))]
    if fee != 0:
        postings.append(("COMMISSION", -fee, fee_description(fee)))
    return after, postings


def fill_description(spec: InstrumentSpec, side: Side, qty: int, price: int) -> str:
    """The balance-ledger description of a fill's cash, e.g. "Buy 10 @ 55"."""
    verb = "Buy" if side is Side.BUY else "Sell"
    return f"{verb} {spec.contracts(qty).normalize():f} @ {price}"


def fee_description(fee: Decimal) -> str:
    return "Taker fee" if fee > 0 else "Maker rebate"


def _cancel_unfunded(db: sqlite3.Connection, accounts: set[str], stamp: str) -> None:
    """After a fill, the exchange cancels resting orders an account can no longer fund."""
    for account in sorted(accounts - {firms.HOUSE_ACCOUNT}):
        for order_id in risk.unfunded(db, account):
            cancel(
                db, load_order(db, order_id), stamp, text="unfunded after fill", unsolicited=True
            )


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
