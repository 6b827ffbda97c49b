"""Trading's counts on home (settings.BACKOFFICE_HOME_COUNTS): the feed's state and today's
activity, from the cursors and the day counters, so home never counts the execution table."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from backoffice.home import WorkCount
from trading.models import OPEN_ORDER_STATES, Order, TradingDay
from trading.selectors import feed_state


def counts(*, user: User) -> list[WorkCount]:
    today = timezone.localdate()
    day = TradingDay.objects.filter(trade_date=today).first()
    blotter = reverse("trading:blotter")
    return [
        WorkCount(
            "Trading",
            "streams behind (the mirror may lack the latest activity)",
            feed_state().streams_behind,
            blotter,
        ),
        WorkCount(
            "Trading",
            "executions today",
            day.executions if day else 0,
            f"{blotter}?view=executions&date_from={today}&date_to={today}",
        ),
        # Open orders are a small part of the table, counted through the open-orders index.
        WorkCount(
            "Trading",
            "open orders",
            Order.objects.filter(state__in=OPEN_ORDER_STATES).count(),
            f"{blotter}?state=OPEN",
        ),
    ]
