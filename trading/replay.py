"""Positions and cash replayed from the mirrored executions, as they stood at points in time.

The mirror keeps positions as they are now; reconciliation needs them (and the cash the trades
moved) as they were at a cut-off. Replaying the fills gives both, by the exchange's documented
rules, in the instruments' integer units so that every rounding is the exchange's:

* average cost (API.md 5.4 ``Position``): an opening fill adds ``qty x price`` to the signed cost
  basis; a closing fill takes ``cost x closed / |net|`` out of it (banker's-rounded to a unit; a
  full close takes all) and realizes the fill's YES cash flow minus that basis;
* fully collateralised cash (5.5.5): buying YES pays ``price`` a contract, selling out of a long
  receives it, selling short pays (locks) ``1 - price``, buying back a short releases
  ``1 - price``; the commission is paid on top (a maker rebate is a negative commission);
* a busted trade (``Trade.busted_at``, when the mirror heard of it) reverses exactly what its
  fill did to the position and the cash; a fill whose bust time is unknown never counted;
* settlement (``Instrument.settled_at``) pays a long ``net x price`` and a short
  ``|net| x (1 - price)``, closes the position and realizes the rest against its basis.

Every replay reads three tables in one query each, whatever the number of accounts. The nightly
run's checks that need the replay (cash and positions) share one a page of accounts: `at_cutoff`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from backoffice.reconciliation.checks import CheckContext
from trading.mirror import FILL_TYPES
from trading.models import Execution, Instrument, Side, Trade

ZERO = Decimal(0)


def _half_even_div(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


@dataclass(frozen=True)
class Figures:
    """A position in contracts and dollars."""

    net_position: Decimal
    cost: Decimal
    realized: Decimal


@dataclass
class _Book:
    """One account's position in one instrument, in the instrument's integer units."""

    net: int = 0
    cost: int = 0
    realized: int = 0


@dataclass(frozen=True)
class _Scales:
    price: int
    qty: int

    @property
    def notional(self) -> int:
        return self.price * self.qty


@dataclass(frozen=True)
class Replayed:
    """Every account's positions (symbol -> figures) and cash moved by trading, at one moment."""

    positions: dict[str, dict[str, Figures]]
    cash: dict[str, Decimal]


def _fill(book: _Book, side: str, qty: int, price: int, scale: int) -> tuple[int, int, int, int]:
    """Apply a fill to `book`; return what it changed: (net, cost, realized, cash), raw units."""
    net, cost, realized = book.net, book.cost, book.realized
    signed = qty if side == Side.BUY else -qty
    if side == Side.BUY:
        closing = min(qty, max(-net, 0))
        cash = closing * (scale - price) - (qty - closing) * price
    else:
        closing = min(qty, max(net, 0))
        cash = closing * price - (qty - closing) * (scale - price)
    if net == 0 or (net > 0) == (signed > 0):
        cost += signed * price
    else:
        closed = min(qty, abs(net))
        removed = cost if closed == abs(net) else _half_even_div(cost * closed, abs(net))
        direction = 1 if signed > 0 else -1
        realized += -direction * closed * price - removed
        cost += direction * (qty - closed) * price - removed
    change = (signed, cost - book.cost, realized - book.realized, cash)
    book.net, book.cost, book.realized = net + signed, cost, realized
    return change


def _settle(book: _Book, price: int, scale: int) -> int:
    """Close `book` at the settlement price; return the credit (raw units)."""
    credit = book.net * price if book.net >= 0 else -book.net * (scale - price)
    book.realized += book.net * price - book.cost
    book.net = book.cost = 0
    return credit


class _Fill(NamedTuple):
    exchange_id: str
    account: str
    symbol: str
    side: str
    shares: Decimal
    price: Decimal | None
    commission: Decimal
    at: dt.datetime
    busted: bool
    trade_id: str


_FILL_FIELDS = (
    "exchange_id",
    "account",
    "symbol",
    "side",
    "last_shares",
    "last_px",
    "commission",
    "transact_time",
    "busted",
    "trade_id",
)
FILL, REVERSAL, SETTLEMENT = 0, 1, 2  # at one moment a fill comes first, a settlement last


