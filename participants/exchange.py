"""Onboarding's conversation with the exchange, through the one gateway client."""

from __future__ import annotations

from backoffice.actors import Actor
from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import GatewayError, Outcome, misconfiguration
from backoffice.gateway.inputs import KycAddress, KycApplication
from backoffice.gateway.results import KycEvaluation
from participants.models import KycSubmission
from participants.outcomes import KycOutcome


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
    """Send the submission. AlreadyExists (409) means the exchange holds an approved evaluation
    for this external id: the caller reads it with fetch_kyc_status."""
    return outcome_of(get_gateway().kyc_start(application=application(submission), actor=actor))


def fetch_kyc_status(*, external_id: str, actor: Actor) -> KycOutcome:
    """The exchange's evaluation of `external_id`; NotFound when it has no record of it."""
    return outcome_of(get_gateway().kyc_status(external_id=external_id, actor=actor))


def describe_failure(exc: GatewayError) -> str:
    """What staff are told about a send that did not settle, true to what is known. The
    exchange's own message names the field at fault for a refusal; it never carries the values."""
    code = exc.code
    if exc.outcome is Outcome.NOT_SENT:
        text = (
            f"Not sent: the exchange could not take it now ({code}), so nothing was done there. "
            "It is sent again automatically within a few minutes; Retry sends it now."
        )
    elif exc.outcome is Outcome.REFUSED:
        text = f"Refused by the exchange ({code}): {exc.message or 'no reason given'}"
    elif exc.outcome is Outcome.UNKNOWN:
        text = (
            f"Sent; the exchange's answer is not known yet ({code}) and is being checked. "
            "It will be sent again only if the exchange has no record of it."
        )
    else:
        text = (
            f"Not sent: the connection to the exchange is misconfigured ({misconfiguration(exc)}). "
            "An administrator must fix the settings; it is sent once they are fixed."
        )
    return text[:300]


def describe_unsettled(exc: GatewayError) -> str:
    """What staff are told when asking the exchange about an unknown outcome failed."""
    if exc.outcome is Outcome.MISCONFIGURED:
        text = (
            "Sent; the exchange's answer is not known, and it cannot be asked: the connection is "
            f"misconfigured ({misconfiguration(exc)}). An administrator must fix the settings."
        )
    else:
        text = (
            f"Sent; the exchange's answer is still not known: asking it failed ({exc.code}). "
            "It will be asked again."
        )
    return text[:300]
