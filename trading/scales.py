"""Instrument scales for conversions, from the mirror's instruments (the instrument stream keeps
them current), else from reference data through the gateway (cached there for an hour)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from backoffice.gateway.client import Gateway
from backoffice.gateway.scales import Scales
from trading.models import Instrument


class MirrorScales:
    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self._lock = threading.Lock()
        self._known: dict[str, Scales] = {}

    def lookup(self, symbol: str) -> Scales:
        with self._lock:
            found = self._known.get(symbol)
        if found is not None:
            return found
        row = (
            Instrument.objects.filter(symbol=symbol).values_list("price_scale", "qty_scale").first()
        )
        if row is not None:
            found = Scales(price_scale=row[0], qty_scale=row[1])
        else:
            found = self._gateway.scales_for(symbol, actor=None)
        with self._lock:
            self._known[symbol] = found
        return found

    def forget(self, symbols: Iterable[str]) -> None:
        with self._lock:
            for symbol in symbols:
                self._known.pop(symbol, None)
