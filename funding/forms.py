"""Forms of the funding pages. They read what was typed; the services decide what is allowed and
name the field at fault, and the views put those refusals next to the field."""

from __future__ import annotations

from django import forms

from funding.models import Direction


class RequestForm(forms.Form):
    account = forms.CharField(
        label="Participant account",
        max_length=200,
        help_text="The exchange account id (firms/…/accounts/…), or the participant's external id.",
    )
    direction = forms.ChoiceField(
        label="Direction", choices=Direction.choices, widget=forms.RadioSelect
    )
    amount = forms.CharField(label="Amount (USD)", max_length=30, help_text="e.g. 250.00")
    external_reference = forms.CharField(
        label="Wallet reference",
        max_length=100,
        help_text="The wallet provider's instruction id: one request per reference.",
    )
    memo = forms.CharField(label="Memo", max_length=200, required=False)


class EditForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    amount = forms.CharField(label="Amount (USD)", max_length=30)
    external_reference = forms.CharField(label="Wallet reference", max_length=100)
    memo = forms.CharField(label="Memo", max_length=200, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason", min_length=10, max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )


class TopUpForm(forms.Form):
    amount = forms.CharField(label="Amount (USD)", max_length=30)
    reference = forms.CharField(label="Wire reference", max_length=100)
    memo = forms.CharField(label="Memo", max_length=200, required=False)
