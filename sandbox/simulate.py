"""`python -m sandbox simulate`: activity for demos and benchmarks, written straight to the store.

Three modes, each printing a JSON summary:

* default: N approved participants funded from the firm's pool (written in bulk), a share of whom
  trade against the house through the same order path the API uses, and one instrument settled
  so some positions resolve;
* `--bulk`: for benchmarks, a fresh store filled with N participants and a trading history of
  `--executions` executions between them over the last `--days` days (sandbox.bulk), written in
  bulk and as consistent as if every order had gone through the API;
* `--steady RATE`: orders against the house at RATE a second, through the order path, until
  `--orders` were entered, `--seconds` passed or Ctrl-C, so the streams of a sandbox serving the
  same data directory stay live (it notices other processes' commits).
"""

from __future__ import annotations

import json
import random
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sandbox import book, bulk, firms, ledger, market, settlement, wire
from sandbox.app import Sandbox
from sandbox.config import Settings
from sandbox.engine.enums import OrderType, Side, TimeInForce
from sandbox.order_input import OrderRequest
from sandbox.store import Store

TRADE_SHARE = 0.5
SETTLE_SYMBOL = "atc-mls-atl-clt-2026-03-22-draw"


class Refused(Exception):
    """The data directory cannot take this simulation; the message says why."""


def _ensure_firm(store: Store, firm_id: str, data_dir: Path) -> str:
    """The firm's pool account; a new firm's private key is written beside the data."""
    row = store.db.execute("SELECT * FROM firms WHERE firm_id = ?", (firm_id,)).fetchone()
    if row is not None:
        return str(row["funding_account"])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (data_dir / f"{firm_id}-private.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    created = firms.firm_upsert(
        store, {"firm_id": firm_id, "public_keys": [pem], "funding_balance": "0"}
    )
    return str(created["fundingAccountId"])


def _fund(store: Store, pool: str, deposits: list[Decimal], stamp: str) -> None:
    """Top the pool up by what the deposits will take, so it ends where it started."""
    with store.write() as db:
        ledger.post(
            db,
            account=pool,
            amount=sum(deposits, Decimal(0)),
            entry_type="DEPOSIT",
            description="Partner funding account top-up",
            moment=stamp,
        )


def _against_house(
    rng: random.Random, scale: int, frac: int, symbol: str, account: str
) -> OrderRequest:
    """An IMMEDIATE_OR_CANCEL order priced through the house's quotes (bids below the middle,
    offers above it), so it fills."""
    side = rng.choice([Side.BUY, Side.SELL])
    return OrderRequest(
        type=OrderType.LIMIT,
        side=side,
        symbol=symbol,
        price=scale * 60 // 100 if side is Side.BUY else scale * 40 // 100,
        order_qty=rng.randrange(1, 50) * frac,
        cash_order_qty=None,
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        clord_id=wire.exchange_id(),
        account=account,
        good_till_time="",
        manual_order_indicator=bulk.AUTOMATED,
    )


def _open_markets(store: Store) -> list[tuple[str, int, int]]:
    rows = store.db.execute(
        "SELECT symbol, price_scale, frac_scale FROM instruments WHERE state = 'OPEN' "
        "ORDER BY symbol"
    ).fetchall()
    return [(r["symbol"], r["price_scale"], r["frac_scale"]) for r in rows]


def simulate(settings: Settings, *, participants: int, firm_id: str, seed: int) -> str:
    rng = random.Random(seed)
    sandbox = Sandbox(settings)
    store = sandbox.store
    pool = _ensure_firm(store, firm_id, settings.data_dir)
    stamp = wire.ts()
    deposits = [Decimal(rng.randrange(100, 5000)) for _ in range(participants)]
    _fund(store, pool, deposits, stamp)
    with store.write() as db:
        traders = bulk.onboard(
            db,
            firm_id=firm_id,
            pool=pool,
            deposits=deposits,
            tag=f"{seed}-{rng.getrandbits(24):06x}",
            stamp=stamp,
        )
    markets = _open_markets(store)
    filled = 0
    for trader in traders:
        if not markets or rng.random() >= TRADE_SHARE:
            continue
        symbol, scale, frac = rng.choice(markets)
        with store.write() as db:
            order = book.submit(
                db,
                _against_house(rng, scale, frac, symbol, trader.account),
                firm_id=firm_id,
                participant=trader.participant,
            )
        filled += int(order["cum_qty"] > 0)
    settled = ""
    if any(symbol == SETTLE_SYMBOL for symbol, _, _ in markets):
        settlement.settle(store, SETTLE_SYMBOL, {"settlement_px": 0})
        settled = SETTLE_SYMBOL
    store.close()
    summary = {
        "firmId": firm_id,
        "participants": participants,
        "ordersFilled": filled,
        "settled": settled,
    }
    return json.dumps(summary)


