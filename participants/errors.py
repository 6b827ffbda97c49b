"""Onboarding's one domain error. Every refusal a person can meet (a bad field, a state that no
longer allows the action) is an OnboardingError with words for staff, so views catch one type."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from participants.outcomes import KycOutcome


class OnboardingError(Exception):
    """An onboarding action refused. `field` names the form field at fault, when there is one;
    `message` is for staff."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ExchangeContradicts(OnboardingError):
    """The exchange's answer cannot be applied to the submission as it stands (a different
    decision, a move the state machine does not make, an account that is someone else's).
    `outcome` is the answer, for the record a person decides on (participants/attention.py)."""

    def __init__(self, message: str, *, outcome: KycOutcome) -> None:
        super().__init__(message)
        self.outcome = outcome
