"""The intake form refuses what the exchange would refuse and names each bad field."""

from __future__ import annotations

import pytest

from participants.forms import IntakeForm
from tests.participants.conftest import intake_data, today_minus


def errors_for(**overrides):
    form = IntakeForm(intake_data(**overrides))
    form.is_valid()
    return form.errors


def test_valid_data_passes_and_is_normalised(db):
    form = IntakeForm(intake_data(ssn="123 45-6789", phone_number="+1 (212) 555-1234"))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["ssn"] == "123456789"
    assert form.cleaned_data["phone_number"] == "+12125551234"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("external_id", "", "This field is required."),
        ("external_id", "x" * 50, "Ensure this value has at most 49 characters (it has 50)."),
        ("external_id", "has space", "Use letters, digits, dot, dash or underscore"),
        ("external_id", "a/b", "Use letters, digits, dot, dash or underscore"),
        ("first_name", "", "This field is required."),
        ("first_name", "J" * 51, "Ensure this value has at most 50 characters (it has 51)."),
        ("last_name", "D" * 51, "Ensure this value has at most 50 characters (it has 51)."),
        ("middle_name", "M" * 51, "Ensure this value has at most 50 characters (it has 51)."),
        ("ssn", "12345678", "An SSN has exactly nine digits, 0-9."),
        ("ssn", "1234567890", "An SSN has exactly nine digits, 0-9."),
        ("ssn", "123-45-67890", "Ensure this value has at most 11 characters"),
        ("ssn", "12345678a", "An SSN has exactly nine digits, 0-9."),
        ("date_of_birth", "1985-02-30", "Enter a valid date."),
        ("date_of_birth", "2999-01-01", "The date of birth must be in the past."),
        ("date_of_birth", "1850-01-01", "The date of birth is more than 120 years ago."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("phone_number", "2125551234", "Give the number in E.164 form"),
        ("phone_number", "+0123456789", "Give the number in E.164 form"),
        ("address_line_1", "", "This field is required."),
        ("city", "", "This field is required."),
        ("state", "ZZ", "Select a valid choice. ZZ is not one of the available choices."),
        ("state", "ny", "Select a valid choice."),
        ("postal_code", "1234", "A ZIP code has five digits, 0-9."),
        ("postal_code", "1234a", "A ZIP code has five digits, 0-9."),
        ("ip_address", "300.1.1.1", "Enter a valid IPv4 or IPv6 address."),
        ("agreement_accepted", "", "This field is required."),
        ("agreement_signed_at", "2999-01-01T00:00", "This time is in the future."),
        # Digits are 0-9: other scripts' digits (an existing SSN in Arabic-Indic, say) are not.
        (
            "ssn",
            "\u0661\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0661",
            "An SSN has exactly nine digits, 0-9.",
        ),
        ("ssn", "10000000\u0661", "An SSN has exactly nine digits, 0-9."),
        ("ssn", "1234\n56789", "An SSN has exactly nine digits, 0-9."),
        ("postal_code", "\u0661\u0660\u0660\u0660\u0661", "A ZIP code has five digits, 0-9."),
        ("postal_code", "1000\u0661", "A ZIP code has five digits, 0-9."),
        (
            "phone_number",
            "+\u0661\u0662\u0661\u0662\u0665\u0665\u0665\u0661\u0662\u0663\u0664",
            "Give the number in E.164 form",
        ),
        # A checkbox is ticked by "on" (what browsers send), "true" or "1"; "0" is not a tick.
        ("agreement_accepted", "0", "This field is required."),
        ("agreement_accepted", "false", "This field is required."),
        ("agreement_accepted", "no", "Tick the box or leave it empty."),
        ("docv_eligible", "maybe", "Tick the box or leave it empty."),
        ("agreement_signed_at", "0001-01-01T00:00", "This time is more than 365 days ago."),
        ("agreement_signed_at", "9999-12-31T23:59", "This time is in the future."),
        ("external_id", "u" * 100_000, "Ensure this value has at most 49 characters"),
        ("first_name", "Ja\x00ne", "Null characters are not allowed."),
    ],
)
def test_each_bad_field_is_named(db, field, value, message):
    errors = errors_for(**{field: value})

    assert list(errors) == [field]
    assert message in errors[field][0]


def test_a_minor_is_refused(db):
    errors = errors_for(date_of_birth=today_minus(18, days=-1))

    assert errors["date_of_birth"] == ["The participant must be at least 18 in NY."]


def test_the_age_of_majority_follows_the_state(db):
    nineteen_tomorrow = today_minus(19, days=-1)

    assert errors_for(date_of_birth=nineteen_tomorrow, state="AL")["date_of_birth"] == [
        "The participant must be at least 19 in AL."
    ]
    assert not errors_for(date_of_birth=nineteen_tomorrow, state="NY")
    assert errors_for(date_of_birth=today_minus(20), state="MS")["date_of_birth"] == [
        "The participant must be at least 21 in MS."
    ]


def test_an_eighteenth_birthday_today_is_enough(db):
    assert not errors_for(date_of_birth=today_minus(18))


@pytest.mark.parametrize(
    ("sent", "ticked"), [("on", True), ("true", True), ("1", True), ("0", False)]
)
def test_a_checkbox_is_ticked_only_by_what_means_yes(db, sent, ticked):
    form = IntakeForm(intake_data(docv_eligible=sent))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["docv_eligible"] is ticked
