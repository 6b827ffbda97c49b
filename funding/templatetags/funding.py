"""Money as staff read it, and the funding panel of the participant page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from funding import selectors
from funding.services import usd as usd_text
from participants.models import Participant

register = template.Library()
PANEL_ROWS = 10


@register.filter
def usd(value: Decimal | None) -> str:
    """ "$1,250.00"; a dash when there is no figure."""
    return "—" if value is None else usd_text(value)


@register.inclusion_tag("funding/participant_panel.html", takes_context=True)
def funding_panel(context: dict[str, Any], participant: Participant) -> dict[str, Any]:
    rows = selectors.participant_requests(participant_id=participant.pk, limit=PANEL_ROWS + 1)
    return {
        "participant": participant,
        "rows": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "perms": context.get("perms"),
    }
