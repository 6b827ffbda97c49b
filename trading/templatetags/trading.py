"""The trading panel of the participant page (settings.PARTICIPANT_PAGE_PANELS): the page knows
nothing of trading, so the panel reads what it shows itself, in a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django import template

from participants.models import Participant
from trading.selectors import feed_health, participant_trading

register = template.Library()


@register.inclusion_tag("trading/_participant_trading.html", takes_context=True)
def participant_trading_panel(
    context: template.Context, participant: Participant
) -> dict[str, Any]:
    # The page includes the panel only for those who may read trading (its permission there).
    return {
        "participant": participant,
        "trading": participant_trading(participant),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("trading/_health.html")
def feed_health_panel() -> dict[str, Any]:
    return {"health": feed_health()}
