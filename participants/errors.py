"""Onboarding's one domain error. Every refusal a person can meet (a bad field, a state that no
longer allows the action) is an OnboardingError with words for staff, so views catch one type."""

from __future__ import annotations


class OnboardingError(Exception):
    """An onboarding action refused. `field` names the form field at fault, when there is one;
    `message` is for staff."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
