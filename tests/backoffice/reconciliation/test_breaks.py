"""Working the breaks: the page (filters, keyset pages, a fixed number of queries), assignment,
comments, resolution with its reason and note, the state table, the dashboard and a run's CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re

import pytest
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.reconciliation.errors import ReconciliationError
from backoffice.reconciliation.models import Break, BreakStatus
from backoffice.reconciliation.services import break_assign, break_comment, break_resolve
from backoffice.reconciliation.states import ALLOWED, can_move, require_move
from tests.factories import BreakFactory, ReconciliationRunFactory, UserFactory

pytestmark = pytest.mark.django_db
BREAK_LINK = re.compile(r'href="/reconciliation/breaks/[0-9]+/"')


@pytest.fixture
def run():
    return ReconciliationRunFactory.create()


@pytest.fixture
def treasurer():
    return UserFactory.create(username="tess", roles=["treasury"])


@pytest.fixture
def treasury(client, treasurer):
    client.force_login(treasurer)
    return client


def test_the_breaks_page_costs_the_same_queries_for_1_or_60_breaks(
    treasury, run, django_assert_num_queries
):
    BreakFactory.create(first_run=run, last_run=run)
    with django_assert_num_queries(4):
        one = treasury.get("/reconciliation/breaks/")
    BreakFactory.create_batch(59, first_run=run, last_run=run)
    with django_assert_num_queries(4):
        many = treasury.get("/reconciliation/breaks/")

    assert len(BREAK_LINK.findall(one.content.decode())) == 1
    assert len(BREAK_LINK.findall(many.content.decode())) == 50
    assert 'rel="next"' in many.content.decode()


def test_keyset_pages_go_both_ways(treasury, run):
    found = BreakFactory.create_batch(5, first_run=run, last_run=run)
    from backoffice.reconciliation import selectors

    selectors.PAGE_SIZE, saved = 2, selectors.PAGE_SIZE
    try:
        first = treasury.get("/reconciliation/breaks/")
        second = treasury.get(f"/reconciliation/breaks/?status=open&after={found[3].pk}")
    finally:
        selectors.PAGE_SIZE = saved

    assert [b.pk for b in first.context["page"].rows] == [found[4].pk, found[3].pk]
    assert [b.pk for b in second.context["page"].rows] == [found[2].pk, found[1].pk]
    assert second.context["page"].previous_cursor == str(found[2].pk)


def test_filters_by_type_age_assignee_and_run(treasury, treasurer, run):
    other_run = ReconciliationRunFactory.create(business_date=dt.date(2026, 11, 21))
    old = BreakFactory.create(
        first_run=run, last_run=run, opened_at=timezone.now() - dt.timedelta(days=4)
    )
    mine = BreakFactory.create(
        first_run=run, last_run=run, break_type=Break.Type.MISSING_HERE, assignee=treasurer
    )
    later = BreakFactory.create(first_run=other_run, last_run=other_run)
    resolved = BreakFactory.create(
        first_run=run, last_run=run, status=BreakStatus.CLOSED, closed_at=timezone.now()
    )

    def shown(query: str) -> list[int]:
        response = treasury.get(f"/reconciliation/breaks/?{query}")
        assert response.status_code == 200
        return [b.pk for b in response.context["page"].rows]

    assert shown("") == [later.pk, mine.pk, old.pk]
    assert shown("status=") == [resolved.pk, later.pk, mine.pk, old.pk]
    assert shown("break_type=missing_here") == [mine.pk]
    assert shown("age=3") == [old.pk]
    assert shown("age=overdue") == [old.pk]
    assert shown("assignee=me") == [mine.pk]
    assert shown("assignee=none") == [later.pk, old.pk]
    assert shown(f"run={other_run.pk}") == [later.pk]
    assert shown(f"account={old.account}") == [old.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [("break_type=nonsense", "break_type"), ("run=12a", "run"), ("assignee=bob", "assignee")],
)
def test_bad_filters_are_refused_naming_the_field(treasury, run, query, field):
    BreakFactory.create(first_run=run, last_run=run)

    response = treasury.get(f"/reconciliation/breaks/?{query}")

    assert response.status_code == 200
    assert response.context["page"] is None
    assert field in response.context["form"].errors
    assert "No breaks are shown: correct the filters above." in response.content.decode()


def test_assign_comment_and_resolve_each_write_the_timeline_and_the_audit(treasury, treasurer, run):
    item = BreakFactory.create(first_run=run, last_run=run)
    colleague = UserFactory.create(username="sam", roles=["supervisor"])

    assert (
        treasury.post(
            f"/reconciliation/breaks/{item.pk}/assign/", {"assignee": colleague.pk}
        ).status_code
        == 302
    )
    assert (
        treasury.post(
            f"/reconciliation/breaks/{item.pk}/comment/", {"text": "Asked the wallet provider."}
        ).status_code
        == 302
    )
    response = treasury.post(
        f"/reconciliation/breaks/{item.pk}/resolve/",
        {"resolution": "corrected_at_exchange", "note": "The exchange reversed the adjustment."},
    )

    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.status, item.resolution, item.resolved_by, item.assignee) == (
        "resolved", "corrected_at_exchange", treasurer, colleague,
    )  # fmt: skip
    assert [(e.kind, e.actor_label, e.text) for e in item.events.all()] == [
        ("assigned", "tess", "Assigned to sam."),
        ("comment", "tess", "Asked the wallet provider."),
        ("resolved", "tess", "Corrected by the exchange. The exchange reversed the adjustment."),
    ]
    assert list(
        AuditEvent.objects.filter(action__startswith="reconciliation.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "reconciliation.break.assigned",
        "reconciliation.break.commented",
        "reconciliation.break.resolved",
    ]


def test_a_resolution_needs_a_reason_and_a_note_and_changes_nothing_without(treasury, run):
    item = BreakFactory.create(first_run=run, last_run=run)

    no_note = treasury.post(
        f"/reconciliation/breaks/{item.pk}/resolve/", {"resolution": "timing", "note": "  "}
    )
    no_reason = treasury.post(
        f"/reconciliation/breaks/{item.pk}/resolve/", {"resolution": "because", "note": "x"}
    )

    assert (no_note.status_code, no_reason.status_code) == (400, 400)
    assert "note" in no_note.context["resolve_form"].errors
    assert "resolution" in no_reason.context["resolve_form"].errors
    item.refresh_from_db()
    assert (item.status, item.events.count()) == ("open", 0)
    assert not AuditEvent.objects.filter(action__startswith="reconciliation.").exists()


def test_money_moved_needs_the_funding_request_that_moved_it(treasury, run, settings):
    settings.RECONCILIATION_MOVEMENT_LINKER = ""
    item = BreakFactory.create(first_run=run, last_run=run)

    response = treasury.post(
        f"/reconciliation/breaks/{item.pk}/resolve/",
        {"resolution": "money_moved", "note": "Deposited the difference."},
    )

    assert response.status_code == 400
    assert response.context["resolve_form"].errors["funding_request"] == [
        "No funding app is configured to move money."
    ]
    item.refresh_from_db()
    assert item.status == "open"


def test_only_those_who_work_breaks_may_act_or_be_assigned(run, treasurer):
    item = BreakFactory.create(first_run=run, last_run=run)
    reader = UserFactory.create(username="cleo", roles=["compliance"])

    with pytest.raises(ReconciliationError, match=r"You may not work reconciliation breaks\."):
        break_comment(break_record=item, text="hello", actor=reader)
    with pytest.raises(ReconciliationError, match="cleo cannot work breaks"):
        break_assign(break_record=item, assignee=reader, actor=treasurer)
    assert item.events.count() == 0


def test_a_closed_break_cannot_be_resolved_or_assigned(run, treasurer):
    item = BreakFactory.create(
        first_run=run, last_run=run, status=BreakStatus.CLOSED, closed_at=timezone.now()
    )

    with pytest.raises(ReconciliationError, match="now “Closed: no longer found”"):
        break_resolve(break_record=item, resolution="timing", note="x", actor=treasurer)
    with pytest.raises(ReconciliationError, match=r"Only an open break can be assigned\."):
        break_assign(break_record=item, assignee=treasurer, actor=treasurer)


@pytest.mark.parametrize(
    ("from_status", "to_status"), list(itertools.product(BreakStatus.values, repeat=2))
)
def test_the_state_table(from_status, to_status):
    allowed = {("open", "resolved"), ("open", "closed")}
    assert can_move(from_status, to_status) == ((from_status, to_status) in allowed)
    assert set(ALLOWED) == set(BreakStatus.values)
    item = Break(status=from_status)
    if (from_status, to_status) in allowed:
        require_move(item, to_status)
    else:
        with pytest.raises(ReconciliationError):
            require_move(item, to_status)


def test_the_dashboard_shows_runs_counts_by_type_and_age_and_the_chart(client, run):
    client.force_login(UserFactory.create(username="cleo", roles=["compliance"]))
    run.open_by_type = {"amount_mismatch": 2, "missing_here": 1}
    run.save()
    BreakFactory.create_batch(2, first_run=run, last_run=run)
    BreakFactory.create(
        first_run=run, last_run=run, break_type=Break.Type.MISSING_HERE,
        opened_at=timezone.now() - dt.timedelta(days=10),
    )  # fmt: skip

    response = client.get("/reconciliation/")

    figures = response.context["figures"]
    assert (figures.open_total, figures.overdue, figures.unassigned) == (3, 1, 3)
    assert figures.by_type == [("Amount mismatch", 2), ("Missing here", 1)]
    assert figures.by_age == [
        ("under 1 day", 2),
        ("1-3 days", 0),
        ("3-7 days", 0),
        ("over 7 days", 1),
    ]
    chart = response.context["chart"]
    assert [s.title for s in chart.segments] == [
        f"Run #{run.pk} (2026-11-20): 1 missing here",
        f"Run #{run.pk} (2026-11-20): 2 amount mismatch",
    ]
    body = response.content.decode()
    assert "<svg" in body
    assert f"reconciliation/runs/{run.pk}/export.csv" in body


def test_a_runs_csv_holds_every_break_it_found_or_closed(treasury, run):
    item = BreakFactory.create(first_run=run, last_run=run, evidence={"ledger_entry": "le_1"})
    seen_again = BreakFactory.create(first_run=ReconciliationRunFactory.create(), last_run=run)
    unrelated = BreakFactory.create()

    response = treasury.get(f"/reconciliation/runs/{run.pk}/export.csv")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["break", "check", "type", "status"]
    assert [int(r[0]) for r in rows[1:]] == [item.pk, seen_again.pk]
    assert unrelated.pk != seen_again.pk
    assert rows[1][7:10] == ["100.000000", "90.000000", "-10.000000"]
    assert rows[1][-1] == "ledger_entry=le_1"
    assert treasury.get("/reconciliation/runs/999999/export.csv").status_code == 404


def test_a_participant_page_shows_its_open_breaks(treasury, run):
    from tests.factories import AccountFactory

    account = AccountFactory.create()
    mine = BreakFactory.create(first_run=run, last_run=run, account=account.account_id)
    BreakFactory.create(first_run=run, last_run=run)  # someone else's

    response = treasury.get(f"/onboarding/participants/{account.participant.pk}/")

    body = response.content.decode()
    assert "Open reconciliation breaks" in body
    assert f'href="/reconciliation/breaks/{mine.pk}/"' in body
    assert len(BREAK_LINK.findall(body)) == 1


def test_home_shows_the_open_breaks_mine_and_overdue(treasury, treasurer, run):
    BreakFactory.create(first_run=run, last_run=run, assignee=treasurer)
    BreakFactory.create(
        first_run=run, last_run=run, opened_at=timezone.now() - dt.timedelta(days=3)
    )

    response = treasury.get("/")

    counts = [(c.label, c.count) for c in response.context["work"] if c.section == "Reconciliation"]
    assert counts == [("breaks assigned to me", 1), ("open breaks", 2), ("past the SLA", 1)]
