"""`{% open_breaks_panel %}`: the open breaks of the participant page's accounts (the panel the
reconciliation adds through PARTICIPANT_PAGE_PANELS), for those who may see breaks."""

from __future__ import annotations

from typing import Any

from django import template

from backoffice.identity.permissions import has_permission
from backoffice.reconciliation.selectors import open_breaks_of

register = template.Library()


@register.inclusion_tag("reconciliation/open_breaks.html", takes_context=True)
def open_breaks_panel(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    allowed = has_permission(request.user, "reconciliation.view_break")
    # The page lists the participant's accounts only to those who may see them.
    accounts = context.get("accounts") or []
    found = open_breaks_of(a.account_id for a in accounts) if allowed and accounts else []
    return {"allowed": allowed, "breaks": found}
