"""Trading pages: the firm-wide blotter (and its CSV), an order with its story and support's
cancel, and a participant's balance refresh. Plain views: the page, or for htmx its partial."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from backoffice import clock
from backoffice.gateway.errors import GatewayError
from backoffice.htmx import render_page
from backoffice.http import HtmxHttpRequest
from backoffice.identity.permissions import has_permission, permission_required
from participants.models import Account, Participant
from trading import selectors
from trading.balances import balances_refresh
from trading.errors import TradingError
from trading.forms import BlotterForm, CancelForm
from trading.models import OPEN_ORDER_STATES, Execution, Order
from trading.paging import time_page
from trading.services import order_cancel_request

PAGE_SIZE = 50
EXPORT_CHUNK = 2000


def _user(request: HtmxHttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware admits no one else
    return user


def _blotter_rows(form: BlotterForm) -> tuple[QuerySet[Any], str]:
    """The filtered rows of the chosen view and the time they are ordered by."""
    data = form.cleaned_data
    executions = data["view"] == "executions"
    rows: QuerySet[Any] = Execution.objects.all() if executions else Order.objects.all()
    field = "transact_time" if executions else "insert_time"
    if data["participant"]:
        accounts = Account.objects.filter(participant__external_id=data["participant"])
        rows = rows.filter(account__in=list(accounts.values_list("account_id", flat=True)))
    if data["symbol"]:
        rows = rows.filter(symbol=data["symbol"])
    if data["side"]:
        rows = rows.filter(side=data["side"])
    state = data["state"]
    if state and executions:
        rows = rows.filter(exec_type=state)
    elif state == "OPEN":
        rows = rows.filter(state__in=OPEN_ORDER_STATES)
    elif state:
        rows = rows.filter(state=state)
    since, until = form.window()
    if since:
        rows = rows.filter(**{f"{field}__gte": since})
    if until:
        rows = rows.filter(**{f"{field}__lt": until})
    return rows, field


def _errors(form: BlotterForm) -> list[str]:
    return [f"{form[name].label}: {e}" for name, errors in form.errors.items() for e in errors]


@require_GET
@permission_required("trading.view_order")
def blotter(request: HtmxHttpRequest) -> HttpResponse:
    """Orders or executions across the firm, newest first, filtered; pages by keyset."""
    form = BlotterForm(request.GET)
    page = None
    participants: dict[str, Participant] = {}
    if form.is_valid():
        rows, field = _blotter_rows(form)
        page = time_page(rows, field=field, query=request.GET, size=PAGE_SIZE)
        participants = selectors.participants_by_account({row.account for row in page.rows})
    view = form.cleaned_data.get("view", "orders") if form.is_valid() else "orders"
    context = {
        "form": form,
        "view": view,
        "page": page,
        "rows": [(row, participants.get(row.account)) for row in (page.rows if page else [])],
        "filter_errors": _errors(form),
        "feed": selectors.feed_state(),
        "export_query": request.GET.urlencode(),
    }
    return render_page(request, "trading/blotter.html", context, partial="rows", target="rows")


def _csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """The file in pieces of 500 rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    rows = iter(rows)
    while batch := list(itertools.islice(rows, 500)):
        writer.writerows(batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


ORDER_EXPORT = [
    "order_id", "clord_id", "account", "symbol", "side", "type", "time_in_force", "state",
    "price", "avg_px", "order_qty", "cum_qty", "leaves_qty", "commission", "insert_time_utc",
    "last_transact_time_utc",
]  # fmt: skip
EXECUTION_EXPORT = [
    "execution_id", "order_id", "account", "symbol", "side", "type", "last_shares", "last_px",
    "commission", "trade_id", "busted", "transact_time_utc", "trade_date",
]  # fmt: skip


@require_GET
@permission_required("trading.view_order")
def export_csv(request: HtmxHttpRequest) -> HttpResponseBase:
    """The blotter's rows as CSV (times in UTC), streamed in chunks: any size, flat memory."""
    form = BlotterForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "\n".join(_errors(form)), content_type="text/plain; charset=utf-8"
        )
    rows, field = _blotter_rows(form)
    ordered = rows.order_by(f"-{field}", "-pk").iterator(chunk_size=EXPORT_CHUNK)
    if form.cleaned_data["view"] == "executions":
        header = EXECUTION_EXPORT
        values: Iterator[list[Any]] = (
            [
                e.exchange_id, e.order_exchange_id, e.account, e.symbol, e.side, e.exec_type,
                e.last_shares, e.last_px, e.commission, e.trade_id, "yes" if e.busted else "no",
                clock.export_utc(e.transact_time), e.trade_date,
            ]
            for e in ordered
        )  # fmt: skip
    else:
        header = ORDER_EXPORT
        values = (
            [
                o.exchange_id, o.clord_id, o.account, o.symbol, o.side, o.order_type,
                o.time_in_force, o.state, o.price, o.avg_px, o.order_qty, o.cum_qty,
                o.leaves_qty, o.commission_total, clock.export_utc(o.insert_time),
                clock.export_utc(o.last_transact_time),
            ]
            for o in ordered
        )  # fmt: skip
    response = StreamingHttpResponse(
        itertools.chain(["\ufeff"], _csv_lines(header, values)),
        content_type="text/csv; charset=utf-8",
    )
    name = form.cleaned_data["view"]
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


def _order(exchange_id: str) -> Order:
    if not exchange_id.isalnum() or len(exchange_id) > 64:
        raise Http404("No such order.")
    return get_object_or_404(selectors.orders_with_holder(), exchange_id=exchange_id)


@require_GET
@permission_required("trading.view_order")
def order_page(request: HtmxHttpRequest, exchange_id: str) -> HttpResponse:
    order = _order(exchange_id)
    story = selectors.order_story(order)
    can_cancel = has_permission(_user(request), "trading.cancel_order") and order.is_open
    return render(
        request,
        "trading/order.html",
        {
            "story": story,
            "order": order,
            "can_cancel": can_cancel and story.participant is not None,
            "form": CancelForm(),
            "feed": selectors.feed_state(),
        },
    )


@require_POST
@permission_required("trading.cancel_order", message="Only support may cancel an order.")
def order_cancel(request: HtmxHttpRequest, exchange_id: str) -> HttpResponse:
    """Cancel an open order on behalf of its participant: a reason is required; the answer (or
    the exchange's refusal) is shown on the order's page."""
    order = _order(exchange_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        story = selectors.order_story(order)
        context = {
            "story": story,
            "order": order,
            "can_cancel": order.is_open and story.participant is not None,
            "form": form,
            "feed": selectors.feed_state(),
        }
        return render(request, "trading/order.html", context, status=400)
    try:
        cancel = order_cancel_request(
            order=order, reason=form.cleaned_data["reason"], actor=_user(request)
        )
    except TradingError as exc:
        messages.error(request, str(exc))
    else:
        level = messages.SUCCESS if cancel.status == cancel.Status.REQUESTED else messages.WARNING
        messages.add_message(request, level, cancel.message)
    return redirect("trading:order", exchange_id=order.exchange_id)


@require_POST
@permission_required("trading.view_order")
def balance_refresh(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Read the participant's balances from the exchange now (a point-in-time read)."""
    person = get_object_or_404(Participant, pk=pk)
    try:
        count = balances_refresh(participant=person, actor=_user(request))
    except (TradingError, GatewayError) as exc:
        messages.error(request, f"The balance could not be read: {exc}")
    else:
        messages.success(request, f"Balance read from the exchange for {count} account(s).")
    return redirect("participants:participant", pk=person.pk)
