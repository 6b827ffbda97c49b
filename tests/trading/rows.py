"""Mirror rows for page tests, written as the consumer writes them (set-based, in bulk)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from participants.models import Account, Participant
from tests.factories import ParticipantFactory
from trading.models import Execution, Order

T0 = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)
SYMBOL = "aec-nfl-ne-den-2026-01-25"


def participant_with_account(external_id: str, account: str) -> Participant:
    person = ParticipantFactory.create(
        external_id=external_id, participant_id=f"firms/ISV-Participant-Acme/users/{external_id}"
    )
    Account.objects.create(participant=person, account_id=account)
    return person


def _tag(account: str) -> str:
    return "".join(ch for ch in account[-4:] if ch.isalnum())


def orders(count: int, *, account: str, state: str = "NEW", start: int = 0) -> list[Order]:
    rows = [
        Order(
            exchange_id=f"O{_tag(account)}{n:06d}",
            clord_id=f"c{n}",
            account=account,
            symbol=SYMBOL,
            side="BUY" if n % 2 == 0 else "SELL",
            order_type="LIMIT",
            time_in_force="GOOD_TILL_CANCEL",
            state=state,
            price=Decimal("0.45"),
            order_qty=Decimal(10),
            cum_qty=Decimal(0),
            leaves_qty=Decimal(10),
            commission_total=Decimal(0),
            insert_time=T0 + dt.timedelta(seconds=n),
            last_transact_time=T0 + dt.timedelta(seconds=n),
            state_rank=1,
        )
        for n in range(start, start + count)
    ]
    return Order.objects.bulk_create(rows)


def executions(count: int, *, account: str, start: int = 0) -> list[Execution]:
    rows = [
        Execution(
            exchange_id=f"E{_tag(account)}{n:06d}",
            order_exchange_id=f"O{_tag(account)}{n:06d}",
            account=account,
            symbol=SYMBOL,
            side="BUY",
            exec_type="FILL",
            order_state="FILLED",
            last_shares=Decimal(10),
            last_px=Decimal("0.45"),
            cum_qty=Decimal(10),
            leaves_qty=Decimal(0),
            commission=Decimal("0.17"),
            trade_id=f"T{n}",
            transact_time=T0 + dt.timedelta(seconds=n),
            trade_date=T0.date(),
        )
        for n in range(start, start + count)
    ]
    return Execution.objects.bulk_create(rows)
