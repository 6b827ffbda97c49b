"""Demo participants for `make run`, onboarded through the real intake against the sandbox, one
for each path a submission can take (the sandbox's documented triggers pick the outcome), by the
seed actor rather than any staff member's user."""

from __future__ import annotations

import datetime as dt
from typing import Any, TextIO

from django.utils import timezone

from backoffice.actors import seed_actor
from backoffice.gateway.errors import GatewayError
from participants.errors import OnboardingError
from participants.models import Participant
from participants.selectors import FirmNotSetUp, current_firm
from participants.services import participant_intake

PEOPLE: list[dict[str, Any]] = [
    {"external_id": "demo-ada", "first_name": "Ada", "last_name": "Byron", "ssn": "100000001"},
    {
        "external_id": "demo-paulina",
        "first_name": "Paulina",
        "last_name": "Gizela",
        "ssn": "100000002",
    },
    {
        "external_id": "demo-grace",
        "first_name": "Grace",
        "last_name": "Hopper",
        "ssn": "100000003",
        "date_of_birth": dt.date(1985, 9, 2),
        "docv_eligible": True,
    },
    {
        "external_id": "demo-rex",
        "first_name": "Rex",
        "last_name": "Jected",
        "ssn": "100000004",
        "email": "reject@example.com",
    },
    {
        "external_id": "demo-ada-twin",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "ssn": "100000001",
    },
]


def seed(*, stdout: TextIO) -> None:
    try:
        firm = current_firm()
    except FirmNotSetUp as exc:
        stdout.write(f"No demo participants: {exc}\n")
        return
    actor = seed_actor()
    for person in PEOPLE:
        if Participant.objects.filter(firm=firm, external_id=person["external_id"]).exists():
            continue
        data = {
            "date_of_birth": dt.date(1990, 1, 15),
            "email": f"{person['external_id']}@example.com",
            "phone_number": "+12125550100",
            "address_line_1": "1 Demo Street",
            "city": "New York",
            "state": "NY",
            "postal_code": "10001",
            "ip_address": "198.51.100.20",
            "agreement_signed_at": timezone.now(),
            **person,
        }
        try:
            submission = participant_intake(firm=firm, data=data, actor=actor)
        except (OnboardingError, GatewayError) as exc:
            stdout.write(f"  {person['external_id']}: not onboarded ({exc})\n")
            continue
        stdout.write(f"  {person['external_id']}: {submission.get_status_display()}\n")
