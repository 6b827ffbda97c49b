"""Funding pages for treasury. Plain views: the page, or for htmx its partial. Every action is
confirm -> act -> message -> redirect, and the message says what is known, never more."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from backoffice import clock
from backoffice.audit.services import audit_record
from backoffice.gateway.errors import GatewayError
from backoffice.htmx import render_page
from backoffice.http import HtmxHttpRequest
from backoffice.identity.permissions import has_permission, permission_required
from backoffice.inputs import parse_id
from backoffice.paging import keyset_page
from funding import exchange, selectors, services
from funding.errors import FundingError
from funding.forms import EditForm, ReasonForm, RequestForm, TopUpForm
from funding.models import Direction, FundingRequest, PoolTopUp, PoolTotals
from funding.presenters import where_it_stands
from funding.selectors import QUEUE_VIEWS, AccountNotFound, QueueFilters
from funding.states import ALLOWED, MAYBE_AT_EXCHANGE
from participants.models import Participant

S = FundingRequest.Status
PAGE_SIZE = 50
VIEW = "funding.view_fundingrequest"


def _user(request: HtmxHttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware admits no one else
    return user


def _back_to(funding_request: FundingRequest) -> HttpResponse:
    return redirect("funding:request", funding_request.pk)


def _done(request: HtmxHttpRequest, what: str) -> None:
    """What was just done; the request's page, where every action returns, says where it stands."""
    messages.success(request, what)


# --- The queue ------------------------------------------------------------------------------------


def _filters(request: HtmxHttpRequest) -> QueueFilters:
    view = request.GET.get("view", "open")
    status = request.GET.get("status", "")
    direction = request.GET.get("direction", "")
    return QueueFilters(
        view=view if view in QUEUE_VIEWS else "open",
        status=status if status in S.values else "",
        direction=direction if direction in Direction.values else "",
        participant=parse_id(request.GET.get("participant", "")),
    )


