"""Receiving the exchange's KYC webhooks: believe only signed, fresh, first-time deliveries."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from backoffice.audit.services import audit_record
from backoffice.inputs import InputRefused
from participants.attention import kyc_attention_record
from participants.errors import ExchangeContradicts
from participants.models import Firm, KycSubmission, WebhookDelivery
from participants.outcomes import KycOutcome
from participants.selectors import FirmNotSetUp, current_firm
from participants.services import kyc_outcome_apply
from participants.webhook_payloads import KYC_EVENTS, MAX_BODY_BYTES, parse_kyc_event
from participants.webhook_signatures import SignatureRefused, verify

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    status_code: int
    outcome: str


def kyc_webhook_receive(*, headers: dict[str, str], body: bytes) -> Receipt:
    if len(body) > MAX_BODY_BYTES:  # before any work: no KYC event comes near this size
        return Receipt(413, "body_too_large")
    try:
        firm = current_firm()
    except FirmNotSetUp:
        # Nothing can be verified without the firm's secret. 503 tells the exchange to try again
        # later, by when firm_setup will have run.
        logger.error("KYC webhook received before the firm is set up (run manage.py firm_setup)")
        return Receipt(503, "firm_not_set_up")
    try:
        webhook_id = verify(
            headers=headers, body=body, secrets=[firm.webhook_secret, firm.webhook_secret_previous]
        )
    except SignatureRefused as exc:
        logger.warning("KYC webhook refused: %s", exc.reason)
        return Receipt(401, exc.reason)
    try:
        event = parse_kyc_event(webhook_id=webhook_id, body=body)
    except InputRefused as exc:
        # Signed, so the exchange sent it: the reason tells its operators (and ours) what to fix.
        reason = f"{exc.reason}:{exc.field}" if exc.field else exc.reason
        logger.warning("KYC webhook refused: %s", reason)
        return Receipt(400, reason)
    return _apply(firm=firm, webhook_id=webhook_id, event=event)


@transaction.atomic(durable=True)
def _apply(*, firm: Firm, webhook_id: str, event: dict[str, Any]) -> Receipt:
    """Record the delivery and apply it in one transaction: if applying fails, the delivery is not
    marked seen, and the exchange's retry will be processed."""
    event_type: str = event["event_type"]
    data: dict[str, Any] = event.get("data", {})
    external_id = data.get("external_id", "")
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                webhook_id=webhook_id,
                event_type=event_type,
                external_id=external_id,
                outcome="received",
            )
    except IntegrityError:
        logger.info("KYC webhook %s is a replay; ignored", webhook_id)
        return Receipt(200, "duplicate")
    outcome = _outcome(firm=firm, event_type=event_type, data=data, external_id=external_id)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(outcome=outcome)
    audit_record(
        actor=None,
        action="participants.webhook.received",
        target=delivery,
        payload={"event_type": event_type, "outcome": outcome},
    )
    return Receipt(200, outcome)


def _outcome(*, firm: Firm, event_type: str, data: dict[str, Any], external_id: str) -> str:
    if event_type == "webhook.test":
        return "test"
    if event_type not in KYC_EVENTS:
        return "ignored_event_type"
    submission = (
        KycSubmission.objects.filter(participant__firm=firm, participant__external_id=external_id)
        .order_by("-id")
        .first()
    )
    if submission is None:
        logger.warning("KYC webhook for an external id we do not know")
        return "unknown_external_id"
    outcome = KycOutcome(
        event_type=event_type,
        participant_id=str(data.get("provisioned_participant", "")),
        account_id=str(data.get("provisioned_account", "")),
        rejection_reason=str(data.get("rejection_reason", "")),
        exchange_status=str(data.get("status", "")),
    )
    try:
        with transaction.atomic():
            kyc_outcome_apply(submission=submission, outcome=outcome, actor=None, source="webhook")
    except ExchangeContradicts as exc:
        # The exchange contradicts what we hold (say, a rejection after an approval): keep ours,
        # acknowledge the delivery, and put the contradiction before a person (the queue's
        # "Needs attention" tab).
        kyc_attention_record(
            submission=submission, outcome=exc.outcome, reason=exc.message, source="webhook"
        )
        return "conflict"
    return "applied"
