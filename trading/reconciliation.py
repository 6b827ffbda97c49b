"""Trading's reconciliation check (BACKOFFICE_RECONCILIATION_CHECKS): each account's positions
replayed from the mirrored executions (net position, cost, realized P&L per instrument, as they
stood at the date's cut-off: trading.replay) against the exchange's at that cut-off.

Positions must not be polled (API.md 7.2), so the exchange is asked in bulk first: one valuations
statement a page of accounts (their positions' totals at the cut-off: cost, realized P&L, open
positions). An account whose totals agree with ours is done; only an account whose totals differ
is read position by position (`GET /v1/positions` as of the cut-off), to say which instrument
differs and how. A difference the totals cannot show (two instruments' differences that cancel to
the cent in both cost and realized P&L, with the same count of open positions) is not looked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import closing
from decimal import Decimal
from functools import partial
from typing import Protocol

from backoffice.gateway.client import Gateway, get_gateway
from backoffice.gateway.results import AccountStatement
from backoffice.reconciliation.checks import CheckContext, CheckPage, Finding
from backoffice.reconciliation.models import BreakType
from participants.models import Account
from participants.selectors import account_pages
from trading.replay import Figures, at_cutoff

ZERO = Decimal(0)


class _Held(Protocol):
    """A position's figures, ours (replayed) or the exchange's."""

    @property
    def net_position(self) -> Decimal: ...
    @property
    def cost(self) -> Decimal: ...
    @property
    def realized(self) -> Decimal: ...


class PositionsCheck:
    name = "positions"
    label = "Positions against the exchange's at the cut-off"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        gateway = get_gateway()
        read = partial(self._statements, context)
        with closing(context.prefetch(gateway, account_pages(context, after), read)) as pages:
            for (accounts, page), statements in pages:
                context.beat()
                ours, _ = at_cutoff(context, page.scopes)
                for account in accounts:
                    key = account.account_id
                    if key in page.not_checked:
                        continue
                    mine = ours.positions[key]
                    if totals_agree(context, mine, statements.get(key)):
                        page.items += len(mine)
                        continue
                    theirs = context.read(
                        page, [key], partial(self._positions, gateway, context, account)
                    )
                    if theirs is None:
                        continue
                    page.items += len(set(mine) | set(theirs))
                    page.findings += compare(context, key, mine, theirs)
                yield page

    def _statements(
        self, context: CheckContext, item: tuple[list[Account], CheckPage], gateway: Gateway
    ) -> dict[str, AccountStatement]:
        """The page's lines of the valuations statement at the cut-off, by account."""
        _, page = item
        ids = list(page.scopes)
        lines = context.read(
            page,
            ids,
            partial(gateway.statement, accounts=ids, as_of_time=context.window_end, actor=None),
        )
        return {line.account: line for line in lines or []}

    def _positions(
        self, gateway: Gateway, context: CheckContext, account: Account
    ) -> dict[str, _Held]:
        return {
            p.symbol: p
            for p in gateway.positions(
                participant_id=account.participant.participant_id,
                account=account.account_id,
                actor=None,
                as_of_time=context.window_end,
                page_size=1000,
            ).items()
        }


def totals_agree(
    context: CheckContext, ours: Mapping[str, Figures], line: AccountStatement | None
) -> bool:
    """Whether the account's totals agree with its line of the statement (none: no line)."""
    if line is None:
        return False
    cost = sum((f.cost for f in ours.values()), ZERO)
    realized = sum((f.realized for f in ours.values()), ZERO)
    open_positions = sum(1 for f in ours.values() if f.net_position != 0)
    return (
        open_positions == line.position_count
        and context.matches(cost, line.total_cost)
        and context.matches(realized, line.total_realized)
    )


def _figures(net: Decimal, cost: Decimal, realized: Decimal) -> dict[str, str]:
    return {"net_position": str(net), "cost": str(cost), "realized": str(realized)}


def compare(
    context: CheckContext,
    account: str,
    ours: Mapping[str, _Held],
    theirs: Mapping[str, _Held],
) -> list[Finding]:
    findings: list[Finding] = []
    for symbol in sorted(set(ours) | set(theirs)):
        mine, exchange = ours.get(symbol), theirs.get(symbol)
        net, cost, realized = (
            (mine.net_position, mine.cost, mine.realized) if mine else (ZERO, ZERO, ZERO)
        )
        their_net, their_cost, their_realized = (
            (exchange.net_position, exchange.cost, exchange.realized)
            if exchange
            else (ZERO, ZERO, ZERO)
        )
        evidence = {
            "ours": _figures(net, cost, realized),
            "exchange": _figures(their_net, their_cost, their_realized),
        }
        key = f"position|{account}|{symbol}"
        if net != their_net:
            if exchange is None or (their_net == 0 and their_cost == 0):
                kind = BreakType.MISSING_AT_EXCHANGE
            elif mine is None or (net == 0 and cost == 0):
                kind = BreakType.MISSING_HERE
            else:
                kind = BreakType.QUANTITY_MISMATCH
            findings.append(
                Finding(
                    key=key,
                    break_type=kind,
                    summary=f"{symbol}: {net} contracts here, {their_net} at the exchange",
                    account=account,
                    subject=symbol,
                    unit="contracts",
                    ours=net,
                    theirs=their_net,
                    evidence=evidence,
                )
            )
        elif not (context.matches(cost, their_cost) and context.matches(realized, their_realized)):
            findings.append(
                Finding(
                    key=key,
                    break_type=BreakType.AMOUNT_MISMATCH,
                    summary=f"{symbol}: cost {cost} and realized {realized} here, cost "
                    f"{their_cost} and realized {their_realized} at the exchange",
                    account=account,
                    subject=symbol,
                    ours=cost,
                    theirs=their_cost,
                    evidence=evidence,
                )
            )
    return findings
