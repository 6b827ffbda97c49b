"""Receiving the exchange's KYC webhooks: believe only signed, fresh, first-time deliveries."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from backoffice.audit.services import audit_record
from participants.errors import OnboardingError
from participants.models import Firm, KycSubmission, WebhookDelivery
from participants.outcomes import KycOutcome
from participants.selectors import FirmNotSetUp, current_firm
from participants.services import kyc_outcome_apply
from participants.webhook_signatures import SignatureRefused, verify

logger = logging.getLogger(__name__)

KYC_EVENTS = {"kyc.approved", "kyc.rejected"}


@dataclass(frozen=True)
class Receipt:
    status_code: int
    outcome: str


def kyc_webhook_receive(*, headers: dict[str, str], body: bytes) -> Receipt:
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
        event = _parse(body)
    except ValueError as exc:
        logger.warning("KYC webhook %s refused: malformed body (%s)", webhook_id, exc)
        return Receipt(400, "malformed_body")
    return _apply(firm=firm, webhook_id=webhook_id, event=event)


def _parse(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
        raise ValueError("no event_type")
    data = event.get("data", {})
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    if event["event_type"] in KYC_EVENTS and not isinstance(data.get("external_id"), str):
        raise ValueError("no data.external_id")
    return event


@transaction.atomic(durable=True)
def _apply(*, firm: Firm, webhook_id: str, event: dict[str, Any]) -> Receipt:
    """Record the delivery and apply it in one transaction: if applying fails, the delivery is not
    marked seen, and the exchange's retry will be processed."""
    event_type: str = event["event_type"]
    data: dict[str, Any] = event.get("data", {})
    external_id = str(data.get("external_id", ""))[:49]
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                webhook_id=webhook_id[:100],
                event_type=event_type[:40],
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
        payload={"event_type": event_type[:40], "outcome": outcome},
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
        exchange_status=str(data.get("status", ""))[:32],
    )
    try:
        with transaction.atomic():
            kyc_outcome_apply(submission=submission, outcome=outcome, actor=None, source="webhook")
    except OnboardingError as exc:
        # The exchange contradicts what we hold (say, a rejection after an approval): keep ours,
        # acknowledge the delivery, and leave the contradiction in the log and the trail for a human.
        logger.error(
            "KYC webhook for submission %s conflicts with its state: %s", submission.pk, exc
        )
        return "conflict"
    return "applied"
