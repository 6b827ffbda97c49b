"""Onboarding's conversation with the exchange, through the one gateway client."""

from __future__ import annotations

from backoffice.actors import Actor
from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import (
    AlreadyExists,
    GatewayError,
    GatewayNotConfigured,
    PermanentError,
)
from backoffice.gateway.inputs import KycAddress, KycApplication
from backoffice.gateway.results import KycEvaluation
from participants.models import KycSubmission
from participants.outcomes import KycOutcome


class AlreadyEvaluated(Exception):
    """The exchange already holds an approved evaluation for this external id (HTTP 409)."""


def application(submission: KycSubmission) -> KycApplication:
    return KycApplication(
        external_id=submission.participant.external_id,
        first_name=submission.first_name,
        middle_name=submission.middle_name,
        last_name=submission.last_name,
        date_of_birth=submission.date_of_birth,
        ssn=submission.ssn,
        email=submission.email,
        phone_number=submission.phone_number,
        address=KycAddress(
            address_line_1=submission.address_line_1,
            address_line_2=submission.address_line_2,
            city=submission.city,
            state=submission.state,
            postal_code=submission.postal_code,
            country=submission.country,
        ),
        ip_address=submission.ip_address,
        agreement_version=submission.agreement_version,
        agreement_signed_at=submission.agreement_signed_at,
        session_token=submission.session_token,
        docv_eligible=submission.docv_eligible,
    )


def outcome_of(status: KycEvaluation) -> KycOutcome:
    return KycOutcome(
        decision=status.decision,
        exchange_status=status.status,
        sub_status=status.sub_status,
        docv_url=status.docv.url if status.docv else "",
        docv_token=status.docv.transaction_token if status.docv else "",
        participant_id=status.participant_id,
        account_id=status.provisioned_account,
    )


def start_kyc(*, submission: KycSubmission, actor: Actor) -> KycOutcome:
    try:
        status = get_gateway().kyc_start(application=application(submission), actor=actor)
    except AlreadyExists as exc:
        raise AlreadyEvaluated from exc
    return outcome_of(status)


def fetch_kyc_status(*, external_id: str, actor: Actor) -> KycOutcome:
    return outcome_of(get_gateway().kyc_status(external_id=external_id, actor=actor))


def describe_failure(exc: GatewayError) -> str:
    """Words for staff about a failed send. The exchange's own message names the field at fault
    for a refusal; it never carries the submitted values."""
    if isinstance(exc, GatewayNotConfigured):
        return (
            f"Nothing was sent: the connection to the exchange is not configured ({exc.message})."[
                :300
            ]
        )
    if isinstance(exc, PermanentError):
        return f"The exchange refused the submission ({exc.code}): {exc.message}"[:300]
    return f"The exchange did not answer ({exc.code}); nothing was sent twice."
