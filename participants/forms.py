"""The intake form: it refuses what the exchange would refuse, naming each bad field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.conf import settings
from django.utils import timezone

from backoffice.fields import IdField, IdListField, RecentDateTimeField, StrictBooleanField
from backoffice.inputs import ascii_digits
from participants.models import KycStatus
from participants.selectors import STATUS_GROUPS

US_STATES = [
    "AL",
    "AK",
    "AZ",
    "AR",
    "CA",
    "CO",
    "CT",
    "DE",
    "DC",
    "FL",
    "GA",
    "HI",
    "ID",
    "IL",
    "IN",
    "IA",
    "KS",
    "KY",
    "LA",
    "ME",
    "MD",
    "MA",
    "MI",
    "MN",
    "MS",
    "MO",
    "MT",
    "NE",
    "NV",
    "NH",
    "NJ",
    "NM",
    "NY",
    "NC",
    "ND",
    "OH",
    "OK",
    "OR",
    "PA",
    "RI",
    "SC",
    "SD",
    "TN",
    "TX",
    "UT",
    "VT",
    "VA",
    "WA",
    "WV",
    "WI",
    "WY",
]
# Most states set the age of majority at 18; these set it higher.
AGE_OF_MAJORITY = {"AL": 19, "NE": 19, "MS": 21}
# Matched whole (fullmatch): ASCII only, and no trailing newline slips past a `$`.
EXTERNAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,48}")
E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def age_on(date_of_birth: dt.date, day: dt.date) -> int:
    return (
        day.year
        - date_of_birth.year
        - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))
    )


class IntakeForm(forms.Form):
    external_id = forms.CharField(
        label="External id",
        max_length=49,
        help_text="Our id for the person: letters, digits, dot, dash, underscore; at most 49.",
    )
    first_name = forms.CharField(max_length=50)
    middle_name = forms.CharField(max_length=50, required=False)
    last_name = forms.CharField(max_length=50)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    ssn = forms.CharField(label="SSN", max_length=11, help_text="Nine digits; dashes are ignored.")
    email = forms.EmailField(max_length=254)
    phone_number = forms.CharField(max_length=24, help_text="E.164, e.g. +12125551234")
    address_line_1 = forms.CharField(max_length=100)
    address_line_2 = forms.CharField(max_length=100, required=False)
    city = forms.CharField(max_length=60)
    state = forms.ChoiceField(choices=[("", "—")] + [(code, code) for code in US_STATES])
    postal_code = forms.CharField(label="ZIP code", max_length=5)
    ip_address = forms.GenericIPAddressField(
        label="IP address", help_text="The participant's address when they signed up."
    )
    session_token = forms.CharField(
        max_length=500, required=False, help_text="Digital Intelligence token from the sign-up app."
    )
    docv_eligible = StrictBooleanField(
        label="Allow a document check",
        required=False,
        help_text="Let the exchange ask for a photo ID instead of deciding on data alone.",
    )
    agreement_accepted = StrictBooleanField(label="The participant accepted the agreement")
    # Accepted at sign-up, which comes shortly before the intake: a year back at most.
    agreement_signed_at = RecentDateTimeField(
        label="Accepted at",
        max_age=dt.timedelta(days=365),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields[
            "agreement_accepted"
        ].help_text = f"Participant agreement version {settings.KYC_AGREEMENT_VERSION}"
        self.fields["agreement_signed_at"].help_text = f"In {settings.TIME_ZONE} time."

    def clean_external_id(self) -> str:
        value: str = self.cleaned_data["external_id"].strip()
        if not EXTERNAL_ID.fullmatch(value):
            raise forms.ValidationError(
                "Use letters, digits, dot, dash or underscore, starting with a letter or digit."
            )
        return value

    def clean_ssn(self) -> str:
        digits = re.sub(r"[ -]", "", self.cleaned_data["ssn"])
        if not ascii_digits(digits, length=9):
            raise forms.ValidationError("An SSN has exactly nine digits, 0-9.")
        return digits

    def clean_phone_number(self) -> str:
        value = re.sub(r"[ ().-]", "", self.cleaned_data["phone_number"])
        if not E164.fullmatch(value):
            raise forms.ValidationError(
                "Give the number in E.164 form: + and country code, e.g. +12125551234."
            )
        return value

    def clean_postal_code(self) -> str:
        value: str = self.cleaned_data["postal_code"].strip()
        if not ascii_digits(value, length=5):
            raise forms.ValidationError("A ZIP code has five digits, 0-9.")
        return value

    def clean_date_of_birth(self) -> dt.date:
        value: dt.date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if value >= today:
            raise forms.ValidationError("The date of birth must be in the past.")
        if age_on(value, today) > 120:
            raise forms.ValidationError("The date of birth is more than 120 years ago.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        born, state = cleaned.get("date_of_birth"), cleaned.get("state")
        if born and state:
            majority = AGE_OF_MAJORITY.get(state, 18)
            if age_on(born, timezone.localdate()) < majority:
                self.add_error(
                    "date_of_birth", f"The participant must be at least {majority} in {state}."
                )
        return cleaned


class RevealForm(forms.Form):
    reason = forms.CharField(
        min_length=10,
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text="Why you need to see it; this is recorded.",
    )


class DuplicateReviewForm(forms.Form):
    """Compliance's decision on a submission held as a possible duplicate: either way with a
    reason for the record; a release also with the confirmation that the person is someone else."""

    decision = forms.ChoiceField(
        choices=[("release", "Release and send"), ("withdraw", "Withdraw")],
        error_messages={"required": "Choose to release or to withdraw.",
                        "invalid_choice": "Choose to release or to withdraw."},
    )  # fmt: skip
    reason = forms.CharField(
        label="Reason for the decision",
        min_length=10,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why: what you checked, or why it will not be sent. This is recorded.",
        error_messages={
            "required": "Give a reason of at least 10 characters.",
            "min_length": "Give a reason of at least 10 characters.",
        },
    )
    confirm_different = forms.BooleanField(
        required=False, label="I have checked that this is a different person"
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == "release" and not cleaned.get("confirm_different"):
            self.add_error(
                "confirm_different",
                "To release it, confirm that you checked this is a different person.",
            )
        return cleaned


class NoteForm(forms.Form):
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), label="Note")


class QueueFilterForm(forms.Form):
    """The onboarding queue's filters, from the query string."""

    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Open"),
            *KycStatus.choices,
            *((group, label) for group, (label, _) in STATUS_GROUPS.items()),
        ],
    )
    assignee = forms.CharField(required=False, max_length=150, strip=False)
    overdue = StrictBooleanField(required=False)
    attention = StrictBooleanField(required=False)


class AdoptForm(forms.Form):
    """Adopting the exchange's state for a submission that contradicts it."""

    reason = forms.CharField(min_length=10, max_length=300)
    confirm = StrictBooleanField(label="I have checked the exchange's view")


class AssignForm(forms.Form):
    """Assigning submissions: the ticked ones (`submission`) or a row's own button (`assign_one`),
    to `assignee` ("me", "" for nobody, or a username)."""

    submission = IdListField(required=False)
    assign_one = IdField(required=False)
    assignee = forms.CharField(required=False, max_length=150, strip=False)
    next = forms.CharField(required=False, max_length=2000, strip=False)
