"""Where a request stands, in words that are true to what is known: one sentence for its page,
its row in the queue and the message after an action."""

from __future__ import annotations

from dataclasses import dataclass

from funding.models import Direction, FundingRequest
from funding.services import supervisor_threshold, usd

S = FundingRequest.Status


@dataclass(frozen=True)
class Standing:
    level: str  # success, info, warning, error: the message styles
    text: str


def where_it_stands(request: FundingRequest) -> Standing:
    status = request.status
    error = request.last_error
    moved = "deposited to" if request.direction == Direction.DEPOSIT else "withdrawn from"
    if status == S.DRAFT:
        return Standing("info", "A draft: its maker has not sent it for approval yet.")
    if status == S.AWAITING_APPROVAL:
        if error:
            return Standing("warning", error)
        if request.approved_by_id is not None:
            return Standing(
                "info",
                f"Approved by {request.approved_by}; above {usd(supervisor_threshold())} a "
                "supervisor must approve it too.",
            )
        return Standing(
            "info",
            f"Waiting for a checker: anyone in treasury but {request.requested_by} may approve it.",
        )
    if status == S.APPROVED:
        if error:
            return Standing("warning", error)
        return Standing(
            "info", "Approved and not sent yet; it is sent by the next run of funding_resume."
        )
    if status == S.SUBMITTING:
        return Standing(
            "info",
            "Being sent to the exchange. Should the sending process stop before the answer is "
            "recorded, funding_resume replays it under the same key, so it is never paid twice.",
        )
    if status == S.PENDING:
        return Standing(
            "info",
            "Sent; the exchange holds it as pending. funding_resume asks until it is final.",
        )
    if status == S.AMBIGUOUS:
        return Standing(
            "warning",
            error
            or "Sent; the exchange reports its outcome as ambiguous. funding_resume replays it "
            "under the same key until the exchange gives a final answer.",
        )
    if status == S.OUTCOME_UNKNOWN:
        return Standing(
            "warning", error or "Sent; the exchange's answer is not known yet and is being checked."
        )
    if status == S.CONFIRMED:
        return Standing(
            "success",
            f"Confirmed by the exchange: {usd(request.amount)} {moved} "
            f"{request.account.account_id} (transfer {request.dco_transfer_id or 'id not given'}).",
        )
    if status == S.REJECTED:
        reason = request.rejection_reason or "no reason given"
        return Standing("error", f"Rejected by the exchange: {reason}. No money moved.")
    if status == S.REFUSED:
        return Standing("error", error or "Refused by the exchange; no movement was created.")
    if status == S.DECLINED:
        return Standing("error", f"Declined by a checker: {request.staff_reason}")
    return Standing("info", f"Cancelled: {request.staff_reason}")
