"""The blotter's filters and the cancel form: bad input is refused with the field named."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from trading.models import Side

ORDER_STATES = [
    ("OPEN", "Open (any working state)"),
    ("NEW", "New"),
    ("PARTIALLY_FILLED", "Partially filled"),
    ("FILLED", "Filled"),
    ("CANCELED", "Canceled"),
    ("REPLACED", "Replaced"),
    ("REJECTED", "Rejected"),
    ("EXPIRED", "Expired"),
]
EXECUTION_TYPES = [
    ("NEW", "New"),
    ("PARTIAL_FILL", "Partial fill"),
    ("FILL", "Fill"),
    ("CANCELED", "Canceled"),
    ("REPLACE", "Replace"),
    ("REJECTED", "Rejected"),
    ("EXPIRED", "Expired"),
]
VIEWS = [("orders", "Orders"), ("executions", "Executions")]


class BlotterForm(forms.Form):
    view = forms.ChoiceField(choices=VIEWS, required=False)
    participant = forms.CharField(
        max_length=49, required=False, help_text="The participant's external id."
    )
    symbol = forms.CharField(max_length=200, required=False)
    side = forms.ChoiceField(choices=[("", "Any side"), *Side.choices], required=False)
    state = forms.ChoiceField(choices=[("", "Any")], required=False)
    date_from = forms.DateField(required=False, label="From")
    date_to = forms.DateField(required=False, label="To")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        view = self.data.get("view") or "orders"
        states = EXECUTION_TYPES if view == "executions" else ORDER_STATES
        state = self.fields["state"]
        assert isinstance(state, forms.ChoiceField)
        state.choices = [("", "Any"), *states]
        state.label = "Type" if view == "executions" else "State"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "“To” must not be before “From”.")
        data["view"] = data.get("view") or "orders"
        return data

    def window(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The dates as a half-open window of times in the display time zone."""
        zone = timezone.get_current_timezone()
        start, end = self.cleaned_data.get("date_from"), self.cleaned_data.get("date_to")
        since = dt.datetime.combine(start, dt.time(), zone) if start else None
        until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone) if end else None
        return since, until


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why support cancels this order for the participant (kept with the audit trail).",
    )

    def clean_reason(self) -> str:
        reason = " ".join(str(self.cleaned_data["reason"]).split())
        if not reason:
            raise forms.ValidationError("Give the reason for the cancel.")
        return reason
