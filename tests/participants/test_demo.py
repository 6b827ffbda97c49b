"""`make run`'s demo data: one participant down each onboarding path, and idempotent."""

from __future__ import annotations

import io

from django.core.management import call_command

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


def test_seed_demo_without_a_firm_says_so(settings, db, exchange):
    settings.SSO_MODE = "local"
    settings.BACKOFFICE_DEMO_SEEDERS = ["participants.demo.seed"]
    out = io.StringIO()

    call_command("seed_demo", "--password", "demo-password", stdout=out)

    assert "No demo participants: No firm is set up for the sandbox environment" in out.getvalue()
    assert not exchange.started
