"""Personal data is encrypted in the database, found by keyed hash, and re-encrypted on rotation."""

from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from backoffice.pii import crypto
from participants.models import Firm, KycSubmission
from tests.factories import KycSubmissionFactory

PII_COLUMNS = [
    "ssn",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone_number",
    "address_line_1",
    "city",
    "postal_code",
    "ip_address",
]


def raw_row(pk: int) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(PII_COLUMNS)} FROM participants_kycsubmission WHERE id = %s",  # noqa: S608  (constant column names)
            [pk],
        )
        return dict(zip(PII_COLUMNS, cursor.fetchone(), strict=True))


def test_the_raw_table_holds_no_plaintext(db):
    submission = KycSubmissionFactory.create(ssn="123456789")

    row = raw_row(submission.pk)

    flat = " ".join(row.values())
    for plain in (
        "123456789",
        "Jane",
        "Doe",
        "1985-10-02",
        "jane.doe@example.com",
        "+12125551234",
        "Main Street",
        "New York",
        "10001",
        "198.51.100.7",
    ):
        assert plain not in flat
    assert all(value.startswith(f"pii1:{crypto.primary_key_id()}:") for value in row.values())
    assert KycSubmission.objects.get().ssn == "123456789"


def test_equal_ssns_hash_equally_and_the_hash_needs_the_key(db, settings):
    first = KycSubmissionFactory.create(ssn="123456789")
    second = KycSubmissionFactory.create(ssn="123456789")

    assert first.ssn_hash == second.ssn_hash
    settings.PII_HASH_KEY = "another-key"
    assert crypto.pii_hash("123456789") != first.ssn_hash


def test_encrypted_fields_cannot_be_searched(db):
    # Built at run time: the type checker's Django plugin asks the field too, and gets the refusal.
    lookup = {"ssn__startswith": "123"}
    with pytest.raises(NotImplementedError, match="cannot be searched"):
        KycSubmission.objects.filter(**lookup).exists()


def test_rotation_re_encrypts_everything_under_the_newest_key(db, settings):
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    submissions = [KycSubmissionFactory.create(ssn=f"12345678{i}") for i in range(5)]
    firm = Firm.objects.get()
    new_key = Fernet.generate_key().decode()
    settings.PII_ENCRYPTION_KEYS = [new_key, old_key]

    out = io.StringIO()
    call_command("rotate_pii_keys", "--batch-size", "2", stdout=out)

    new_id = crypto.primary_key_id()
    assert all(
        value.startswith(f"pii1:{new_id}:") for s in submissions for value in raw_row(s.pk).values()
    )
    settings.PII_ENCRYPTION_KEYS = [new_key]  # the old key can go now
    assert sorted(
        KycSubmission.objects.values_list("participant__external_id", flat=True)
    ) == sorted(s.participant.external_id for s in submissions)
    assert [s.ssn for s in KycSubmission.objects.order_by("id")] == [
        f"12345678{i}" for i in range(5)
    ]
    assert Firm.objects.get(pk=firm.pk).webhook_secret.startswith("whsec_")
    assert "Re-encrypted 6 rows" in out.getvalue()


def test_rotation_resumes_and_skips_what_is_done(db, settings):
    old_key = settings.PII_ENCRYPTION_KEYS[0]
    KycSubmissionFactory.create_batch(3)
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    call_command("rotate_pii_keys", stdout=io.StringIO())

    again = io.StringIO()
    call_command("rotate_pii_keys", stdout=again)

    assert "Re-encrypted 0 rows" in again.getvalue()


def test_a_value_under_an_unknown_key_fails_loudly(db, settings):
    submission = KycSubmissionFactory.create()
    settings.PII_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    with pytest.raises(crypto.PiiKeyError):
        KycSubmission.objects.get(pk=submission.pk)
