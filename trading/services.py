"""Support's cancel of a participant's open order, in the shape every exchange-changing service
has: claim (one durable transaction), call (after the commit), record (one durable transaction
per outcome), finish (`manage.py cancel_sync`).

The cancel carries no idempotency key, so a cancel whose answer was lost is never sent again
blind: `cancel_sync` reads the participant's open orders and settles it (no longer open: the
cancel took effect or the order finished anyway; still open: nothing happened, and staff may ask
again).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.gateway.client import get_gateway, longest_write_seconds
from backoffice.gateway.errors import GatewayError, Outcome, misconfiguration
from participants.models import Account, Participant
from trading.errors import TradingError
from trading.models import Order, OrderCancel
from trading.states import IN_FLIGHT, order_cancel_transition

logger = logging.getLogger(__name__)
S = OrderCancel.Status
REASON_MAX = 500

REQUESTED_MESSAGE = (
    "The exchange accepted the cancel; the order shows as canceled once Drop Copy reports it."
)


def describe_failure(exc: GatewayError) -> tuple[str, str]:
    """The state a failed cancel call leaves, and the words staff see, true to what is known."""
    code = exc.code
    if exc.outcome is Outcome.NOT_SENT:
        return S.NOT_SENT, (
            f"Not sent: the exchange could not take it now ({code}), so nothing changed there. "
            "You may ask again."
        )
    if exc.outcome is Outcome.REFUSED:
        return S.REFUSED, f"Refused by the exchange ({code}): {exc.message or 'no reason given'}"
    if exc.outcome is Outcome.UNKNOWN:
        return S.OUTCOME_UNKNOWN, (
            f"Sent; the exchange's answer is not known yet ({code}) and is being checked by "
            "reading the participant's open orders. It is never sent again blind."
        )
    return S.NOT_SENT, (
        f"Not sent: the connection to the exchange is misconfigured ({misconfiguration(exc)}). "
        "An administrator must fix the settings."
    )


def _participant_of(order: Order) -> Participant:
    account = Account.objects.select_related("participant").filter(account_id=order.account).first()
    if account is None or not account.participant.participant_id:
        raise TradingError("This order's account belongs to no participant of ours.")
    return account.participant


@transaction.atomic(durable=True)
def _claim(*, order: Order, reason: str, actor: User) -> OrderCancel:
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if not locked.is_open:
        raise TradingError(
            f"This order is {locked.state.lower().replace('_', ' ')}: only an open order can be canceled."
        )
    participant = _participant_of(locked)
    now = timezone.now()
    try:
        with transaction.atomic():
            cancel = OrderCancel.objects.create(
                order=locked,
                participant=participant,
                requested_by=actor,
                reason=reason,
                status=S.SENDING,
                created_at=now,
                send_deadline=now + dt.timedelta(seconds=longest_write_seconds()),
            )
    except IntegrityError:
        raise TradingError(
            "A cancel of this order is already in flight; its outcome shows on this page."
        ) from None
    audit_record(
        actor=actor,
        action="trading.order_cancel.requested",
        target=cancel,
        payload={
            "order": locked.exchange_id,
            "on_behalf_of": participant.pk,
            "participant_id": participant.participant_id,
        },
    )
    return cancel


@transaction.atomic(durable=True)
def _record(*, cancel: OrderCancel, status: str, message: str, actor: Actor, source: str) -> None:
    locked = OrderCancel.objects.select_for_update().get(pk=cancel.pk)
    if locked.status not in IN_FLIGHT:
        logger.info("cancel #%s answered after it was settled (%s); kept", locked.pk, locked.status)
        return
    order_cancel_transition(
        cancel=locked, to_status=status, actor=actor, source=source, message=message
    )
    cancel.refresh_from_db()


def order_cancel_request(*, order: Order, reason: str, actor: User) -> OrderCancel:
    """Ask the exchange, on behalf of the order's participant, to cancel it; return the cancel in
    whatever state the answer left it (TradingError when it cannot be asked at all)."""
    reason = " ".join(reason.split())
    if not reason:
        raise TradingError("Give the reason for the cancel.")
    if len(reason) > REASON_MAX:
        raise TradingError(f"The reason must be at most {REASON_MAX} characters.")
    cancel = _claim(order=order, reason=reason, actor=actor)
    try:
        get_gateway().cancel_order(
            participant_id=cancel.participant.participant_id,
            order_id=order.exchange_id,
            symbol=order.symbol,
            actor=actor,
        )
    except GatewayError as exc:
        status, message = describe_failure(exc)
        _record(cancel=cancel, status=status, message=message, actor=actor, source="exchange")
        return cancel
    _record(
        cancel=cancel, status=S.REQUESTED, message=REQUESTED_MESSAGE, actor=actor, source="exchange"
    )
    return cancel


def order_cancel_settle(*, cancel: OrderCancel) -> bool:
    """Settle a cancel whose answer is unknown (or whose process died sending it) by reading the
    participant's open orders; False if the exchange could not be read (it is asked again)."""
    order = cancel.order
    try:
        still_open = get_gateway().open_orders(
            participant_id=cancel.participant.participant_id,
            accounts=[order.account],
            symbols=[order.symbol],
            actor=None,
        )
    except GatewayError as exc:
        logger.warning("cancel #%s: the open orders could not be read: %s", cancel.pk, exc)
        return False
    if any(o.id == order.exchange_id for o in still_open):
        status, message = (
            S.NOT_SENT,
            (
                "The exchange still has this order open: the cancel did not take effect. "
                "You may ask again."
            ),
        )
    else:
        status, message = (
            S.REQUESTED,
            (
                "The exchange no longer has this order open: the cancel took effect (or the order "
                "finished first)."
            ),
        )
    if cancel.status == S.SENDING:
        _record(
            cancel=cancel,
            status=S.OUTCOME_UNKNOWN,
            message="The send did not finish (its process stopped); the exchange is being asked.",
            actor=None,
            source="cancel_sync",
        )
    _record(cancel=cancel, status=status, message=message, actor=None, source="cancel_sync")
    return True


def cancel_sync() -> tuple[int, int]:
    """Settle every unknown cancel, and every send whose deadline passed; (settled, unreadable)."""
    now = timezone.now()
    pending = OrderCancel.objects.select_related("order", "participant").filter(
        status__in=IN_FLIGHT
    )
    settled = failed = 0
    for cancel in pending.order_by("send_deadline"):
        if cancel.status == S.SENDING and cancel.send_deadline > now:
            continue  # still within its own call
        if order_cancel_settle(cancel=cancel):
            settled += 1
        else:
            failed += 1
    return settled, failed
