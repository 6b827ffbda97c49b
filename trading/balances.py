"""Balances are read at a point in time (the exchange has no firm-wide balance stream, and its
per-account ledger streams would spend the 20-stream cap), on a staff member's request."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.gateway.client import get_gateway
from participants.models import Participant
from trading.errors import TradingError
from trading.models import BalanceSnapshot


def balances_refresh(*, participant: Participant, actor: Actor) -> int:
    """Read each of the participant's accounts' USD balance and keep it with its time; return
    how many accounts were read. A failure raises the gateway's error, and nothing is kept."""
    if not participant.participant_id:
        raise TradingError("The exchange has not provisioned this participant yet.")
    accounts = list(participant.accounts.values_list("account_id", flat=True))
    gateway = get_gateway()
    read = [
        gateway.balance(participant_id=participant.participant_id, account=account, actor=actor)
        for account in accounts
    ]
    now = timezone.now()
    with transaction.atomic(durable=True):
        for account, balance in zip(accounts, read, strict=True):
            BalanceSnapshot.objects.update_or_create(
                account=account,
                defaults={
                    "currency": balance.currency,
                    "cash": balance.balance,
                    "buying_power": balance.buying_power,
                    "open_orders": balance.open_orders,
                    "as_of": balance.update_time or now,
                    "read_at": now,
                },
            )
    return len(read)
