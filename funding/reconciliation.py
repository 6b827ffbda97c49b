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
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db.models import Case, DecimalField, F, Q, Sum, When

from backoffice.gateway.client import Gateway, get_gateway
from backoffice.gateway.errors import GatewayError
from backoffice.gateway.results import AccountBalance, BalanceLedgerEntry
from backoffice.reconciliation.checks import FIRM, CheckContext, CheckPage, Finding
from backoffice.reconciliation.errors import ReconciliationError
from backoffice.reconciliation.models import Break, BreakType, TimingDifference
from backoffice.reconciliation.services import LinkedMovement
from funding.models import Direction, FundingRequest, FundingStatus, PoolTotals
from participants.models import Account
from participants.selectors import account_pages
from trading.replay import at_cutoff

LEDGER_TYPES = {Direction.DEPOSIT: "DEPOSIT", Direction.WITHDRAWAL: "WITHDRAWAL"}
ZERO = Decimal(0)
CENT = Decimal("0.01")
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


def exchange_balance(context: CheckContext, gateway: Gateway, account: Account) -> AccountBalance:
    """The account's USD balance now, read once a run whichever check asks first (balances
    "must not be polled", API.md 5.4)."""
    return context.once(
        ("balance", account.account_id),
        partial(
            gateway.balance,
            participant_id=account.participant.participant_id,
            account=account.account_id,
            actor=None,
        ),
    )


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
        since = context.last_clean_end or context.window_start
        read = partial(self._read, context, since)
        with closing(context.prefetch(gateway, self._ours(context, after), read)) as pages:
            for (accounts, page, ours), theirs in pages:
                context.beat()
                for account in accounts:
                    key = account.account_id
                    if key not in theirs:
                        continue
                    page.items += len(ours[key]) + len(theirs[key])
                    page.findings += pair(context, key, ours[key], theirs[key])
                yield page

    def _ours(
        self, context: CheckContext, after: str
    ) -> Iterator[tuple[list[Account], CheckPage, dict[str, list[FundingRequest]]]]:
        """Each page of accounts with our confirmed movements around the business date."""
        grace = context.timing_grace
        for accounts, page in account_pages(context, after):
            ours: dict[str, list[FundingRequest]] = defaultdict(list)
            for request in FundingRequest.objects.filter(
                account__account_id__in=list(page.scopes),
                status=FundingStatus.CONFIRMED,
                settled_at__gt=context.window_start - grace,
                settled_at__lte=context.window_end + grace,
            ).select_related("account"):
                ours[request.account.account_id].append(request)
            yield accounts, page, ours

    def _read(
        self,
        context: CheckContext,
        since: dt.datetime,
        item: tuple[list[Account], CheckPage, dict[str, list[FundingRequest]]],
        gateway: Gateway,
    ) -> dict[str, list[Theirs]]:
        """The ledger entries of each account of the page that could be read."""
        accounts, page, ours = item
        return context.read_each(
            page,
            (
                (
                    a.account_id,
                    partial(self._ledger, gateway, context, a, bool(ours[a.account_id]), since),
                )
                for a in accounts
            ),
        )

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
            balance = exchange_balance(context, gateway, account)
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


@dataclass(frozen=True)
class ExchangeCash:
    """An account's balance at the exchange at the cut-off and at the end of the grace after it,
    and where they were read."""

    at_cutoff: Decimal
    after_grace: Decimal
    evidence: dict[str, str]


class CashCheck:
    """Each account's cash as the firm's records make it at the cut-off (confirmed movements,
    and what its trades, their commissions, busts and settlements moved, replayed from the
    trading mirror) against the exchange's balance then.

    There is no point-in-time balance read for many accounts at once (the valuations statement
    carries positions' totals, not cash), so the exchange's figure comes from the account's
    balance read (once a run, shared with the movements check): when it has not changed since
    the cut-off it is the balance then. Otherwise, and only then, one balance-ledger read (0.5 a
    second) of the entries after the cut-off gives it: the first one's balance before it.

    A difference the grace after the cut-off explains (both sides agree once it has passed: an
    item booked on either side of the cut-off) is a timing difference, recorded under the
    cut-off's key; the next date's run, finding the account agree at its own cut-off, matches it.
    """

    name = "cash"
    label = "Cash balances against the exchange's at the cut-off"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        gateway = get_gateway()
        cutoff, later = context.window_end, context.window_end + context.timing_grace
        read = partial(self._read, context)
        with closing(context.prefetch(gateway, account_pages(context, after), read)) as pages:
            for (accounts, page), theirs in pages:
                context.beat()
                ids = list(page.scopes)
                moved = _movements(ids, cutoff, later)
                traded_at, traded_later = at_cutoff(context, ids)
                carried = _carried(self.name, ids, context.business_date)
                for account in accounts:
                    key = account.account_id
                    if key not in theirs:
                        continue
                    movements_at, movements_later = moved.get(key, (ZERO, ZERO))
                    ours = Ours(
                        movements=movements_at,
                        trading=traded_at.cash[key],
                        after_grace=movements_later + traded_later.cash[key],
                    )
                    page.items += 1
                    page.findings += compare_cash(
                        context, key, ours, theirs[key], carried.get(key, [])
                    )
                yield page

    def _read(
        self, context: CheckContext, item: tuple[list[Account], CheckPage], gateway: Gateway
    ) -> dict[str, ExchangeCash]:
        """The exchange's cash of each account of the page that could be read."""
        accounts, page = item
        return context.read_each(
            page, ((a.account_id, partial(self._theirs, gateway, context, a)) for a in accounts)
        )

    def _theirs(self, gateway: Gateway, context: CheckContext, account: Account) -> ExchangeCash:
        cutoff, later = context.window_end, context.window_end + context.timing_grace
        balance = exchange_balance(context, gateway, account)
        read = balance.update_time.isoformat() if balance.update_time else ""
        if balance.update_time is not None and balance.update_time <= cutoff:
            evidence = {"exchange_balance": _money(balance.balance), "balance_time": read}
            return ExchangeCash(balance.balance, balance.balance, evidence)
        entries = gateway.balance_ledger(
            participant_id=account.participant.participant_id,
            account=account.account_id,
            actor=None,
            currency="USD",
            start_time=cutoff,
        )
        first: BalanceLedgerEntry | None = None  # the first entry after the cut-off
        at_later = None
        for entry in entries.items():
            if entry.update_time is None or entry.update_time <= cutoff:
                continue  # startTime is inclusive: an entry at the cut-off belongs to the date
            first = first or entry
            if entry.update_time > later:
                break
            at_later = entry.after_balance
        # No entry after the cut-off at all (the balance's time moved without one): it is now's.
        at_cutoff = first.before_balance if first is not None else balance.balance
        evidence = {
            "exchange_balance": _money(balance.balance),
            "balance_time": read,
            "ledger_entry_after_cutoff": first.id if first is not None else "",
        }
        return ExchangeCash(at_cutoff, at_cutoff if at_later is None else at_later, evidence)


