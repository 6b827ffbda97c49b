"""What the participant page says about a submission: one story in one vocabulary.

The state is ours (KycSubmission.Status), and so are the words for the exchange's decision: the
exchange's own codes (decision, status, sub-status) are kept as evidence but shown only on demand,
since they mix its identity provider's vocabulary with its own. For every state, NEXT_STEPS says
who the case is waiting on and what happens next; a test holds it to the full list of states, so
a new state cannot reach the page without its words.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from participants.models import KycStatusChange, KycSubmission
from participants.states import EXCHANGE_DECISIONS

S = KycSubmission.Status


class WaitingOn(StrEnum):
    COMPLIANCE = "compliance"
    STAFF = "staff"
    EXCHANGE = "the exchange"
    PARTICIPANT = "the participant"
    BACK_OFFICE = "the back-office"  # kyc_sync, in the background
    NOBODY = "nobody"


# Waiting on these, the state changes without anyone acting on this page: the page watches it.
CHANGES_ON_ITS_OWN = frozenset({WaitingOn.EXCHANGE, WaitingOn.PARTICIPANT, WaitingOn.BACK_OFFICE})


@dataclass(frozen=True)
class NextStep:
    waiting_on: WaitingOn
    text: str

    @property
    def live(self) -> bool:
        return self.waiting_on in CHANGES_ON_ITS_OWN


NEXT_STEPS: dict[str, NextStep] = {
    S.HELD_DUPLICATE: NextStep(
        WaitingOn.COMPLIANCE,
        "Another participant has the same SSN. Compliance releases it (with a reason) if this is "
        "a different person, and it is then sent; or withdraws it.",
    ),
    S.PENDING: NextStep(
        WaitingOn.BACK_OFFICE,
        "Saved and about to be sent; kyc_sync sends it if this did not finish.",
    ),
    S.SUBMITTING: NextStep(
        WaitingOn.EXCHANGE,
        "Being sent; the exchange's answer is expected within seconds.",
    ),
    S.SUBMIT_FAILED: NextStep(
        WaitingOn.BACK_OFFICE,
        "Nothing reached the exchange. kyc_sync sends it again; Retry sends it now.",
    ),
    S.SEND_REFUSED: NextStep(
        WaitingOn.STAFF,
        "The exchange refused it, for the reason shown. Once the cause is fixed, retry; "
        "otherwise withdraw it.",
    ),
    S.OUTCOME_UNKNOWN: NextStep(
        WaitingOn.BACK_OFFICE,
        "Sent, but the exchange's answer was lost. kyc_sync asks the exchange what it holds and "
        "records that; it is never sent blind a second time.",
    ),
    S.AWAITING_PROVISIONING: NextStep(
        WaitingOn.EXCHANGE,
        "Approved. The exchange is opening the account; nothing to do here.",
    ),
    S.DOCUMENT_CHECK: NextStep(
        WaitingOn.PARTICIPANT,
        "The participant must complete the photo-ID check at the document-check link; the "
        "exchange then decides.",
    ),
    S.MANUAL_REVIEW: NextStep(
        WaitingOn.EXCHANGE,
        "A person at the exchange is reviewing it; the decision arrives by webhook or kyc_sync.",
    ),
    S.RESUBMIT: NextStep(
        WaitingOn.STAFF,
        "The exchange asks for corrected details. Contact the participant; withdraw it if they "
        "do not follow up.",
    ),
    S.APPROVED: NextStep(WaitingOn.NOBODY, "Onboarded: the exchange opened the account."),
    S.REJECTED: NextStep(WaitingOn.NOBODY, "Rejected by the exchange. This is final."),
    S.WITHDRAWN: NextStep(WaitingOn.NOBODY, "Withdrawn here; it will not be sent."),
}

# Shown for a state the table does not know yet, rather than nothing (the test forbids it).
_UNKNOWN = NextStep(WaitingOn.STAFF, "See the timeline.")


def next_step(status: str) -> NextStep:
    return NEXT_STEPS.get(status, _UNKNOWN)


def waiting_on_exchange() -> list[str]:
    """The states in which a case waits for the exchange (home's count, the queue's filter)."""
    return [status for status, step in NEXT_STEPS.items() if step.waiting_on == WaitingOn.EXCHANGE]


@dataclass(frozen=True)
class ExchangeWord:
    """The exchange's latest decision, in our words, and how and when it arrived."""

    status: str
    label: str
    source: str
    at: dt.datetime


@dataclass(frozen=True)
class KycStory:
    state: str
    state_label: str
    next: NextStep
    exchange_word: ExchangeWord | None
    # The exchange's own codes from its latest answer (evidence, shown on demand).
    codes: tuple[tuple[str, str], ...]
    # A string that changes whenever the state does: the page's live refresh compares it.
    version: str


def version_of(submission: KycSubmission) -> str:
    return f"{submission.pk}.{submission.status}.{submission.status_changed_at.timestamp():.6f}"


def kyc_story(submission: KycSubmission, history: list[KycStatusChange]) -> KycStory:
    decisions = [change for change in history if change.to_status in EXCHANGE_DECISIONS]
    latest = decisions[-1] if decisions else None
    word = (
        ExchangeWord(
            status=latest.to_status,
            label=latest.get_to_status_display(),
            source=latest.get_source_display(),
            at=latest.occurred_at,
        )
        if latest
        else None
    )
    codes = tuple(
        (label, value)
        for label, value in (
            ("decision", submission.decision),
            ("status", submission.exchange_status),
            ("sub-status", submission.exchange_sub_status),
        )
        if value
    )
    return KycStory(
        state=submission.status,
        state_label=submission.get_status_display(),
        next=next_step(submission.status),
        exchange_word=word,
        codes=codes,
        version=version_of(submission),
    )
