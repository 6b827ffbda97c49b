"""Form fields that refuse what Django's own would coerce: "0" ticking a checkbox, "١٢" or a
number past 64 bits as an id, the year 1 as a time someone signed something."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone

from backoffice.inputs import parse_id

_TRUE = {"on", "true", "1"}
_FALSE = {"", "off", "false", "0"}


def _strict_bool(value: Any) -> bool | None:
    """True or False for what a checkbox or a yes/no answer sends, None for anything else."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


class StrictCheckboxInput(forms.CheckboxInput):
    """Hands the field what was sent, not Django's bool() of it (in which "0" and "no" are ticked)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, check_test=lambda value: _strict_bool(value) is True)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        return data.get(name)


class StrictBooleanField(forms.BooleanField):
    widget = StrictCheckboxInput

    def to_python(self, value: Any) -> bool:
        parsed = _strict_bool(value)
        if parsed is None:
            raise forms.ValidationError("Tick the box or leave it empty.", code="invalid")
        return parsed


class IdField(forms.Field):
    """A database id: ASCII digits, from 1 to the largest id the database holds."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        number = parse_id(str(value))
        if number is None:
            raise forms.ValidationError("Not an id: digits 0-9 only.", code="invalid")
        return number


class IdListField(forms.Field):
    """Several ids under one name (a list of checkboxes); refused whole if any is not an id."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        if len(values) > 500:
            raise forms.ValidationError("At most 500 at once.", code="too_many")
        ids = [parse_id(str(item)) for item in values]
        if any(number is None for number in ids):
            raise forms.ValidationError("Not an id: digits 0-9 only.", code="invalid")
        return [number for number in ids if number is not None]


class PlausibleDateField(forms.DateField):
    """A calendar date within the years a back-office date can mean (1900 to 2100)."""

    def clean(self, value: Any) -> dt.date | None:
        day: dt.date | None = super().clean(value)
        if day is not None and not dt.date(1900, 1, 1) <= day <= dt.date(2100, 12, 31):
            raise forms.ValidationError("Give a date between 1900 and 2100.", code="implausible")
        return day


class RecentDateTimeField(forms.DateTimeField):
    """A moment in the recent past: at most `max_age` ago, and not in the future (give or take
    five minutes of clock drift between machines)."""

    def __init__(self, *, max_age: dt.timedelta, **kwargs: Any) -> None:
        self.max_age = max_age
        super().__init__(**kwargs)

    def clean(self, value: Any) -> dt.datetime | None:
        moment: dt.datetime | None = super().clean(value)
        if moment is None:
            return None
        now = timezone.now()
        if moment > now + dt.timedelta(minutes=5):
            raise forms.ValidationError("This time is in the future.", code="future")
        if moment < now - self.max_age:
            raise forms.ValidationError(
                f"This time is more than {self.max_age.days} days ago.", code="too_old"
            )
        return moment