def fill(
    settings: Settings,
    *,
    participants: int,
    executions: int,
    firm_id: str,
    seed: int,
    days: float,
) -> str:
    """The bulk mode: a fresh store, N participants, a history of `executions` executions."""
    if participants < 2:
        raise Refused("--participants: at least two, to trade with each other")
    store = Store(settings.data_dir)
    if store.db.execute("SELECT 1 FROM executions LIMIT 1").fetchone():
        raise Refused(f"{settings.data_dir} has trading already; --bulk fills a fresh directory")
    # A fresh store being filled can be filled again: no fsync per transaction, a large cache.
    store.db.execute("PRAGMA synchronous = OFF")
    store.db.execute("PRAGMA cache_size = -262144")  # KiB: 256 MiB
    rng = random.Random(seed)
    end = wire.now()
    start = end - timedelta(days=days)
    pool = _ensure_firm(store, firm_id, settings.data_dir)
    deposits = [Decimal(rng.randrange(500, 5000)) for _ in range(participants)]
    _fund(store, pool, deposits, wire.ts(start))
    with store.write() as db:
        symbols = market.seed_instruments(db) or [s for s, _, _ in _open_markets(store)]
        traders = bulk.onboard(
            db, firm_id=firm_id, pool=pool, deposits=deposits, tag=str(seed), stamp=wire.ts(start)
        )
    trades, refused = bulk.trade(
        store,
        traders,
        symbols=symbols,
        trades=executions // 4,
        start=start + timedelta(minutes=1),
        end=end - timedelta(minutes=1),
        rng=rng,
        firm_id=firm_id,
    )
    # The house's quotes come last, so every log's times rise with its seq.
    with store.write() as db:
        firms.ensure_house(db)
        for symbol in symbols:
            book.house_quote(db, symbol)
    store.close()
    summary = {
        "firmId": firm_id,
        "participants": participants,
        "trades": trades,
        "executions": 4 * trades,
        "ordersRefusedForCash": refused,
        "from": wire.ts(start),
        "to": wire.ts(end),
    }
    return json.dumps(summary)


def steady(
    settings: Settings,
    *,
    rate: float,
    firm_id: str,
    seed: int,
    orders: int | None = None,
    seconds: float | None = None,
) -> str:
    """The steady mode: `rate` orders a second from the firm's participants against the house."""
    if rate <= 0:
        raise Refused("--steady: a rate above zero, in orders a second")
    store = Store(settings.data_dir)
    traders = store.db.execute(
        "SELECT participant_id, account FROM accounts WHERE firm_id = ? AND kind = 'participant'",
        (firm_id,),
    ).fetchall()
    markets = _open_markets(store)
    if not traders or not markets:
        raise Refused(f"firm {firm_id} has no participants or no open instruments to trade")
    rng = random.Random(seed)
    started = time.monotonic()
    due = started
    entered = filled = 0
    try:
        while orders is None or entered < orders:
            if seconds is not None and time.monotonic() - started >= seconds:
                break
            time.sleep(max(0.0, due - time.monotonic()))
            due += 1 / rate
            trader = rng.choice(traders)
            symbol, scale, frac = rng.choice(markets)
            with store.write() as db:
                order = book.submit(
                    db,
                    _against_house(rng, scale, frac, symbol, trader["account"]),
                    firm_id=firm_id,
                    participant=trader["participant_id"],
                )
            entered += 1
            filled += int(order["cum_qty"] > 0)
    except KeyboardInterrupt:
        pass
    store.close()
    elapsed = time.monotonic() - started
    return json.dumps(
        {
            "firmId": firm_id,
            "ordersEntered": entered,
            "ordersFilled": filled,
            "seconds": round(elapsed, 1),
        }
    )