@dataclass(frozen=True)
class Ours:
    """An account's cash by the firm's records at the cut-off (its parts), and after the grace."""

    movements: Decimal
    trading: Decimal
    after_grace: Decimal

    @property
    def at_cutoff(self) -> Decimal:
        return self.movements + self.trading


def _movements(
    ids: list[str], cutoff: dt.datetime, later: dt.datetime
) -> dict[str, tuple[Decimal, Decimal]]:
    """Per account, confirmed deposits less withdrawals up to the cut-off and up to `later`."""
    signed = Case(
        When(direction=Direction.WITHDRAWAL, then=-F("amount")),
        default=F("amount"),
        output_field=DecimalField(max_digits=18, decimal_places=2),
    )
    rows = (
        FundingRequest.objects.filter(
            account__account_id__in=ids, status=FundingStatus.CONFIRMED, settled_at__lte=later
        )
        .values("account__account_id")
        .annotate(
            at_cutoff=Sum(signed, filter=Q(settled_at__lte=cutoff), default=ZERO),
            at_later=Sum(signed, default=ZERO),
        )
        .order_by()
    )
    return {row["account__account_id"]: (row["at_cutoff"], row["at_later"]) for row in rows}


def _carried(name: str, ids: list[str], before: dt.date) -> dict[str, list[str]]:
    """The keys of timing differences earlier dates' runs carried for these accounts."""
    carried: dict[str, list[str]] = defaultdict(list)
    for account, key in TimingDifference.objects.filter(
        check_name=name,
        account__in=ids,
        status=TimingDifference.Status.CARRIED,
        run__business_date__lt=before,
    ).values_list("account", "key"):
        carried[account].append(key)
    return carried


def _money(value: Decimal) -> str:
    """Dollars with their cents (databases sum to different exponents); finer stays finer."""
    cents = value.quantize(CENT)
    return str(cents if cents == value else value)


def compare_cash(
    context: CheckContext, account: str, ours: Ours, theirs: ExchangeCash, carried: list[str]
) -> list[Finding]:
    evidence = theirs.evidence | {
        "movements": _money(ours.movements),
        "trading": _money(ours.trading),
        "ours_after_grace": _money(ours.after_grace),
        "theirs_after_grace": _money(theirs.after_grace),
    }
    if context.matches(ours.at_cutoff, theirs.at_cutoff):
        # Agreeing now settles what an earlier cut-off split.
        return [
            Finding(
                key=key,
                break_type=BreakType.AMOUNT_MISMATCH,
                summary=f"Cash agrees at the cut-off of {context.business_date}",
                account=account,
                ours=ours.at_cutoff,
                theirs=theirs.at_cutoff,
                evidence=evidence,
                timing=True,
            )
            for key in carried
        ]
    timing = context.matches(ours.after_grace, theirs.after_grace)
    summary = (
        f"Cash {ours.at_cutoff} here (movements {ours.movements}, trading {ours.trading}), "
        f"{theirs.at_cutoff} at the exchange at the cut-off"
    )
    return [
        Finding(
            key=f"cash|{account}|{context.window_end.isoformat()}" if timing else f"cash|{account}",
            break_type=BreakType.AMOUNT_MISMATCH,
            summary=summary + ("; they agree once the grace after it has passed" if timing else ""),
            account=account,
            subject="USD",
            ours=ours.at_cutoff,
            theirs=theirs.at_cutoff,
            evidence=evidence,
            timing=timing,
        )
    ]


class PoolCheck:
    name = "pool"
    label = "The pool: top-ups - deposits + withdrawals"

    def pages(self, context: CheckContext, *, after: str) -> Iterator[CheckPage]:
        if after or context.accounts:
            return  # firm-level figures: one page, and none for a run of some accounts only
        totals = PoolTotals.objects.filter(currency="USD").first() or PoolTotals(currency="USD")
        page = CheckPage(cursor="pool", scopes=[FIRM], items=1)
        # Asked even after an account's read failed: the pool is read from another endpoint.
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
