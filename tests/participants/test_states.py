"""The whole state-transition matrix: allowed moves happen with history and audit; the rest are
refused and change nothing."""

from __future__ import annotations

import itertools

import pytest

from backoffice.audit.models import AuditEvent
from participants.models import OPEN_STATUSES, KycStatusChange, KycSubmission, Participant
from participants.states import ALLOWED, TERMINAL, KycTransitionRefused, kyc_submission_transition
from tests.factories import KycSubmissionFactory

STATUSES = list(KycSubmission.Status.values)


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(STATUSES, STATUSES)))
def test_every_move(db, from_status, to_status):
    submission = KycSubmissionFactory.create(status=from_status)

    if to_status in ALLOWED[from_status]:
        kyc_submission_transition(
            submission=submission, to_status=to_status, actor=None, source="test"
        )
        submission.refresh_from_db()
        assert submission.status == to_status
        change = KycStatusChange.objects.get(submission=submission)
        assert (change.from_status, change.to_status, change.source) == (
            from_status,
            to_status,
            "test",
        )
        event = AuditEvent.objects.get(action="participants.kyc.status_changed")
        assert event.payload == {"from": from_status, "to": to_status, "source": "test"}
    else:
        with pytest.raises(KycTransitionRefused):
            kyc_submission_transition(
                submission=submission, to_status=to_status, actor=None, source="test"
            )
        submission.refresh_from_db()
        assert submission.status == from_status
        assert not KycStatusChange.objects.exists()
        assert not AuditEvent.objects.filter(action="participants.kyc.status_changed").exists()


def test_terminal_states_are_final():
    assert set(TERMINAL) == {"approved", "rejected", "withdrawn"}


@pytest.mark.parametrize(
    ("to_status", "participant_status"),
    [("approved", "active"), ("rejected", "rejected")],
)
def test_a_decision_moves_the_participant_too(db, to_status, participant_status):
    submission = KycSubmissionFactory.create(status="manual_review")

    kyc_submission_transition(submission=submission, to_status=to_status, actor=None, source="test")

    assert Participant.objects.get(pk=submission.participant_id).status == participant_status


def test_the_queue_open_states_are_exactly_the_undecided_ones():
    assert set(OPEN_STATUSES) == set(ALLOWED) - TERMINAL
