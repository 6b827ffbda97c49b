"""Instruments from reference data, page by page (each page one call within the refdata limit)."""

from __future__ import annotations

from django.db import transaction

from backoffice.gateway.client import get_gateway
from trading import mirror

PAGE_SIZE = 1000


def instruments_sync() -> int:
    """Upsert every instrument reference data lists; return how many."""
    count = 0
    for page in get_gateway().instruments(actor=None, page_size=PAGE_SIZE):
        with transaction.atomic(durable=True):
            mirror.apply_instruments(page.items)
        count += len(page.items)
    return count
