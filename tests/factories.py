"""Factories for test data. Users get their roles through the same service sign-in uses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from backoffice.identity.roles import user_apply_roles
from backoffice.pii.crypto import pii_hash
from backoffice.reconciliation.models import Break, ReconciliationRun
from funding.models import APPROVED_STATUSES, FundingRequest
from participants.models import Account, Firm, KycSubmission, Participant
from participants.search import submission_hashes


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def roles(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            user_apply_roles(user=cast(User, self), roles=set(extracted), actor=None, source="test")


class FirmFactory(factory.django.DjangoModelFactory[Firm]):
    class Meta:
        model = Firm
        django_get_or_create = ("environment",)

    environment = "sandbox"
    client_id = "client-acme"
    firm_id = "ISV-Participant-Acme"
    webhook_secret = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="


class ParticipantFactory(factory.django.DjangoModelFactory[Participant]):
    class Meta:
        model = Participant

    firm = factory.SubFactory(FirmFactory)
    external_id = factory.Sequence(lambda n: f"user-{n:05d}")


def submission_hashes_of(stub: Any) -> dict[str, str]:
    return submission_hashes(
        ssn=stub.ssn,
        email=stub.email,
        phone_number=stub.phone_number,
        first_name=stub.first_name,
        last_name=stub.last_name,
    )


class KycSubmissionFactory(factory.django.DjangoModelFactory[KycSubmission]):
    class Meta:
        model = KycSubmission

    participant = factory.SubFactory(ParticipantFactory)
    status = "pending"
    ssn = factory.Sequence(lambda n: f"{100000000 + n:09d}")
    ssn_hash = factory.LazyAttribute(lambda s: pii_hash(s.ssn))
    email_hash = factory.LazyAttribute(lambda s: submission_hashes_of(s)["email_hash"])
    phone_hash = factory.LazyAttribute(lambda s: submission_hashes_of(s)["phone_hash"])
    name_hash = factory.LazyAttribute(lambda s: submission_hashes_of(s)["name_hash"])
    first_name = "Jane"
    last_name = "Doe"
    date_of_birth = dt.date(1985, 10, 2)
    email = "jane.doe@example.com"
    phone_number = "+12125551234"
    address_line_1 = "1 Main Street"
    city = "New York"
    state = "NY"
    postal_code = "10001"
    ip_address = "198.51.100.7"
    agreement_version = "PMX.ISV.SANDBOX.v1.0"
    agreement_signed_at = factory.LazyFunction(timezone.now)
    submitted_by = factory.SubFactory(UserFactory)


class AccountFactory(factory.django.DjangoModelFactory[Account]):
    class Meta:
        model = Account

    participant = factory.SubFactory(ParticipantFactory, status="active")
    account_id = factory.Sequence(lambda n: f"firms/ISV-Acme/accounts/{n:032x}")


class FundingRequestFactory(factory.django.DjangoModelFactory[FundingRequest]):
    """A request of `status`; those past approval come approved by a second person."""

    class Meta:
        model = FundingRequest

    account = factory.SubFactory(AccountFactory)
    participant = factory.LazyAttribute(lambda r: r.account.participant)
    direction = "deposit"
    amount = Decimal("100.00")
    external_reference = factory.Sequence(lambda n: f"wallet-{n:06d}")
    status = "draft"
    requested_by = factory.SubFactory(UserFactory)
    approved_by = factory.Maybe(
        factory.LazyAttribute(lambda r: r.status in APPROVED_STATUSES),
        yes_declaration=factory.SubFactory(UserFactory),
        no_declaration=None,
    )
    staff_reason = factory.Maybe(
        factory.LazyAttribute(lambda r: r.status in ("declined", "cancelled")),
        yes_declaration="Entered twice",
        no_declaration="",
    )


class ReconciliationRunFactory(factory.django.DjangoModelFactory[ReconciliationRun]):
    class Meta:
        model = ReconciliationRun

    business_date = dt.date(2026, 11, 20)
    window_start = dt.datetime(2026, 11, 19, 22, tzinfo=dt.UTC)
    window_end = dt.datetime(2026, 11, 20, 22, tzinfo=dt.UTC)
    state = ReconciliationRun.State.COMPLETE
    checks = factory.LazyFunction(lambda: ["cash"])
    origin = "command:reconcile"
    holder = "test-host:1"
    lease_until = factory.LazyFunction(timezone.now)
    finished_at = factory.LazyFunction(timezone.now)


class BreakFactory(factory.django.DjangoModelFactory[Break]):
    class Meta:
        model = Break

    check_name = "cash"
    key = factory.Sequence(lambda n: f"firms/ISV-Acme/accounts/{n:032x}|cash")
    break_type = Break.Type.AMOUNT_MISMATCH
    account = factory.Sequence(lambda n: f"firms/ISV-Acme/accounts/{n:032x}")
    ours = Decimal("100.00")
    theirs = Decimal("90.00")
    difference = Decimal("-10.00")
    summary = "Cash: the exchange holds 90.00, our records 100.00"
    first_run = factory.SubFactory(ReconciliationRunFactory)
    last_run = factory.SelfAttribute("first_run")
    first_date = factory.SelfAttribute("first_run.business_date")
    last_date = factory.SelfAttribute("last_run.business_date")
