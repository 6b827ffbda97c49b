"""`make run`'s demo data: one participant down each onboarding path, and idempotent."""

from __future__ import annotations

import io

from django.contrib.auth.models import User
from django.core.management import call_command

from backoffice.audit.models import AuditEvent
from participants.models import KycSubmission
from tests.participants.conftest import status


def test_seed_demo_onboards_one_participant_per_path_once(settings, firm, exchange):
    settings.SSO_MODE = "local"
    settings.BACKOFFICE_DEMO_SEEDERS = ["participants.demo.seed"]
    exchange.start_answers.extend(
        [
            status("ACCEPT", "ON_HOLD"),
            status("REVIEW", "OPEN"),
            status("REVIEW", "ON_HOLD", docv_url="https://d.example/x"),
            status("REJECT", "CLOSED"),
        ]
    )

    call_command("seed_demo", "--password", "demo-password", stdout=io.StringIO())
    call_command("seed_demo", "--password", "demo-password", stdout=io.StringIO())

    states = dict(KycSubmission.objects.values_list("participant__external_id", "status"))
    assert states == {
        "demo-ada": "awaiting_provisioning",
        "demo-paulina": "manual_review",
        "demo-grace": "document_check",
        "demo-rex": "rejected",
        "demo-ada-twin": "held_duplicate",
    }
    assert len(exchange.started) == 4


def test_the_demo_participants_are_credited_to_the_seed_actor_who_cannot_sign_in(
    settings, firm, exchange, client
):
    settings.SSO_MODE = "local"
    settings.BACKOFFICE_DEMO_SEEDERS = ["participants.demo.seed"]
    exchange.start_answers.extend([status("REVIEW", "OPEN")] * 4)

    call_command("seed_demo", "--password", "demo-password", stdout=io.StringIO())

    seed = User.objects.get(username="demo-seed")
    assert set(KycSubmission.objects.values_list("submitted_by", flat=True)) == {seed.pk}
    created = AuditEvent.objects.filter(action="participants.kyc.created")
    assert set(created.values_list("actor_label", flat=True)) == {"demo-seed"}
    support = User.objects.get(username="support")
    assert not AuditEvent.objects.filter(actor=support).exclude(action__startswith="identity.")
    assert not seed.is_active
    assert not seed.has_usable_password()
    assert not seed.groups.exists()
    assert not client.login(username="demo-seed", password="")


def test_seed_demo_without_a_firm_says_so(settings, db, exchange):
    settings.SSO_MODE = "local"
    settings.BACKOFFICE_DEMO_SEEDERS = ["participants.demo.seed"]
    out = io.StringIO()

    call_command("seed_demo", "--password", "demo-password", stdout=out)

    assert "No demo participants: No firm is set up for the sandbox environment" in out.getvalue()
    assert not exchange.started
