"""Onboarding pages for compliance and support. Plain views: the page, or for htmx its partial."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from backoffice import clock, context
from backoffice.audit.services import audit_record
from backoffice.htmx import render_page, wants_partial
from backoffice.http import HtmxHttpRequest
from backoffice.identity.permissions import has_permission, permission_required
from backoffice.paging import keyset_page
from participants import selectors, services
from participants.attention import can_adopt, kyc_exchange_state_adopt
from participants.errors import OnboardingError
from participants.forms import (
    AdoptForm,
    AssignForm,
    DuplicateReviewForm,
    IntakeForm,
    NoteForm,
    QueueFilterForm,
    RevealForm,
)
from participants.models import OPEN_STATUSES, KycSubmission, Participant
from participants.presenters import identity_rows, masked_identity, participant_row
from participants.selectors import FirmNotSetUp, QueueFilters
from participants.story import kyc_story, version_of
from participants.webhooks import kyc_webhook_receive

S = KycSubmission.Status
PAGE_SIZE = 50
# Pages an action may send back to: our onboarding pages, by path and query, nothing else.
BACK_TO = re.compile(r"/onboarding/[A-Za-z0-9/_.~%=&+?-]*")


def _user(request: HtmxHttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware admits no one else
    return user


def _filters(request: HtmxHttpRequest) -> tuple[QueueFilters | None, list[str]]:
    """The queue's filters, or None and what is wrong with them, each error naming its field."""
    form = QueueFilterForm(request.GET)
    if not form.is_valid():
        return None, [
            f"{form[name].label}: {error}"
            for name, errors in form.errors.items()
            for error in errors
        ]
    data = form.cleaned_data
    return QueueFilters(
        status=data["status"],
        assignee=data["assignee"],
        overdue=data["overdue"],
        attention=data["attention"],
    ), []


