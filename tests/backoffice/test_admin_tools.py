"""Changelists of large tables: counts that stop reading, searches an index can answer."""

from __future__ import annotations

from typing import Any

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


@pytest.mark.parametrize("query", [{}, {"q": "x/1", "o": "1"}])
def test_row_links_are_the_ones_django_writes(persona, db, query):
    import re
    import types

    from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
    from django.contrib.admin.views.main import ChangeList
    from django.urls import reverse

    for n in range(3):
        Account.objects.create(
            participant=ParticipantFactory.create(status="active"), account_id=f"x/{n}"
        )
    response = persona("superuser").get("/admin/participants/account/", query)
    cl = response.context["cl"]
    assert isinstance(cl, admin_tools.RowLinksOnceChangeList)
    filters = cl.model_admin.get_preserved_filters(response.wsgi_request)
    assert bool(filters) == bool(query)
    # Django's own links: each reversed, then the filters added by resolving it again.
    expected = {
        add_preserved_filters(
            {"preserved_filters": filters, "opts": cl.opts},
            reverse("admin:participants_account_change", args=(a.pk,)),
        )
        for a in cl.result_list
    }
    html = response.content.decode().replace("&amp;", "&")
    shown = set(re.findall(r'<th class="field-[^"]*"><a href="([^"]+)"', html))
    assert len(shown) == (1 if query else 3)
    assert shown == expected
    # Keys the admin must quote come out as reverse() writes them.
    for key in ("a/b c_é", "50%?#"):
        row: Any = types.SimpleNamespace(**{cl.pk_attname: key})
        link = ChangeList.url_for_result(cl, row)
        assert cl.url_for_result(row) == (f"{link}?{filters}" if filters else link)
