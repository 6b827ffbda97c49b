"""Funding's reconciliation checks (BACKOFFICE_RECONCILIATION_CHECKS) and the link a break's
"money moved" resolution makes to the funding request that moved it.

* `MovementsCheck`: every confirmed cash movement against the exchange's balance ledger
  (`DEPOSIT` / `WITHDRAWAL` entries), one to one. The ledger is read (0.5 a second for the firm)
  only for accounts with activity: a movement of ours near the business date, or an exchange
  balance that changed since the last clean run (one balance read an account tells).
* `PoolCheck`: the pool identity, top-ups - deposits + withdrawals, against
  GetFundingAccountBalance.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from backoffice.gateway.client import Gateway, get_gateway
from backoffice.gateway.errors import GatewayError
from backoffice.gateway.results import BalanceLedgerEntry
from backoffice.reconciliation.checks import FIRM, CheckContext, CheckPage, Finding
from backoffice.reconciliation.errors import ReconciliationError
from backoffice.reconciliation.models import Break, BreakType
from backoffice.reconciliation.services import LinkedMovement
from funding.models import Direction, FundingRequest, FundingStatus, PoolTotals
from participants.models import Account
from participants.selectors import account_pages

LEDGER_TYPES = {Direction.DEPOSIT: "DEPOSIT", Direction.WITHDRAWAL: "WITHDRAWAL"}
FULL_TYPE = {f"LEDGER_ENTRY_TYPE_BALANCE_{name}": d for d, name in LEDGER_TYPES.items()}


@dataclass(frozen=True)
class Theirs:
    """A DEPOSIT or WITHDRAWAL entry of the exchange's balance ledger."""

    id: str
    direction: str
    amount: Decimal  # positive, as our requests carry it
    at: dt.datetime

    @classmethod
    def of(cls, entry: BalanceLedgerEntry) -> Theirs | None:
        direction = FULL_TYPE.get(entry.entry_type)
        if direction is None or entry.update_time is None:
            return None
        return cls(entry.id, direction, abs(entry.amount), entry.update_time)


def _ours_evidence(request: FundingRequest) -> dict[str, str]:
    return {
        "funding_request": str(request.pk),
        "workflow_id": request.workflow_id,
        "dco_transfer_id": request.dco_transfer_id,
        "external_reference": request.external_reference,
        "confirmed_at": request.settled_at.isoformat() if request.settled_at else "",
    }


def _theirs_evidence(entry: Theirs) -> dict[str, str]:
    return {"ledger_entry": entry.id, "ledger_time": entry.at.isoformat()}


class MovementsCheck:
    name = "movements"
    label = "Cash movements against the balance ledger"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        gateway = get_gateway()
        grace = context.timing_grace
        since = context.last_clean_end or context.window_start
        for accounts in account_pages(context, after):
            context.beat()
            ids = [a.account_id for a in accounts]
            ours: dict[str, list[FundingRequest]] = defaultdict(list)
            for request in FundingRequest.objects.filter(
                account__account_id__in=ids,
                status=FundingStatus.CONFIRMED,
                settled_at__gt=context.window_start - grace,
                settled_at__lte=context.window_end + grace,
            ).select_related("account"):
                ours[request.account.account_id].append(request)
            page = CheckPage(cursor=ids[-1], scopes=ids)
            for account in accounts:
                key = account.account_id
                if context.exchange_failure:
                    page.not_checked[key] = context.exchange_failure
                    continue
                try:
                    theirs = self._ledger(gateway, context, account, bool(ours[key]), since)
                except GatewayError as exc:
                    page.not_checked[key] = context.failed(exc)
                    continue
                page.items += len(ours[key]) + len(theirs)
                page.findings += pair(context, key, ours[key], theirs)
            yield page

    def _ledger(
        self,
        gateway: Gateway,
        context: CheckContext,
        account: Account,
        has_ours: bool,
        since: dt.datetime,
    ) -> list[Theirs]:
        """The account's DEPOSIT and WITHDRAWAL entries around the business date, read only when
        something moved: a movement of ours, or a balance the exchange changed since `since`."""
        pid = account.participant.participant_id
        if not has_ours:
            balance = gateway.balance(participant_id=pid, account=account.account_id, actor=None)
            if balance.update_time is not None and balance.update_time <= since:
                return []
        entries = gateway.balance_ledger(
            participant_id=pid,
            account=account.account_id,
            actor=None,
            start_time=context.window_start - context.timing_grace,
            end_time=context.window_end + context.timing_grace,
            entry_types=LEDGER_TYPES.values(),
        )
        found = (Theirs.of(entry) for entry in entries.items())
        return [entry for entry in found if entry is not None]


def _within(context: CheckContext, moment: dt.datetime) -> bool:
    return context.window_start < moment <= context.window_end


