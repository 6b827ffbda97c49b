from __future__ import annotations

from typing import Any

from django import forms

from backoffice.inputs import parse_id
from backoffice.reconciliation.models import BreakStatus, BreakType, Resolution

AGES = [("", "Any age"), ("1", "Over 1 day"), ("3", "Over 3 days"), ("7", "Over 7 days"),
        ("overdue", "Past the SLA")]  # fmt: skip


class BreakFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", "Any status"), *BreakStatus.choices], initial="open"
    )
    break_type = forms.ChoiceField(
        required=False, label="Type", choices=[("", "Any type"), *BreakType.choices]
    )
    age = forms.ChoiceField(required=False, choices=AGES)
    assignee = forms.CharField(
        required=False,
        max_length=20,
        help_text="me, none, or a user id",
    )
    run = forms.CharField(required=False, max_length=20, label="Run", help_text="A run's number")
    account = forms.CharField(required=False, max_length=200)

    def __init__(self, data: Any, *args: Any, **kwargs: Any) -> None:
        # An untouched page shows the open breaks; "Any status" is asked for explicitly.
        if "status" not in data:
            data = data.copy()
            data["status"] = BreakStatus.OPEN
        super().__init__(data, *args, **kwargs)

    def clean_assignee(self) -> str:
        value: str = self.cleaned_data["assignee"].strip()
        if value in ("", "me", "none") or parse_id(value) is not None:
            return value
        raise forms.ValidationError("Give me, none, or a user's number.")

    def clean_run(self) -> int | None:
        value: str = self.cleaned_data["run"].strip()
        if not value:
            return None
        run = parse_id(value)
        if run is None:
            raise forms.ValidationError("A run is given by its number.")
        return run


class AssignForm(forms.Form):
    assignee = forms.CharField(required=False, max_length=20)

    def clean_assignee(self) -> int | None:
        value: str = self.cleaned_data["assignee"].strip()
        if not value:
            return None
        pk = parse_id(value)
        if pk is None:
            raise forms.ValidationError("Choose someone from the list.")
        return pk


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Comment", max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label="Why it is resolved", choices=Resolution.choices)
    note = forms.CharField(label="Note", max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    funding_request = forms.CharField(
        label="Funding request",
        required=False,
        max_length=20,
        help_text="When money was moved: the number of the confirmed funding request.",
    )
