"""Reconciliation's one domain error: every refusal a person can meet working a break."""

from __future__ import annotations


class ReconciliationError(Exception):
    """An action on a break refused. `field` names the form field at fault, when there is one;
    `message` is for staff."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
