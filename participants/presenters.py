"""How submissions look on pages and in exports: masked by default, always."""

from __future__ import annotations

from dataclasses import dataclass

from backoffice.pii import masking
from participants.models import KycSubmission

# The personal fields a compliance officer may reveal, one at a time, giving a reason.
REVEALABLE_FIELDS = {
    "name": "Name",
    "ssn": "SSN",
    "date_of_birth": "Date of birth",
    "email": "Email",
    "phone_number": "Phone",
    "address": "Address",
    "ip_address": "IP address",
    "docv_url": "Document-check link",
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
    rows = [
        (field, label, getattr(masked, field, "")) for field, label in REVEALABLE_FIELDS.items()
    ]
    return [
        (field, label, masking.mask_text(submission.docv_url) if field == "docv_url" else value)
        for field, label, value in rows
        if field != "docv_url" or submission.docv_url
    ]
