"""Reads for onboarding pages and jobs that are more than a filter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from backoffice.identity.permissions import has_permission
from backoffice.reconciliation.checks import CheckContext, CheckPage
from backoffice.unions import rows_together
from participants.models import (
    OPEN_STATUSES,
    Account,
    Firm,
    KycNote,
    KycStatusChange,
    KycSubmission,
    Participant,
)
from participants.states import OPEN_AT_EXCHANGE
from participants.story import waiting_on_exchange

S = KycSubmission.Status


class FirmNotSetUp(Exception):
    """No Firm row for the configured exchange environment: run `manage.py firm_setup`."""


def current_firm() -> Firm:
    try:
        return Firm.objects.get(environment=settings.POLYMARKET_ENVIRONMENT)
    except Firm.DoesNotExist as exc:
        raise FirmNotSetUp(
            f"No firm is set up for the {settings.POLYMARKET_ENVIRONMENT} environment; run manage.py firm_setup."
        ) from exc


def submission_for_user(*, user: User, pk: int) -> KycSubmission:
    """The submission `pk` if `user` may see it (404 otherwise): the one door pages go through."""
    if not has_permission(user, "participants.view_kycsubmission"):
        raise Http404
    try:
        return KycSubmission.objects.select_related("participant", "submitted_by", "assignee").get(
            pk=pk
        )
    except KycSubmission.DoesNotExist as exc:
        raise Http404 from exc


def participant_for_user(*, user: User, pk: int) -> Participant:
    if not has_permission(user, "participants.view_participant"):
        raise Http404
    try:
        return Participant.objects.select_related("firm").get(pk=pk)
    except Participant.DoesNotExist as exc:
        raise Http404 from exc


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    assignee: str = ""  # "", "me", "none" or a username
    overdue: bool = False
    attention: bool = False  # only submissions that contradict the exchange, whatever their state


S = KycSubmission.Status
# States the queue also filters by as one (`?status=failed`), as the home page's counts do.
STATUS_GROUPS: dict[str, tuple[str, list[str]]] = {
    "failed": ("Failed sends", [S.SUBMIT_FAILED, S.SEND_REFUSED, S.OUTCOME_UNKNOWN]),
    "exchange": ("Waiting on the exchange", waiting_on_exchange()),
}


def sla_deadline_cutoff() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=settings.KYC_SLA_HOURS)


def queue(*, filters: QueueFilters, user: User) -> QuerySet[KycSubmission]:
    # Oldest first by id (ids follow creation): an index serves both the open view and one state.
    submissions = KycSubmission.objects.select_related("participant", "assignee").order_by("id")
    if filters.attention:
        submissions = submissions.filter(attention_since__isnull=False)
    elif filters.status in STATUS_GROUPS:
        submissions = submissions.filter(status__in=STATUS_GROUPS[filters.status][1])
    elif filters.status:
        submissions = submissions.filter(status=filters.status)
    else:
        submissions = submissions.filter(status__in=OPEN_STATUSES)
    if filters.assignee == "me":
        submissions = submissions.filter(assignee=user)
    elif filters.assignee == "none":
        submissions = submissions.filter(assignee__isnull=True)
    elif filters.assignee:
        submissions = submissions.filter(assignee__username=filters.assignee)
    if filters.overdue:
        submissions = submissions.filter(created_at__lt=sla_deadline_cutoff())
    return submissions


def work_counts(*, user: User) -> dict[str, int]:
    """The home page's onboarding counts, in one read of the open submissions (which the queue's
    partial index holds): assigned to `user`, overdue, held duplicates, and each group."""
    is_open = Q(status__in=OPEN_STATUSES)
    return KycSubmission.objects.filter(is_open).aggregate(
        mine=Count("id", filter=Q(assignee=user)),
        overdue=Count("id", filter=Q(created_at__lt=sla_deadline_cutoff())),
        held_duplicate=Count("id", filter=Q(status=S.HELD_DUPLICATE)),
        **{
            group: Count("id", filter=Q(status__in=statuses))
            for group, (_, statuses) in STATUS_GROUPS.items()
        },
    )


@dataclass(frozen=True)
class QueueCounts:
    by_status: dict[str, int]  # open submissions in each open state
    attention: int  # submissions that contradict the exchange, in any state


def queue_counts() -> QueueCounts:
    """The queue's tab counts in one query. Decided submissions are not counted (they only grow,
    and counting them would read the whole table on every page view), except the few flagged as
    needing attention, which a partial index holds."""
    is_open = Q(status__in=OPEN_STATUSES)
    flagged = Q(attention_since__isnull=False)
    rows = (
        KycSubmission.objects.filter(is_open | flagged)
        .values("status")
        .annotate(n=Count("id", filter=is_open), attention=Count("id", filter=flagged))
        .order_by()
    )
    by_status: dict[str, int] = {}
    attention = 0
    for row in rows:
        if row["n"]:
            by_status[row["status"]] = row["n"]
        attention += row["attention"]
    return QueueCounts(by_status=by_status, attention=attention)


def submissions_to_sync(*, now: dt.datetime, unsent_after: dt.timedelta) -> QuerySet[KycSubmission]:
    """Submissions whose fate is open: evaluations still open at the exchange; sends not made
    (the exchange could not be reached), or whose outcome is unknown; sends whose deadline passed
    (their process died); and submissions saved but never sent (likewise)."""
    return (
        KycSubmission.objects.filter(
            Q(status__in=[*OPEN_AT_EXCHANGE, S.SUBMIT_FAILED, S.OUTCOME_UNKNOWN])
            | Q(status=S.SUBMITTING, send_deadline__lt=now)
            | Q(status=S.PENDING, status_changed_at__lt=now - unsent_after)
        )
        .select_related("participant")
        .order_by("id")
    )


def staff_who_can_work_the_queue() -> QuerySet[User]:
    return (
        User.objects.filter(is_active=True, groups__permissions__codename="change_kycsubmission")
        .distinct()
        .order_by("username")
    )


def with_latest_submission(participants: QuerySet[Participant]) -> QuerySet[Participant]:
    """Participants with what lists show of their latest submission, read in the same query:
    kyc_id, kyc_status and the (encrypted, then masked) first and last names."""
    latest = KycSubmission.objects.filter(participant=OuterRef("pk")).order_by("-id")
    return participants.annotate(
        kyc_id=Subquery(latest.values("id")[:1]),
        kyc_status=Subquery(latest.values("status")[:1]),
        kyc_first_name=Subquery(latest.values("first_name")[:1]),
        kyc_last_name=Subquery(latest.values("last_name")[:1]),
    )


def participants_list(*, status: str = "", with_kyc: bool) -> QuerySet[Participant]:
    """Participants of one status (or all); with their latest submission's state and names only
    for someone who may see KYC detail."""
    participants = Participant.objects.all()
    if status:
        participants = participants.filter(status=status)
    return with_latest_submission(participants) if with_kyc else participants


def account_pages(context: CheckContext, after: str) -> Iterator[tuple[list[Account], CheckPage]]:
    """The participants' accounts in id order, a page at a time, from after `after`, each with
    the CheckPage a check fills for them."""
    accounts: QuerySet[Account] = Account.objects.select_related("participant").order_by(
        "account_id"
    )
    if context.accounts:
        accounts = accounts.filter(account_id__in=sorted(context.accounts))
    last = after
    while True:
        page = list(accounts.filter(account_id__gt=last)[: context.page_size])
        if not page:
            return
        last = page[-1].account_id
        yield page, CheckPage(cursor=last, scopes=[a.account_id for a in page])


@dataclass(frozen=True)
class ParticipantPage:
    """What the participant page shows of onboarding, each part read only for whoever may see it
    (empty, or None for accounts, otherwise)."""

    participant: Participant
    submissions: list[KycSubmission]  # newest first; the first is the current case
    # Other participants' submissions held or released as possible duplicates of these (the
    # same SSN), oldest first.
    shared_with: list[KycSubmission]
    history: list[KycStatusChange]  # the current case's, in order
    notes: list[KycNote]  # the current case's, with `author_username`
    accounts: list[Account] | None


_SUBMISSION_RELATIONS = ("participant", "submitted_by", "assignee", "duplicate_of__participant")


def participant_page(
    *, pk: int, with_kyc: bool, with_notes: bool, with_accounts: bool
) -> ParticipantPage:
    """The participant `pk` (404 if there is none) with its onboarding, in two queries whatever
    the number of rows: the participant's submissions together with the others flagged as
    duplicates of them; then the participant, its accounts and the current case's timeline and
    notes in one UNION ALL. Submissions are read first so that the timeline read after is the
    current case's even if a new one arrives in between."""
    submissions: list[KycSubmission] = []
    shared_with: list[KycSubmission] = []
    if with_kyc:
        own = KycSubmission.objects.filter(participant_id=pk)
        flagged = KycSubmission.objects.filter(duplicate_of__participant_id=pk)
        both = own.select_related(*_SUBMISSION_RELATIONS).union(
            flagged.select_related(*_SUBMISSION_RELATIONS), all=True
        )
        for submission in both.order_by("-id"):
            (submissions if submission.participant_id == pk else shared_with).append(submission)
        shared_with.reverse()
    current = submissions[0].pk if submissions else None
    accounts = Account.objects.filter(participant_id=pk).order_by("created_at", "id")
    history = KycStatusChange.objects.filter(submission_id=current).order_by("occurred_at", "id")
    notes = (
        KycNote.objects.filter(submission_id=current)
        .annotate(author_username=F("author__username"))
        .order_by("created_at", "id")
    )
    people, accounts_found, history_found, notes_found = rows_together(
        Participant.objects.filter(pk=pk),
        accounts if with_accounts else accounts.none(),
        history if current else history.none(),
        notes if current and with_notes else notes.none(),
    )
    if not people:
        raise Http404
    return ParticipantPage(
        participant=people[0],
        submissions=submissions,
        shared_with=shared_with,
        history=history_found,
        notes=notes_found,
        accounts=accounts_found if with_accounts else None,
    )
