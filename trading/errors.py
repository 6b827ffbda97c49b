"""The trading app's one domain error type, and the errors the mirror's consumer raises."""

from __future__ import annotations


class TradingError(Exception):
    """A trading action was refused; the message says why, for staff."""


class LeaseLost(TradingError):
    """Another consumer holds the stream lease now: this one must stop applying."""
