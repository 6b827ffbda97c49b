"""Changelists of large tables: counts that stop reading, searches an index can answer."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection

from backoffice import admin_tools
from backoffice.audit.models import AuditEvent
from participants.models import Account, Participant
from tests.factories import FirmFactory, KycSubmissionFactory, ParticipantFactory


def test_a_small_result_is_counted_exactly(db):
    AuditEvent.objects.bulk_create(AuditEvent(actor_label="system", action="x.y") for _ in range(7))

    paginator = admin_tools.EstimatedCountPaginator(AuditEvent.objects.all(), 5)

    assert paginator.count == 7
    assert paginator.num_pages == 2


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the estimate is PostgreSQL's planner's"
)
def test_past_the_exact_limit_postgresql_estimates(db, monkeypatch):
    monkeypatch.setattr(admin_tools, "EXACT_COUNT_UP_TO", 3)
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="system", action="x.y") for _ in range(50)
    )

    count = admin_tools.EstimatedCountPaginator(AuditEvent.objects.all(), 10).count

    assert count >= 4  # at least what it counted; the planner's figure beyond that


def test_admin_search_matches_identifiers_exactly(persona, db):
    for account_id in ("firms/F/accounts/Acme-42", "firms/F/accounts/acme-42x"):
        Account.objects.create(participant=ParticipantFactory.create(), account_id=account_id)
    admin = persona("superuser")

    def found(term: str) -> list[str]:
        response = admin.get("/admin/participants/account/", {"q": term})
        return [a.account_id for a in response.context["cl"].result_list]

    assert found("firms/F/accounts/Acme-42") == ["firms/F/accounts/Acme-42"]
    assert found("firms/F/accounts/acme-42") == []  # case-sensitive, so an index can answer
    assert found("firms/F/accounts/Acme") == []
    assert Participant.objects.count() == 2


def test_a_delete_that_can_only_fail_is_not_offered_and_refused(persona, db, make_user):
    admin = persona("superuser")
    firm = FirmFactory.create()
    ParticipantFactory.create(firm=firm)
    submitter = KycSubmissionFactory.create(participant__firm=firm).submitted_by
    newcomer = make_user("newcomer", "support")

    for path in (f"/admin/participants/firm/{firm.pk}/", f"/admin/auth/user/{submitter.pk}/"):
        html = admin.get(f"{path}change/").content.decode()
        assert f'href="{path}delete/"' not in html
        assert admin.get(f"{path}delete/").status_code == 403
    html = admin.get(f"/admin/auth/user/{newcomer.pk}/change/").content.decode()
    assert f'href="/admin/auth/user/{newcomer.pk}/delete/"' in html
    assert admin.post(f"/admin/auth/user/{newcomer.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=newcomer.pk).exists()
    assert Participant.objects.filter(firm=firm).count() == 2