@require_GET
@permission_required(VIEW)
def queue(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    filters = _filters(request)
    page = keyset_page(
        selectors.queue(filters=filters, user=user),
        query=request.GET,
        size=PAGE_SIZE,
        newest_first=filters.final,
    )
    counts = selectors.queue_counts(user=user)
    context_data = {
        "page": page,
        "filters": filters,
        "views": [(key, label, counts[key]) for key, label in QUEUE_VIEWS.items()],
        "states": [(value, label, counts.get(value)) for value, label in S.choices],
        "directions": Direction.choices,
        "can_request": has_permission(user, "funding.add_fundingrequest"),
        "querystring": page.querystring,
    }
    return render_page(
        request, "funding/queue.html", context_data, partial="funding-table", target="funding-table"
    )


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


EXPORT_COLUMNS = [
    "request",
    "created_at_utc",
    "participant",
    "account",
    "direction",
    "amount",
    "currency",
    "status",
    "external_reference",
    "requested_by",
    "approved_by",
    "second_approved_by",
    "workflow_id",
    "dco_transfer_id",
    "rejection_reason",
    "settled_at_utc",
]


@require_GET
@permission_required(VIEW)
def export_csv(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """The filtered list as CSV, streamed so size does not matter. Identifiers and figures only:
    the memo is free text and stays on the page."""
    user = _user(request)
    rows = (
        selectors.queue(filters=_filters(request), user=user)
        .select_related("account", "approved_by", "second_approved_by")
        .order_by("id")
        .iterator(chunk_size=500)
    )
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)
        for r in rows:
            yield writer.writerow(
                [
                    r.pk,
                    clock.export_utc(r.created_at),
                    r.participant.external_id,
                    r.account.account_id,
                    r.direction,
                    f"{r.amount:.2f}",
                    r.currency,
                    r.status,
                    r.external_reference,
                    r.requested_by.get_username(),
                    r.approved_by.get_username() if r.approved_by else "",
                    r.second_approved_by.get_username() if r.second_approved_by else "",
                    r.workflow_id,
                    r.dco_transfer_id,
                    r.rejection_reason,
                    clock.export_utc(r.settled_at),
                ]
            )

    audit_record(
        actor=user,
        action="funding.request.exported",
        payload={"filters": request.GET.urlencode()[:200]},
    )
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="funding-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


# --- One request ----------------------------------------------------------------------------------


def _available(funding_request: FundingRequest, user: User) -> dict[str, Any]:
    """Which actions this person may take now, and why approving is not one of them."""
    status = funding_request.status
    mine = funding_request.requested_by_id == user.pk
    approve_refusal = ""
    can_approve = False
    if status == S.AWAITING_APPROVAL:
        try:
            services.approval_stage(funding_request, user)
            can_approve = True
        except FundingError as exc:
            approve_refusal = exc.message
    return {
        "can_approve": can_approve,
        "approve_refusal": approve_refusal,
        "can_decline": can_approve and not mine,
        "can_send_for_approval": mine and status == S.DRAFT,
        "can_edit": mine
        and status in (S.DRAFT, S.AWAITING_APPROVAL)
        and not funding_request.send_attempts,
        "can_cancel": has_permission(user, "funding.add_fundingrequest")
        and S.CANCELLED in ALLOWED[status]
        and funding_request.exchange_error != "already_exists",
        "can_resend": has_permission(user, "funding.approve_fundingrequest")
        and status == S.REFUSED,
    }


@require_GET
@permission_required(VIEW)
def request_page(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    funding_request = selectors.request_for_user(user=user, pk=pk)
    context_data = {
        "r": funding_request,
        "standing": where_it_stands(funding_request),
        "history": list(funding_request.history.all()),
        "maybe_at_exchange": funding_request.status in MAYBE_AT_EXCHANGE,
        **_available(funding_request, user),
    }
    return render(request, "funding/request.html", context_data)


def _confirm(
    request: HtmxHttpRequest,
    funding_request: FundingRequest,
    *,
    action: str,
    title: str,
    button: str,
    form: ReasonForm | None = None,
    free_cash: exchange.FreeCash | None = None,
    free_cash_error: str = "",
) -> HttpResponse:
    return render(
        request,
        "funding/confirm.html",
        {
            "r": funding_request,
            "action": action,
            "title": title,
            "button": button,
            "form": form,
            "free_cash": free_cash,
            "free_cash_error": free_cash_error,
            "standing": where_it_stands(funding_request),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(VIEW)
def approve(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    funding_request = selectors.request_for_user(user=user, pk=pk)
    if request.method == "POST":
        version = parse_id(request.POST.get("version", "")) or 0
        try:
            funding_request = services.funding_request_approve(
                request=funding_request, actor=user, version=version
            )
        except FundingError as exc:
            messages.error(request, exc.message)
            return _back_to(funding_request)
        done = (
            "You approved it."
            if funding_request.status != S.AWAITING_APPROVAL
            else "You gave the first approval."
        )
        _done(request, done)
        return _back_to(funding_request)
    try:
        services.approval_stage(funding_request, user)
    except FundingError as exc:
        messages.error(request, exc.message)
        return _back_to(funding_request)
    figures, error = None, ""
    if funding_request.direction == Direction.WITHDRAWAL:
        try:
            figures = exchange.free_cash(request=funding_request, actor=user)
        except GatewayError as exc:
            error = exchange.describe_failure(exc)
    return _confirm(
        request,
        funding_request,
        action="approve",
        title="Approve this request",
        button="Approve and send",
        free_cash=figures,
        free_cash_error=error,
    )


def _with_reason(
    request: HtmxHttpRequest, pk: int, *, action: str, title: str, button: str
) -> HttpResponse:
    user = _user(request)
    funding_request = selectors.request_for_user(user=user, pk=pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        act = (
            services.funding_request_decline
            if action == "decline"
            else services.funding_request_cancel
        )
        try:
            act(request=funding_request, actor=user, reason=form.cleaned_data["reason"])
        except FundingError as exc:
            if exc.field == "reason":
                form.add_error("reason", exc.message)
            else:
                messages.error(request, exc.message)
                return _back_to(funding_request)
        else:
            funding_request.refresh_from_db()
            _done(request, "Declined." if action == "decline" else "Cancelled.")
            return _back_to(funding_request)
    return _confirm(request, funding_request, action=action, title=title, button=button, form=form)


@require_http_methods(["GET", "POST"])
@permission_required("funding.approve_fundingrequest")
def decline(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _with_reason(
        request, pk, action="decline", title="Decline this request", button="Decline"
    )


@require_http_methods(["GET", "POST"])
@permission_required("funding.add_fundingrequest")
def cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _with_reason(
        request, pk, action="cancel", title="Cancel this request", button="Cancel it"
    )


@require_http_methods(["GET", "POST"])
@permission_required("funding.approve_fundingrequest")
def resend(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Send again a request the exchange refused (nothing was created), once its cause is fixed."""
    user = _user(request)
    funding_request = selectors.request_for_user(user=user, pk=pk)
    if request.method == "POST":
        try:
            services.funding_request_submit(request=funding_request, actor=user)
        except FundingError as exc:
            messages.error(request, exc.message)
        else:
            _done(request, "You sent it again, under the same key.")
        return _back_to(funding_request)
    return _confirm(
        request, funding_request, action="resend", title="Send it again", button="Send again"
    )


@require_POST
@permission_required("funding.add_fundingrequest")
def send_for_approval(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    funding_request = selectors.request_for_user(user=user, pk=pk)
    try:
        services.funding_request_send_for_approval(request=funding_request, actor=user)
    except FundingError as exc:
        messages.error(request, exc.message)
    else:
        _done(request, "Sent for approval.")
    return _back_to(funding_request)


# --- Making and editing -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@permission_required("funding.add_fundingrequest")
def create(request: HtmxHttpRequest) -> HttpResponse:
    user = _user(request)
    initial: dict[str, Any] = {"direction": request.GET.get("direction", Direction.DEPOSIT)}
    participant = parse_id(request.GET.get("participant", ""))
    if participant is not None:
        first = (
            Participant.objects.filter(pk=participant)
            .values_list("accounts__account_id", flat=True)
            .first()
        )
        initial["account"] = first or ""
    form = RequestForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = selectors.account_for(data["account"])
            made = services.funding_request_create(
                account=account,
                direction=data["direction"],
                amount=data["amount"],
                external_reference=data["external_reference"],
                memo=data["memo"],
                actor=user,
                for_approval=request.POST.get("action") != "draft",
            )
        except AccountNotFound as exc:
            form.add_error("account", str(exc))
        except FundingError as exc:
            form.add_error(exc.field, exc.message)
        else:
            _done(request, "Request recorded.")
            url = reverse("funding:request", args=[made.pk])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    template = "funding/form.html#request-form" if request.htmx else "funding/form.html"
    return render(request, template, {"form": form})


@require_GET
@permission_required("funding.add_fundingrequest")
def free_cash(request: HtmxHttpRequest) -> HttpResponse:
    """The account's free cash as the exchange reports it now, beside the create form."""
    context_data: dict[str, Any] = {"error": "", "figures": None, "account": None}
    try:
        account = selectors.account_for(request.GET.get("account", "")[:200])
        services.check_account(account)
        context_data["account"] = account
        context_data["figures"] = exchange.account_free_cash(
            participant_id=account.participant.participant_id,
            account_id=account.account_id,
            actor=_user(request),
        )
        context_data["read_at"] = timezone.now()
    except AccountNotFound as exc:
        context_data["error"] = str(exc)
    except FundingError as exc:
        context_data["error"] = exc.message
    except GatewayError as exc:
        context_data["error"] = f"Free cash could not be read: {exchange.describe_failure(exc)}."
    return render(request, "funding/form.html#free-cash", context_data)


@require_http_methods(["GET", "POST"])
@permission_required("funding.add_fundingrequest")
def edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    funding_request = selectors.request_for_user(user=user, pk=pk)
    initial = {
        "version": funding_request.version,
        "amount": f"{funding_request.amount:.2f}",
        "external_reference": funding_request.external_reference,
        "memo": funding_request.memo,
    }
    form = EditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.funding_request_edit(
                request=funding_request,
                amount=data["amount"],
                external_reference=data["external_reference"],
                memo=data["memo"],
                actor=user,
                version=data["version"],
            )
        except FundingError as exc:
            form.add_error(exc.field, exc.message)
        else:
            _done(request, "Saved; any approval it had was dropped.")
            return _back_to(funding_request)
    return render(request, "funding/edit.html", {"r": funding_request, "form": form})


# --- The pool -------------------------------------------------------------------------------------------


def _today() -> tuple[dt.datetime, dt.datetime]:
    start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


@require_GET
@permission_required(VIEW)
def balance(request: HtmxHttpRequest) -> HttpResponse:
    """The firm's funding account as the exchange reports it, beside what our records say it
    should hold (top-ups - deposits + withdrawals) and today's movements."""
    user = _user(request)
    pool, pool_error = None, ""
    try:
        pool = exchange.pool_balance(actor=user)
    except GatewayError as exc:
        pool_error = exchange.describe_failure(exc)
    totals = PoolTotals.objects.filter(currency="USD").first() or PoolTotals(currency="USD")
    start, end = _today()
    in_flight = selectors.in_flight_by_direction()
    context_data = {
        "pool": pool,
        "pool_error": pool_error,
        "totals": totals,
        "difference": pool.balance - totals.expected_balance if pool else None,
        "today": selectors.confirmed_between(start=start, end=end),
        "day_start": start,
        "in_flight_deposits": in_flight.get(Direction.DEPOSIT),
        "in_flight_withdrawals": in_flight.get(Direction.WITHDRAWAL),
        "top_ups": list(PoolTopUp.objects.select_related("recorded_by").order_by("-id")[:10]),
        "form": TopUpForm(),
        "can_top_up": has_permission(user, "funding.add_pooltopup"),
    }
    return render(request, "funding/balance.html", context_data)


@require_POST
@permission_required("funding.add_pooltopup")
def top_up(request: HtmxHttpRequest) -> HttpResponse:
    form = TopUpForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A top-up needs an amount and the wire's reference.")
        return redirect("funding:balance")
    try:
        recorded = services.pool_topup_record(
            amount=form.cleaned_data["amount"],
            reference=form.cleaned_data["reference"],
            memo=form.cleaned_data["memo"],
            actor=_user(request),
        )
    except FundingError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Top-up {recorded.reference} of {services.usd(recorded.amount)} recorded."
        )
    return redirect("funding:balance")
