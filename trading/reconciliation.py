"""Trading's reconciliation check (BACKOFFICE_RECONCILIATION_CHECKS): each account's positions in
the mirror (net position, cost, realized P&L per instrument) against the exchange's positions at
the end of the business date.

Positions must not be polled (API.md 7.2): one read an account a night is what this check
asks, a page of accounts at a time, as of the date's cut-off. An account whose mirrored
positions changed after the cut-off is compared as it stands now on both sides instead (the
mirror keeps positions as they are, not as they were).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import GatewayError
from backoffice.gateway.results import Position as TheirPosition
from backoffice.reconciliation.checks import CheckContext, CheckPage, Finding
from backoffice.reconciliation.models import BreakType
from participants.selectors import account_pages
from trading.models import Position

ZERO = Decimal(0)


class PositionsCheck:
    name = "positions"
    label = "Positions against the exchange's at the cut-off"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        gateway = get_gateway()
        for accounts in account_pages(context, after):
            context.beat()
            ids = [a.account_id for a in accounts]
            ours: dict[str, dict[str, Position]] = defaultdict(dict)
            for position in Position.objects.filter(account__in=ids):
                ours[position.account][position.symbol] = position
            page = CheckPage(cursor=ids[-1], scopes=ids)
            for account in accounts:
                key = account.account_id
                if context.exchange_failure:
                    page.not_checked[key] = context.exchange_failure
                    continue
                moved_since = any(p.change_time > context.window_end for p in ours[key].values())
                try:
                    theirs = {
                        p.symbol: p
                        for p in gateway.positions(
                            participant_id=account.participant.participant_id,
                            account=key,
                            actor=None,
                            as_of_time=None if moved_since else context.window_end,
                            page_size=1000,
                        ).items()
                    }
                except GatewayError as exc:
                    page.not_checked[key] = context.failed(exc)
                    continue
                page.items += len(set(ours[key]) | set(theirs))
                page.findings += compare(context, key, ours[key], theirs)
            yield page


def _figures(net: Decimal, cost: Decimal, realized: Decimal) -> dict[str, str]:
    return {"net_position": str(net), "cost": str(cost), "realized": str(realized)}


def compare(
    context: CheckContext,
    account: str,
    ours: dict[str, Position],
    theirs: dict[str, TheirPosition],
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