def pair(
    context: CheckContext, account: str, ours: list[FundingRequest], theirs: list[Theirs]
) -> list[Finding]:
    """Pair each request with one ledger entry (same direction and amount, nearest in time);
    what is left over on either side within the business date is a break, and a pair split by
    the cut-off is a timing difference."""
    findings: list[Finding] = []
    left = sorted(theirs, key=lambda e: e.at)
    unpaired: list[FundingRequest] = []
    for request in sorted(ours, key=lambda r: (r.settled_at, r.pk)):
        assert request.settled_at is not None
        candidates = [
            e for e in left if e.direction == request.direction and e.amount == request.amount
        ]
        if not candidates:
            unpaired.append(request)
            continue
        entry = min(candidates, key=lambda e: abs(e.at - request.settled_at))  # type: ignore[operator]
        left.remove(entry)
        here, there = _within(context, request.settled_at), _within(context, entry.at)
        if here != there:
            findings.append(
                Finding(
                    key=f"movement|{request.pk}",
                    break_type=BreakType.MISSING_AT_EXCHANGE if here else BreakType.MISSING_HERE,
                    summary=f"{request.get_direction_display()} of {request.amount} across the "
                    "cut-off: confirmed here and booked at the exchange on either side of it",
                    account=account,
                    subject=request.workflow_id,
                    ours=request.amount,
                    theirs=entry.amount,
                    evidence=_ours_evidence(request) | _theirs_evidence(entry),
                    timing=True,
                )
            )
    matched_amounts = {(r.direction, r.amount) for r in ours} - {
        (r.direction, r.amount) for r in unpaired
    }
    extra = [e for e in left if _within(context, e.at)]
    for request in unpaired:
        assert request.settled_at is not None
        if not _within(context, request.settled_at):
            continue
        same_way = [e for e in extra if e.direction == request.direction]
        if same_way:
            entry = min(same_way, key=lambda e: abs(e.at - request.settled_at))  # type: ignore[operator]
            extra.remove(entry)
            findings.append(
                Finding(
                    key=f"movement|{request.pk}",
                    break_type=BreakType.AMOUNT_MISMATCH,
                    summary=f"{request.get_direction_display()}: {request.amount} here, "
                    f"{entry.amount} in the exchange's ledger",
                    account=account,
                    subject=request.workflow_id,
                    ours=request.amount,
                    theirs=entry.amount,
                    evidence=_ours_evidence(request) | _theirs_evidence(entry),
                )
            )
            continue
        findings.append(
            Finding(
                key=f"movement|{request.pk}",
                break_type=BreakType.MISSING_AT_EXCHANGE,
                summary=f"{request.get_direction_display()} of {request.amount} confirmed here "
                "has no entry in the exchange's balance ledger",
                account=account,
                subject=request.workflow_id,
                ours=request.amount,
                evidence=_ours_evidence(request),
            )
        )
    for entry in extra:
        duplicate = (entry.direction, entry.amount) in matched_amounts
        kind = "DEPOSIT" if entry.direction == Direction.DEPOSIT else "WITHDRAWAL"
        findings.append(
            Finding(
                key=f"entry|{entry.id}",
                break_type=BreakType.DUPLICATE if duplicate else BreakType.MISSING_HERE,
                summary=f"{kind} of {entry.amount} in the exchange's ledger "
                + ("repeats a movement already matched" if duplicate else "with no request here"),
                account=account,
                subject=entry.id,
                theirs=entry.amount,
                evidence=_theirs_evidence(entry),
            )
        )
    return findings


class PoolCheck:
    name = "pool"
    label = "The pool: top-ups - deposits + withdrawals"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        if after or context.accounts:
            return  # firm-level figures: one page, and none for a run of some accounts only
        totals = PoolTotals.objects.filter(currency="USD").first() or PoolTotals(currency="USD")
        page = CheckPage(cursor="pool", scopes=[FIRM], items=1)
        try:
            balance = get_gateway().funding_account_balance(actor=None)
        except GatewayError as exc:
            page.not_checked[FIRM] = context.failed(exc)
            yield page
            return
        expected = totals.expected_balance
        if not context.matches(expected, balance.balance):
            page.findings.append(
                Finding(
                    key="pool|USD",
                    break_type=BreakType.AMOUNT_MISMATCH,
                    summary=f"The pool holds {balance.balance} at the exchange; top-ups "
                    f"{totals.top_ups} - deposits {totals.deposits} + withdrawals "
                    f"{totals.withdrawals} = {expected}",
                    subject=balance.funding_account_id,
                    ours=expected,
                    theirs=balance.balance,
                    evidence={
                        "funding_account": balance.funding_account_id,
                        "as_of": balance.as_of.isoformat() if balance.as_of else "",
                        "top_ups": str(totals.top_ups),
                        "deposits": str(totals.deposits),
                        "withdrawals": str(totals.withdrawals),
                    },
                )
            )
        yield page


def link_movement(*, reference: str, break_record: Break) -> LinkedMovement:
    """The funding request a "money moved" resolution names: it must exist, be confirmed at the
    exchange (so approved by four eyes, and above the threshold by a supervisor too) and, for a
    break on an account, move money on that account."""
    number = reference.removeprefix("#").strip()
    if not number.isascii() or not number.isdecimal() or len(number) > 18:
        raise ReconciliationError(
            "A funding request is named by its number.", field="funding_request"
        )
    request = FundingRequest.objects.select_related("account").filter(pk=int(number)).first()
    if request is None:
        raise ReconciliationError(
            f"There is no funding request #{number}.", field="funding_request"
        )
    if request.status != FundingStatus.CONFIRMED:
        raise ReconciliationError(
            f"Funding request #{number} is “{request.get_status_display()}”: only a confirmed "
            "request has moved money.",
            field="funding_request",
        )
    if break_record.account and request.account.account_id != break_record.account:
        raise ReconciliationError(
            f"Funding request #{number} moved money on another account.", field="funding_request"
        )
    return LinkedMovement(
        reference=f"funding.fundingrequest:{request.pk}",
        label=f"{request}, confirmed",
    )
