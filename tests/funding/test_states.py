"""The whole state-transition matrix: allowed moves happen with a timeline entry and an audit
event; the rest are refused and change nothing."""

from __future__ import annotations

import itertools

import pytest

from backoffice.audit.models import AuditEvent
from funding.models import (
    APPROVED_STATUSES,
    IN_FLIGHT_STATUSES,
    OPEN_STATUSES,
    FundingRequest,
    FundingStatusChange,
)
from funding.states import (
    ALLOWED,
    MAYBE_AT_EXCHANGE,
    TERMINAL,
    FundingTransitionRefused,
    funding_request_transition,
)
from tests.factories import FundingRequestFactory, UserFactory

STATUSES = list(FundingRequest.Status.values)


def _changes_for(from_status: str, to_status: str) -> dict:
    """What the services write beside a move into `to_status`, so the database's own rules
    (approvals before APPROVED, a reason to decline or cancel) hold."""
    if to_status in APPROVED_STATUSES and from_status not in APPROVED_STATUSES:
        return {"approved_by": UserFactory.create()}
    if to_status in ("declined", "cancelled"):
        return {"staff_reason": "Entered twice"}
    return {}


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(STATUSES, STATUSES)))
def test_every_move(db, from_status, to_status):
    request = FundingRequestFactory.create(status=from_status)
    changes = _changes_for(from_status, to_status)

    if to_status in ALLOWED[from_status]:
        funding_request_transition(
            request=request, to_status=to_status, actor=None, source="exchange", changes=changes
        )
        request.refresh_from_db()
        assert request.status == to_status
        change = FundingStatusChange.objects.get(request=request)
        assert (change.from_status, change.to_status, change.source, change.actor_label) == (
            from_status,
            to_status,
            "exchange",
            "exchange",
        )
        event = AuditEvent.objects.get(action="funding.request.status_changed")
        assert event.payload == {"from": from_status, "to": to_status, "source": "exchange"}
        assert event.object_id == str(request.pk)
    else:
        with pytest.raises(FundingTransitionRefused) as refused:
            funding_request_transition(
                request=request, to_status=to_status, actor=None, source="exchange", changes=changes
            )
        assert refused.value.message == (
            f"This request is now “{FundingRequest.Status(from_status).label}”, so it cannot "
            f"become “{FundingRequest.Status(to_status).label}”."
        )
        request.refresh_from_db()
        assert request.status == from_status
        assert not FundingStatusChange.objects.exists()
        assert not AuditEvent.objects.filter(action="funding.request.status_changed").exists()


def test_the_final_states():
    assert set(TERMINAL) == {"confirmed", "rejected", "declined", "cancelled"}


def test_the_open_states_are_exactly_the_unfinished_ones():
    assert set(OPEN_STATUSES) == set(ALLOWED) - TERMINAL


def test_nothing_that_may_be_at_the_exchange_can_be_cancelled_or_edited():
    for status in MAYBE_AT_EXCHANGE:
        assert "cancelled" not in ALLOWED[status]
        assert "draft" not in ALLOWED[status]
    assert set(IN_FLIGHT_STATUSES) == MAYBE_AT_EXCHANGE | {"approved"}


def test_every_state_is_reachable_from_a_draft():
    reached, frontier = {"draft"}, ["draft"]
    while frontier:
        for following in ALLOWED[frontier.pop()]:
            if following not in reached:
                reached.add(following)
                frontier.append(following)
    assert reached == set(STATUSES)