def replay(accounts: Collection[str], moments: Sequence[dt.datetime]) -> list[Replayed]:
    """The accounts' positions and trading cash at each of `moments` (ascending)."""
    until = moments[-1]
    fills = [
        _Fill(*row)
        for row in Execution.objects.filter(
            account__in=list(accounts), exec_type__in=FILL_TYPES, transact_time__lte=until
        )
        .order_by("transact_time", "id")
        .values_list(*_FILL_FIELDS)
    ]
    busted_at = dict(
        Trade.objects.filter(
            exchange_id__in=list({f.trade_id for f in fills if f.busted})
        ).values_list("exchange_id", "busted_at")
    )
    scales: dict[str, _Scales] = {}
    settlements: dict[str, tuple[dt.datetime, Decimal]] = {}
    for symbol, price_scale, qty_scale, settled_at, settlement in Instrument.objects.filter(
        symbol__in={f.symbol for f in fills}
    ).values_list("symbol", "price_scale", "qty_scale", "settled_at", "settlement_price"):
        scales[symbol] = _Scales(price_scale, qty_scale or 1)
        if settled_at is not None and settlement is not None and settled_at <= until:
            settlements[symbol] = (settled_at, settlement)

    events: list[tuple[dt.datetime, int, int, str]] = []
    for seq, fill in enumerate(fills):
        reversal = busted_at.get(fill.trade_id) if fill.busted else None
        if fill.busted and reversal is None:
            continue  # busted at a moment the mirror does not know: it never counted
        events.append((fill.at, FILL, seq, ""))
        if reversal is not None and reversal <= until:
            events.append((max(reversal, fill.at), REVERSAL, seq, ""))
    events += [(at, SETTLEMENT, 0, symbol) for symbol, (at, _) in settlements.items()]
    events.sort(key=lambda e: e[:3])

    books: dict[tuple[str, str], _Book] = defaultdict(_Book)
    cash: dict[str, Decimal] = defaultdict(Decimal)
    changes: dict[int, tuple[int, int, int, int]] = {}
    result: list[Replayed] = []
    pending = list(moments)
    for when, kind, seq, settled in events:
        while pending and when > pending[0]:
            result.append(_snapshot(books, cash, scales, accounts))
            pending.pop(0)
        if kind == SETTLEMENT:
            s = scales[settled]
            price = int(settlements[settled][1] * s.price)
            for (account, symbol), book in books.items():
                if symbol == settled:
                    cash[account] += Decimal(_settle(book, price, s.price)) / s.notional
            continue
        fill = fills[seq]
        s = scales[fill.symbol]
        book = books[(fill.account, fill.symbol)]
        if kind == FILL:
            qty, price = int(fill.shares * s.qty), int((fill.price or ZERO) * s.price)
            changes[seq] = _fill(book, fill.side, qty, price, s.price)
            cash[fill.account] += Decimal(changes[seq][3]) / s.notional - fill.commission
        else:
            net, cost, realized, moved = changes[seq]
            book.net, book.cost = book.net - net, book.cost - cost
            book.realized -= realized
            cash[fill.account] -= Decimal(moved) / s.notional - fill.commission
    for _ in pending:
        result.append(_snapshot(books, cash, scales, accounts))
    return result


def at_cutoff(context: CheckContext, accounts: Sequence[str]) -> tuple[Replayed, Replayed]:
    """The accounts' positions and trading cash at the date's cut-off and at the end of the grace
    after it, replayed once for the page of accounts whichever check asks first."""
    cutoff = context.window_end
    at, later = context.for_page(
        "replay", accounts, lambda: replay(accounts, [cutoff, cutoff + context.timing_grace])
    )
    return at, later


def _snapshot(
    books: dict[tuple[str, str], _Book],
    cash: dict[str, Decimal],
    scales: dict[str, _Scales],
    accounts: Collection[str],
) -> Replayed:
    positions: dict[str, dict[str, Figures]] = {a: {} for a in accounts}
    for (account, symbol), book in books.items():
        s = scales[symbol]
        positions[account][symbol] = Figures(
            net_position=Decimal(book.net) / s.qty,
            cost=Decimal(book.cost) / s.notional,
            realized=Decimal(book.realized) / s.notional,
        )
    return Replayed(positions=positions, cash={a: cash.get(a, ZERO) for a in accounts})
