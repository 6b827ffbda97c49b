"""One clock for every page: times in the display time zone (TIME_ZONE) with their zone named,
exports in UTC, and relative ages that keep the exact time one hover away.

Pages never format a datetime themselves: templates use the `when` and `ago` filters
(backoffice/templatetags/clock.py), exports use `export_utc`.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def local(moment: dt.datetime) -> dt.datetime:
    """`moment` in the display time zone."""
    return timezone.localtime(moment)


def display(moment: dt.datetime, *, seconds: bool = False) -> str:
    """ "2026-12-01 03:58 EST": minutes always, seconds when asked, and the zone's name."""
    shown = local(moment)
    return shown.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def export_utc(moment: dt.datetime | None) -> str:
    """ISO 8601 in UTC with a Z, for CSV exports (whose headers say UTC)."""
    if moment is None:
        return ""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def duration_label(delta: dt.timedelta) -> str:
    """A short age: "12 min", "5 h", "3 d"."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    hours = seconds // 3600
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


def ago_label(moment: dt.datetime, now: dt.datetime | None = None) -> str:
    delta = (now or timezone.now()) - moment
    if delta < dt.timedelta(0):
        return f"in {duration_label(-delta)}"
    if delta < dt.timedelta(minutes=1):
        return "just now"
    return f"{duration_label(delta)} ago"
