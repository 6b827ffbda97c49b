"""How submissions look on pages and in exports: masked by default, always."""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.pii import masking
from participants.models import KycSubmission, Participant

# The personal fields a compliance officer may reveal, one at a time, giving a reason.
REVEALABLE_FIELDS = {
    "name": "Name",
    "ssn": "SSN",
    "date_of_birth": "Date of birth",
    "email": "Email",
    "phone_number": "Phone",
    "address": "Address",
    "ip_address": "IP address",
}


@dataclass(frozen=True)
class MaskedIdentity:
    name: str
    ssn: str
    date_of_birth: str
    email: str
    phone_number: str
    address: str
    ip_address: str


def masked_identity(submission: KycSubmission) -> MaskedIdentity:
    names = [submission.first_name, submission.middle_name, submission.last_name]
    return MaskedIdentity(
        name=" ".join(masking.mask_name(n) for n in names if n),
        ssn=masking.mask_ssn(submission.ssn),
        date_of_birth=masking.mask_date(submission.date_of_birth),
        email=masking.mask_email(submission.email),
        phone_number=masking.mask_phone(submission.phone_number),
        address=masking.mask_text(submission.address_line_1),
        ip_address=masking.mask_text(submission.ip_address),
    )


def identity_rows(submission: KycSubmission) -> list[tuple[str, str, str]]:
    """(field, label, masked value) for the identity panel, in the order staff read them."""
    masked = masked_identity(submission)
    return [(field, label, getattr(masked, field)) for field, label in REVEALABLE_FIELDS.items()]


@dataclass(frozen=True)
class ParticipantRow:
    """One line of the participants list or of search results, masked."""

    participant: Participant
    name: str
    kyc_status: str
    kyc_status_label: str
    # Search results: which of the term's readings found this participant ("SSN", "id").
    matched: tuple[str, ...] = ()


def participant_row(participant: Participant, matched: tuple[str, ...] = ()) -> ParticipantRow:
    """`participant` as annotated by selectors.with_latest_submission."""
    names = [getattr(participant, "kyc_first_name", ""), getattr(participant, "kyc_last_name", "")]
    status = getattr(participant, "kyc_status", "") or ""
    return ParticipantRow(
        participant=participant,
        name=" ".join(masking.mask_name(n) for n in names if n),
        kyc_status=status,
        kyc_status_label=KycSubmission.Status(status).label if status else "",
        matched=matched,
    )