@require_GET
@permission_required("participants.view_kycsubmission")
def queue(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    filters, filter_errors = _filters(request)
    # Filters that make no sense show their errors and no rows: unfiltered rows under an error
    # would read as the answer to the question asked.
    page = (
        keyset_page(
            selectors.queue(filters=filters, user=user),
            query=request.GET,
            size=PAGE_SIZE,
            newest_first=False,
        )
        if filters is not None
        else None
    )
    sla = selectors.sla_deadline_cutoff()
    items = [
        {
            "submission": s,
            "identity": masked_identity(s),
            "overdue": s.created_at < sla,
        }
        for s in (page.rows if page else [])
    ]
    counts = selectors.queue_counts()
    context_data = {
        "items": items,
        "page": page,
        "filters": filters or QueueFilters(),
        "filter_errors": filter_errors,
        "querystring": page.querystring if page else "",
        "status_tabs": [
            (group, label, sum(counts.by_status.get(status, 0) for status in statuses))
            for group, (label, statuses) in selectors.STATUS_GROUPS.items()
        ]
        + [
            (value, label, counts.by_status.get(value, 0) if value in OPEN_STATUSES else None)
            for value, label in S.choices
        ],
        "open_count": sum(counts.by_status.values()),
        "attention_count": counts.attention,
        "staff": selectors.staff_who_can_work_the_queue(),
        "can_work": has_permission(user, "participants.change_kycsubmission"),
        "sla_hours": settings.KYC_SLA_HOURS,
    }
    return render_page(
        request,
        "participants/queue.html",
        context_data,
        partial="queue-table",
        target="queue-table",
    )


@require_POST
@permission_required("participants.change_kycsubmission")
def assign(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    form = AssignForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            messages.error(request, f"{name}: {' '.join(str(error) for error in errors)}")
        return redirect(_back(request))
    data = form.cleaned_data
    ids: list[int] = data["submission"]
    target: str = data["assignee"]
    if data["assign_one"] is not None:  # a row's own "Assign to me" button
        ids, target = [data["assign_one"]], "me"
    assignee: User | None
    if target == "me":
        assignee = user
    elif target == "":
        assignee = None
    else:
        assignee = selectors.staff_who_can_work_the_queue().filter(username=target).first()
        if assignee is None:
            messages.error(request, "Choose someone who works the onboarding queue.")
            return redirect(_back(request))
    if not ids:
        messages.error(request, "Select at least one submission.")
        return redirect(_back(request))
    changed = services.kyc_submissions_assign(submission_ids=ids, assignee=assignee, actor=user)
    who = assignee.get_username() if assignee else "nobody"
    messages.success(
        request, f"Assigned {changed} submission{'s' if changed != 1 else ''} to {who}."
    )
    return redirect(_back(request))


def _back(request: HtmxHttpRequest) -> str:
    """Where an action returns: the page it came from, if it is one of our onboarding pages."""
    nxt = request.POST.get("next", "")
    if len(nxt) <= 2000 and BACK_TO.fullmatch(nxt) and "//" not in nxt:
        return nxt
    return reverse("participants:queue")


@permission_required("participants.add_kycsubmission")
def intake(request: HtmxHttpRequest) -> HttpResponse:
    initial = {"agreement_signed_at": timezone.localtime().replace(second=0, microsecond=0)}
    form = IntakeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            submission = services.participant_intake(
                firm=selectors.current_firm(), data=form.cleaned_data, actor=_user(request)
            )
        except OnboardingError as exc:
            form.add_error(exc.field, exc.message)
        except FirmNotSetUp as exc:
            form.add_error(None, str(exc))
        else:
            _announce(request, submission)
            url = reverse("participants:participant", args=[submission.participant_id])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    return render_page(
        request,
        "participants/intake.html",
        {"form": form, "agreement_version": settings.KYC_AGREEMENT_VERSION},
        partial="intake-form",
        target="intake-form",
    )


def _announce(request: HtmxHttpRequest, submission: KycSubmission) -> None:
    """Tells the staff member, in words, where the submission stands after an action."""
    status = submission.status
    if status in {S.SUBMIT_FAILED, S.SEND_REFUSED}:
        messages.error(request, submission.last_error)
    elif status == S.OUTCOME_UNKNOWN:
        messages.warning(request, submission.last_error)
    elif status == S.HELD_DUPLICATE:
        messages.warning(
            request,
            "Another participant has the same SSN: compliance must review this before it is sent.",
        )
    elif status == S.DOCUMENT_CHECK:
        messages.info(
            request,
            "The exchange asks for a photo ID. Give the participant the document-check link.",
        )
    else:
        messages.success(request, f"Submitted to the exchange: {submission.get_status_display()}.")


@require_GET
@permission_required("participants.view_participant")
def participants(request: HtmxHttpRequest) -> HttpResponse:
    """Everyone onboarded, newest first, by participant status; htmx swaps the table."""
    status = request.GET.get("status", "")
    if status not in Participant.Status.values:
        status = ""
    can_see_kyc = has_permission(_user(request), "participants.view_kycsubmission")
    page = keyset_page(
        selectors.participants_list(status=status, with_kyc=can_see_kyc),
        query=request.GET,
        size=PAGE_SIZE,
        newest_first=True,
    )
    context_data = {
        "rows": [participant_row(p) for p in page.rows],
        "page": page,
        "status": status,
        "statuses": Participant.Status.choices,
    }
    return render_page(
        request,
        "participants/participants.html",
        context_data,
        partial="participants-table",
        target="participants-table",
    )


@require_GET
@permission_required("participants.view_participant")
def participant(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    if wants_partial(request, "kyc-live"):
        return _live_check(request, selectors.participant_for_user(user=user, pk=pk))
    # KYC detail (masked identity, state, timeline) and notes each need their own permission:
    # whoever lacks one never has those rows read, let alone shown.
    can_see_kyc = has_permission(user, "participants.view_kycsubmission")
    can_read_notes = can_see_kyc and has_permission(user, "participants.view_kycnote")
    found = selectors.participant_page(
        pk=pk,
        with_kyc=can_see_kyc,
        with_notes=can_read_notes,
        with_accounts=has_permission(user, "participants.view_account"),
    )
    current = found.submissions[0] if found.submissions else None
    context_data: dict[str, Any] = {
        "participant": found.participant,
        "current": current,
        "earlier": found.submissions[1:],
        "identity_rows": identity_rows(current) if current else [],
        "history": found.history,
        "story": kyc_story(current, found.history) if current else None,
        "shared_with": found.shared_with,
        "duplicate_form": DuplicateReviewForm(auto_id="review-%s"),
        "is_open": current is not None and current.status in OPEN_STATUSES,
        "accounts": found.accounts,
        "notes": found.notes,
        "can_see_kyc": can_see_kyc,
        "can_read_notes": can_read_notes,
        "note_form": NoteForm(),
        "reveal_form": RevealForm(),
        "can_reveal": has_permission(user, "participants.reveal_pii"),
        "can_work": has_permission(user, "participants.change_kycsubmission"),
        "can_retry": current is not None and current.status in services.RETRYABLE,
        "can_review_duplicate": has_permission(user, "participants.review_duplicate"),
        "attention": _attention(current, user) if current and current.attention_since else None,
        "can_note": has_permission(user, "participants.add_kycnote"),
        "panels": [
            (title, template)
            for title, template, permission in settings.PARTICIPANT_PAGE_PANELS
            if has_permission(user, permission)
        ],
    }
    return render(request, "participants/participant.html", context_data)


@require_GET
@permission_required("participants.view_kycsubmission")
def submission(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """A submission is shown on its participant's page (links from the audit trail land here)."""
    found = selectors.submission_for_user(user=_user(request), pk=pk)
    return redirect("participants:participant", found.participant_id)


def _live_check(request: HtmxHttpRequest, person: Participant) -> HttpResponse:
    """The page's poll while a decision may arrive: nothing if the state is the one the page
    shows, otherwise a full reload (HX-Refresh), so that every panel tells the new story."""
    if not has_permission(_user(request), "participants.view_kycsubmission"):
        raise PermissionDenied
    latest = KycSubmission.objects.filter(participant=person).only("status", "status_changed_at")
    current = latest.order_by("-id").first()
    response = HttpResponse(status=200)
    if current is None or version_of(current) != request.GET.get("since", ""):
        response["HX-Refresh"] = "true"
    patch_vary_headers(response, ["HX-Request"])
    return response


@never_cache  # Cache-Control: no-store: a value in clear must not outlive this response
@require_POST
@permission_required("participants.reveal_pii", message="Only compliance may reveal personal data.")
def reveal(request: HtmxHttpRequest, pk: int, field: str) -> HttpResponse:
    user = _user(request)
    submission = selectors.submission_for_user(user=user, pk=pk)
    form = RevealForm(request.POST)
    value = ""
    if form.is_valid():
        try:
            value = services.kyc_pii_reveal(
                submission=submission, field=field, reason=form.cleaned_data["reason"], actor=user
            )
        except OnboardingError as exc:
            form.add_error("reason" if exc.field == "reason" else None, exc.message)
    masked = {row[0]: row[2] for row in identity_rows(submission)}
    return render(
        request,
        "participants/participant.html#revealed",
        {
            "form": form,
            "value": value,
            "field": field,
            "masked": masked.get(field, ""),
            "current": submission,
            "revealed": not form.errors,
        },
    )


@never_cache  # the link is a key to the participant's document upload: kept in no cache
@require_POST
@permission_required("participants.change_kycsubmission")
def docv_link(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    submission = selectors.submission_for_user(user=_user(request), pk=pk)
    try:
        link, error = services.kyc_docv_link_show(submission=submission, actor=_user(request)), ""
    except OnboardingError as exc:
        link, error = "", exc.message
    return render(
        request,
        "participants/participant.html#docv-link",
        {"current": submission, "docv_link": link, "docv_error": error},
    )


@require_POST
@permission_required("participants.change_kycsubmission")
def retry(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    submission = selectors.submission_for_user(user=_user(request), pk=pk)
    if submission.status not in services.RETRYABLE:
        messages.error(
            request,
            f"This submission is “{submission.get_status_display()}”: there is nothing to retry.",
        )
    else:
        try:
            result = services.kyc_submission_send(submission=submission, actor=_user(request))
        except OnboardingError as exc:
            messages.error(request, exc.message)
        else:
            _announce(request, result.submission)
    return redirect("participants:participant", submission.participant_id)


@require_POST
@permission_required("participants.review_duplicate")
def review_duplicate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    submission = selectors.submission_for_user(user=user, pk=pk)
    form = DuplicateReviewForm(request.POST)
    if submission.status != S.HELD_DUPLICATE:
        messages.error(request, "This submission is not held as a possible duplicate.")
    elif not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
    else:
        reason = form.cleaned_data["reason"]
        try:
            if form.cleaned_data["decision"] == "release":
                result = services.kyc_submission_release(
                    submission=submission, actor=user, reason=reason
                )
                _announce(request, result.submission)
            else:
                services.kyc_submission_withdraw(submission=submission, actor=user, reason=reason)
                messages.success(request, "The submission was withdrawn and will not be sent.")
        except OnboardingError as exc:
            messages.error(request, exc.message)
    return redirect("participants:participant", submission.participant_id)


def _attention(submission: KycSubmission, user: User) -> dict[str, Any]:
    """The exchange's view beside ours, for a submission that contradicts it."""
    view = submission.exchange_view
    status = str(view.get("status", ""))
    codes = [
        (label, view[key])
        for key, label in (
            ("decision", "decision"),
            ("exchange_status", "status"),
            ("sub_status", "sub-status"),
            ("event_type", "event"),
            ("participant_id", "participant"),
            ("account_id", "account"),
            ("rejection_reason", "rejection reason"),
        )
        if view.get(key)
    ]
    return {
        "label": S(status).label if status in S.values else status,
        "codes": codes,
        "can_adopt": has_permission(user, "participants.adopt_exchange_state")
        and can_adopt(submission.status, status),
    }


@require_POST
@permission_required("participants.adopt_exchange_state")
def adopt_exchange_state(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    submission = selectors.submission_for_user(user=user, pk=pk)
    form = AdoptForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form[name].label}: {error}")
    else:
        try:
            adopted = kyc_exchange_state_adopt(
                submission=submission, actor=user, reason=form.cleaned_data["reason"]
            )
        except OnboardingError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"The exchange's state was adopted: “{S(adopted).label}”.")
    return redirect("participants:participant", submission.participant_id)


@require_POST
@permission_required("participants.add_kycnote")
def add_note(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    submission = selectors.submission_for_user(user=_user(request), pk=pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.kyc_note_add(
            submission=submission, text=form.cleaned_data["text"], actor=_user(request)
        )
        messages.success(request, "Note added.")
    else:
        messages.error(request, "A note needs text, at most 2,000 characters.")
    return redirect("participants:participant", submission.participant_id)


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


@require_GET
@permission_required("participants.view_kycsubmission")
def export_csv(request: HtmxHttpRequest) -> HttpResponseBase:
    """The queue as CSV, masked exactly as on screen, streamed so that size does not matter."""
    user = _user(request)
    filters, filter_errors = _filters(request)
    if filters is None:
        return HttpResponseBadRequest(
            "\n".join(filter_errors), content_type="text/plain; charset=utf-8"
        )
    rows = selectors.queue(filters=filters, user=user).iterator(chunk_size=500)
    sla = selectors.sla_deadline_cutoff()
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(
            [
                "submission",
                "external_id",
                "name",
                "ssn",
                "status",
                "created_at_utc",
                "overdue",
                "assignee",
            ]
        )
        for s in rows:
            identity = masked_identity(s)
            yield writer.writerow(
                [
                    s.pk,
                    s.participant.external_id,
                    identity.name,
                    identity.ssn,
                    s.status,
                    clock.export_utc(s.created_at),
                    "yes" if s.created_at < sla else "no",
                    s.assignee.get_username() if s.assignee else "",
                ]
            )

    audit_record(
        actor=user,
        action="participants.kyc.exported",
        payload={"filters": request.GET.urlencode()[:200]},
    )
    # UTF-8, said twice: in the header for programs, and by a byte-order mark for spreadsheets,
    # which otherwise read the file in the machine's legacy code page.
    response = StreamingHttpResponse(
        itertools.chain(["\ufeff"], lines()), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = (
        f'attachment; filename="onboarding-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


@csrf_exempt  # signed by the exchange instead (Standard Webhooks), and never cookie-authenticated
@login_not_required
@require_POST
def kyc_webhook(request: HtmxHttpRequest) -> HttpResponse:
    headers = {
        name: request.headers.get(name, "")
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature")
    }
    current = context.current()
    with context.bound(
        context.RequestContext(
            request_id=current.request_id if current else context.new_request_id(),
            client_ip=current.client_ip if current else None,
            origin="webhook:kyc",
            interactive=True,
        )
    ):
        receipt = kyc_webhook_receive(headers=headers, body=request.body)
    return HttpResponse(receipt.outcome, status=receipt.status_code, content_type="text/plain")
