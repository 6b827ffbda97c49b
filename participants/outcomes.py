"""What the exchange said about a KYC evaluation, and which state that puts a submission in.

The exchange's decision strings come from its identity provider and may include values not
documented; control flow keys off what is reliable: provisioned ids, the presence of a document
check, and the webhook's event type. The decision string only separates the non-terminal cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from participants.models import KycSubmission

S = KycSubmission.Status


@dataclass(frozen=True)
class KycOutcome:
    decision: str = ""
    exchange_status: str = ""
    sub_status: str = ""
    docv_url: str = ""
    docv_token: str = ""
    participant_id: str = ""
    account_id: str = ""
    rejection_reason: str = ""
    # From a webhook: "kyc.approved" or "kyc.rejected", which is final whatever `decision` says.
    event_type: str = ""


def target_status(outcome: KycOutcome) -> str:
    decision = outcome.decision.upper()
    if outcome.event_type == "kyc.rejected":
        return S.REJECTED
    if outcome.participant_id and outcome.account_id:
        return S.APPROVED
    if outcome.event_type == "kyc.approved":
        return S.AWAITING_PROVISIONING
    if outcome.docv_url or outcome.docv_token:
        return S.DOCUMENT_CHECK
    if decision in {"ACCEPT", "APPROVED"}:
        return S.AWAITING_PROVISIONING
    if decision == "REJECT":
        return S.REJECTED
    if decision == "RESUBMIT":
        return S.RESUBMIT
    # REVIEW without a document check, or anything new: a person at the exchange decides, and the
    # webhook or the status poll will bring the result.
    return S.MANUAL_REVIEW
