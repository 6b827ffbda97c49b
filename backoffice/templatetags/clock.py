"""Template filters for times, built into every template (settings TEMPLATES "builtins").

    {{ event.occurred_at|when }}            2026-12-01 03:58 EST
    {{ change.occurred_at|when:"seconds" }} 2026-12-01 03:58:12 EST
    {{ submission.created_at|ago }}         3 h ago (the exact time on hover)

Each renders a <time> element whose datetime attribute is the UTC instant and whose title gives
the exact time with seconds, in the display zone and in UTC.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from backoffice import clock

register = template.Library()


def _time(moment: dt.datetime, text: str) -> SafeString:
    exact = f"{clock.display(moment, seconds=True)} ({clock.export_utc(moment)})"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', clock.export_utc(moment), exact, text
    )


@register.filter
def when(value: dt.datetime | None, precision: str = "") -> SafeString | str:
    if not isinstance(value, dt.datetime):
        return "—"
    return _time(value, clock.display(value, seconds=precision == "seconds"))


@register.filter
def ago(value: dt.datetime | None) -> SafeString | str:
    if not isinstance(value, dt.datetime):
        return "—"
    return _time(value, clock.ago_label(value))
