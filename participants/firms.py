"""Setting up the firm: who the exchange says we are, and where it sends KYC webhooks."""

from __future__ import annotations

import base64
import secrets

from django.conf import settings
from django.db import transaction

from backoffice.actors import Actor
from backoffice.audit.services import audit_record
from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import GatewayError, Outcome, misconfiguration
from participants.errors import OnboardingError
from participants.models import Firm


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 32 random bytes in base64 (the exchange wants >= 24)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def firm_setup(*, webhook_url: str, actor: Actor) -> Firm:
    """Record the firm for the configured environment (from whoami) and register the KYC webhook
    under a new secret. The previous secret stays valid here until the next rotation, so
    deliveries signed while the exchange switches over are still believed.

    Raises the gateway's error when whoami fails (nothing changed), and OnboardingError, in words
    for an operator, when the registration did not succeed (recorded first).
    """
    gateway = get_gateway()
    me = gateway.whoami(actor=actor)
    secret = new_webhook_secret()
    before = Firm.objects.filter(environment=settings.POLYMARKET_ENVIRONMENT).first()
    firm = _store(
        firm_id=me.firm, display_name=me.firm_display_name, pending_secret=secret, actor=actor
    )
    # The exchange sends a signed webhook.test to the URL before saving it: the new secret must
    # already be one we accept, which _store made sure of.
    try:
        gateway.kyc_register_webhook(webhook_url=webhook_url, signing_secret=secret, actor=actor)
    except GatewayError as exc:
        raise OnboardingError(
            _record_registration_failure(firm=firm, before=before, error=exc, actor=actor)
        ) from exc
    _record_registration(firm=firm, webhook_url=webhook_url, actor=actor)
    firm.refresh_from_db()
    return firm


@transaction.atomic(durable=True)
def _record_registration(*, firm: Firm, webhook_url: str, actor: Actor) -> None:
    Firm.objects.filter(pk=firm.pk).update(webhook_url=webhook_url)
    audit_record(
        actor=actor,
        action="participants.firm.webhook_registered",
        target=firm,
        payload={"url": webhook_url},
    )


@transaction.atomic(durable=True)
def _record_registration_failure(
    *, firm: Firm, before: Firm | None, error: GatewayError, actor: Actor
) -> str:
    """Keep the secrets the exchange may be signing with, and say what happened."""
    if error.outcome is Outcome.UNKNOWN:
        # It may have saved the new secret, or kept the old one: accept both (as _store left
        # them) until a registration whose answer is known.
        message = (
            f"The webhook registration was sent but its answer is not known ({error.code}). Both "
            "the new and the previous signing secret are accepted meanwhile; run firm_setup "
            "again to settle it."
        )
    else:
        # The exchange kept the old registration: so do we, or a second failure would drop the
        # secret it still signs with.
        if before is not None:
            Firm.objects.filter(pk=firm.pk).update(
                webhook_secret=before.webhook_secret,
                webhook_secret_previous=before.webhook_secret_previous,
            )
        if error.outcome is Outcome.REFUSED:
            message = (
                f"The exchange refused the webhook registration ({error.code}): {error.message}"
            )
        elif error.outcome is Outcome.MISCONFIGURED:
            message = (
                "The webhook was not registered: the connection to the exchange is misconfigured "
                f"({misconfiguration(error)})."
            )
        else:
            message = (
                f"The webhook was not registered: the exchange could not take it now "
                f"({error.code}). Nothing changed there; run firm_setup again."
            )
    audit_record(
        actor=actor,
        action="participants.firm.webhook_registration_failed",
        target=firm,
        payload={"outcome": str(error.outcome), "error": error.code},
    )
    return message


@transaction.atomic(durable=True)
def _store(*, firm_id: str, display_name: str, pending_secret: str, actor: Actor) -> Firm:
    firm, created = Firm.objects.select_for_update().get_or_create(
        environment=settings.POLYMARKET_ENVIRONMENT,
        defaults={"client_id": settings.POLYMARKET_CLIENT_ID, "firm_id": firm_id},
    )
    firm.client_id = settings.POLYMARKET_CLIENT_ID
    firm.firm_id = firm_id
    firm.display_name = display_name
    firm.webhook_secret_previous = firm.webhook_secret
    firm.webhook_secret = pending_secret
    firm.save()
    audit_record(
        actor=actor,
        action="participants.firm.created" if created else "participants.firm.updated",
        target=firm,
        payload={"firm_id": firm_id, "webhook_secret_rotated": True},
    )
    return firm
