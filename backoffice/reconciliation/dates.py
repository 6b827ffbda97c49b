"""Business dates and their cut-off.

The exchange's trade date rolls at 17:00 America/New_York (API.md 8 #25): business date D runs
from the cut-off of D-1 (exclusive) to the cut-off of D (inclusive). RECONCILIATION_CUTOFF and
RECONCILIATION_CUTOFF_TIME_ZONE say where the roll is, should the exchange move it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.RECONCILIATION_CUTOFF_TIME_ZONE)


def cutoff(day: dt.date) -> dt.datetime:
    """The moment business date `day` ends, in UTC."""
    hour, minute = (int(part) for part in settings.RECONCILIATION_CUTOFF.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=_zone()).astimezone(dt.UTC)


def window(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """(start, end] of business date `day`."""
    return cutoff(day - dt.timedelta(days=1)), cutoff(day)


def timing_grace() -> dt.timedelta:
    return dt.timedelta(minutes=settings.RECONCILIATION_TIMING_MINUTES)


def latest_closed_date(now: dt.datetime | None = None) -> dt.date:
    """The latest business date whose cut-off, and the grace after it in which a partner across
    the cut-off may still arrive, have passed: what a nightly run checks by default."""
    moment = (now or timezone.now()) - timing_grace()
    day = moment.astimezone(_zone()).date()
    return day if cutoff(day) <= moment else day - dt.timedelta(days=1)


def business_date_of(moment: dt.datetime) -> dt.date:
    """The business date `moment` falls in."""
    day = moment.astimezone(_zone()).date()
    return day if moment <= cutoff(day) else day + dt.timedelta(days=1)
