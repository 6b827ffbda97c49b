"""Instruments from reference data, page by page (each page one call within the refdata limit),
and the settlement price of each market once it has settled."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from backoffice.gateway.client import Gateway, get_gateway
from trading import mirror
from trading.models import Instrument

PAGE_SIZE = 1000
SETTLED_STATES = ("EXPIRED", "TERMINATED")


def instruments_sync() -> int:
    """Upsert every instrument reference data lists; return how many."""
    gateway = get_gateway()
    count = 0
    for page in gateway.instruments(actor=None, page_size=PAGE_SIZE):
        with transaction.atomic(durable=True):
            mirror.apply_instruments(page.items)
        count += len(page.items)
    settlements_fetch(gateway=gateway)
    return count


def settlements_fetch(*, gateway: Gateway, symbols: Iterable[str] | None = None) -> int:
    """Read the final settlement of every settled instrument that has none yet (of `symbols`,
    if given); return how many were recorded. The exchange answers without a price until the
    settlement is final, and such an instrument is asked again next time."""
    pending = Instrument.objects.filter(state__in=SETTLED_STATES, settlement_price__isnull=True)
    if symbols is not None:
        pending = pending.filter(symbol__in=list(symbols))
    recorded = 0
    for symbol in pending.values_list("symbol", flat=True):
        settlement = gateway.settlement(symbol=symbol, actor=None)
        if settlement.settled and not settlement.preliminary:
            Instrument.objects.filter(symbol=symbol).update(
                settlement_price=settlement.settlement_price, settled_at=settlement.set_time
            )
            recorded += 1
    return recorded
