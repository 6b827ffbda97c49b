"""Settlement of an instrument and the reconciliation-difference hooks (API.md 8 #18).

Settling closes every position at the settlement price with the engine's payout rule and credits
`RESOLUTION` entries; a busted trade reverses both sides' positions and cash; a manual adjustment
and an unrequested deposit change a balance with no request from the firm. The last three exist so
a reconciliation has real differences to catch.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import book, journal, ledger, wire
from sandbox.engine.positions import PositionChange, bust_fill
from sandbox.engine.settlement import settle_instrument
from sandbox.errors import ApiError, Code, invalid, not_found
from sandbox.instruments import instrument_row, spec
from sandbox.store import Store


def settle(store: Store, symbol: str, body: dict[str, Any]) -> dict[str, Any]:
    with store.write() as db:
        row = instrument_row(db, symbol)
        s = spec(row)
        if row["settlement_px"] is not None:
            raise ApiError(Code.FAILED_PRECONDITION, f"{symbol} is already settled")
        px = wire.int64(body.get("settlement_px"), "settlementPx", default=None)
        if not 0 <= px <= s.price_scale:
            raise invalid(f"settlementPx must be between 0 and {s.price_scale}")
        stamp = wire.ts()
        for order in db.execute(
            "SELECT id FROM orders WHERE symbol = ? AND state IN ('NEW', 'PARTIALLY_FILLED')",
            (symbol,),
        ).fetchall():
            book.cancel(
                db,
                book.load_order(db, order["id"]),
                stamp,
                text="instrument settled",
                unsolicited=True,
            )
        accounts = [
            r["account"]
            for r in db.execute(
                "SELECT account FROM positions WHERE symbol = ? AND expired = 0", (symbol,)
            ).fetchall()
        ]
        before = [journal.read_position(db, account, symbol) for account in accounts]
        result = settle_instrument(s, before, px)
        for old, item in zip(before, result.settled, strict=True):
            journal.record_position(db, old, item.position, "Settlement", stamp)
            if item.credit:
                ledger.post(
                    db,
                    account=old.account,
                    amount=item.credit,
                    entry_type="RESOLUTION",
                    description=f"Settlement of {symbol} at {px}",
                    symbol=symbol,
                    moment=stamp,
                )
        text = wire.text(body.get("text"), "text") or (
            "Resolved YES"
            if px == s.price_scale
            else "Resolved NO"
            if px == 0
            else f"Settled at {px}"
        )
        db.execute(
            "UPDATE instruments SET state = 'EXPIRED', settlement_px = ?, settlement_text = ?, "
            "settlement_time = ?, updated_at = ? WHERE symbol = ?",
            (px, text, stamp, stamp, symbol),
        )
    return {
        "symbol": symbol,
        "settlementPx": str(px),
        "positionsSettled": len(accounts),
        "totalCredit": wire.fmt_money(result.total_credit),
    }


def bust_trade(store: Store, trade_id: str) -> dict[str, Any]:
    with store.write() as db:
        trade = db.execute("SELECT * FROM trades WHERE id = ?", (trade_id,)).fetchone()
        if trade is None:
            raise not_found("trade not found")
        if trade["state"] == "BUSTED":
            raise ApiError(Code.FAILED_PRECONDITION, "trade is already busted")
        stamp = wire.ts()
        for exec_id in (trade["aggressor_exec"], trade["passive_exec"]):
            change_row = db.execute(
                "SELECT * FROM position_ledger WHERE ref = ?", (exec_id,)
            ).fetchone()
            if change_row is not None:
                before = journal.read_position(db, change_row["account"], change_row["symbol"])
                after, _ = bust_fill(
                    before,
                    PositionChange(
                        quantity_change=change_row["quantity_change"],
                        cost_change=change_row["cost_change"],
                        realized_change=change_row["realized_change"],
                    ),
                )
                journal.record_position(
                    db, before, after, f"Trade {trade_id} busted", stamp, exec_id
                )
            for entry in db.execute(
                "SELECT * FROM balance_ledger WHERE ref = ? AND entry_type IN "
                "('ORDER_EXECUTION', 'COMMISSION')",
                (exec_id,),
            ).fetchall():
                delta = Decimal(entry["before_balance"]) - Decimal(entry["after_balance"])
                ledger.post(
                    db,
                    account=entry["account"],
                    amount=delta,
                    entry_type="CORRECTION",
                    description=f"Trade {trade_id} busted: reversal of {entry['id']}",
                    symbol=entry["symbol"],
                    ref=exec_id,
                    allow_negative=True,
                    moment=stamp,
                )
        journal.bust_trade(db, trade_id)
    return {"tradeId": trade_id, "state": "TRADE_STATE_BUSTED"}


def _participant_account(store: Store, account: str) -> Any:
    row = store.db.execute(
        "SELECT * FROM accounts WHERE account = ? AND kind = 'participant'", (account,)
    ).fetchone()
    if row is None:
        raise not_found("participant account not found")
    return row


def manual_adjustment(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    account = wire.text(body.get("account"), "account")
    amount = wire.money(body.get("amount"), "amount")
    with store.write() as db:
        row = db.execute("SELECT 1 FROM accounts WHERE account = ?", (account,)).fetchone()
        if row is None:
            raise not_found("account not found")
        try:
            entry = ledger.post(
                db,
                account=account,
                amount=amount,
                entry_type="MANUAL_ADJUSTMENT",
                description=wire.text(body.get("description"), "description")
                or "Manual adjustment",
            )
        except ledger.Overdraft as exc:
            raise invalid("the adjustment would drive the account negative") from exc
        return {"entryId": entry, "balance": wire.fmt_money(ledger.balance(db, account))}


def unrequested_deposit(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """A DEPOSIT on a participant account with no cash movement the firm asked for."""
    account = wire.text(body.get("account"), "account")
    amount = wire.money(body.get("amount"), "amount")
    if amount <= 0:
        raise invalid("amount must be positive")
    _participant_account(store, account)
    with store.write() as db:
        entry = ledger.post(
            db,
            account=account,
            amount=amount,
            entry_type="DEPOSIT",
            description=wire.text(body.get("description"), "description") or "Deposit",
        )
        return {"entryId": entry, "balance": wire.fmt_money(ledger.balance(db, account))}


__all__ = ["bust_trade", "manual_adjustment", "settle", "unrequested_deposit"]
