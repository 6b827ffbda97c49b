"""The trading pages: the blotter's filters, keyset pages and CSV; the participant page's panel;
the order page; feed health and the "behind" notice. List pages cost the same queries for a few
rows as for many."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.trading.rows import T0, executions, orders, participant_with_account
from trading.models import FeedGap, FeedMinute, StreamCursor, TradingDay

pytestmark = pytest.mark.django_db
ADA, BOB = "firms/ISV-Acme/accounts/0ada", "firms/ISV-Acme/accounts/0b0b"


def gap(**fields) -> FeedGap:
    """A gap of the executions stream in the sandbox environment, its window at T0, unless
    `fields` say otherwise."""
    defaults = {
        "environment": "sandbox",
        "stream": "executions",
        "reason": "token_refused",
        "window_start": T0,
        "window_end": T0,
    }
    return FeedGap.objects.create(**{**defaults, **fields})


@pytest.fixture
def support(persona):
    return persona("support")


@pytest.fixture
def fresh_feed():
    now = timezone.now()
    for stream in ("executions", "trades", "positions"):
        StreamCursor.objects.create(
            environment="sandbox",
            stream=stream,
            connected=True,
            last_message_at=now,
            last_event_time=now - dt.timedelta(seconds=3),
        )


def test_the_blotter_costs_the_same_queries_for_few_or_many_rows(
    support, fresh_feed, django_assert_num_queries
):
    participant_with_account("ada", ADA)
    orders(3, account=ADA)
    support.get("/trading/")
    # session, user, permissions, feed, rows, their participants
    with django_assert_num_queries(6):
        support.get("/trading/")
    orders(120, account=ADA, start=3)
    with django_assert_num_queries(6):
        response = support.get("/trading/")
    assert len(response.context["rows"]) == 50
    executions(3, account=ADA)
    with django_assert_num_queries(7):  # and the participant's accounts
        response = support.get("/trading/?view=executions&participant=ada&side=BUY")
    assert len(response.context["rows"]) == 3


def test_filters_and_keyset_pages(support, fresh_feed):
    participant_with_account("ada", ADA)
    participant_with_account("bob", BOB)
    orders(60, account=ADA)
    orders(5, account=BOB)
    first = support.get("/trading/?participant=ada")
    rows = [o.exchange_id for o, _ in first.context["rows"]]
    assert rows[0] == "O0ada000059"
    assert len(rows) == 50
    page = first.context["page"]
    second = support.get("/trading/" + page.next_href)
    assert [o.exchange_id for o, _ in second.context["rows"]] == [
        f"O0ada{n:06d}" for n in range(9, -1, -1)
    ]
    back = support.get("/trading/" + second.context["page"].previous_href)
    assert [o.exchange_id for o, _ in back.context["rows"]] == rows
    sells = support.get("/trading/?participant=bob&side=SELL")
    assert [o.exchange_id for o, _ in sells.context["rows"]] == ["O0b0b000003", "O0b0b000001"]
    assert [p.external_id for _, p in sells.context["rows"]] == ["bob", "bob"]
    local = timezone.localdate(T0)
    dated = support.get(f"/trading/?view=executions&date_from={local}&date_to={local}")
    assert dated.context["rows"] == []
    executions(2, account=BOB)
    dated = support.get(f"/trading/?view=executions&date_from={local}&date_to={local}")
    assert [e.exchange_id for e, _ in dated.context["rows"]] == ["E0b0b000001", "E0b0b000000"]


def test_bad_filters_name_the_field_and_show_no_rows(support):
    orders(3, account=ADA)
    response = support.get("/trading/?date_from=2026-12-02&date_to=2026-12-01&side=UP")
    assert response.status_code == 200
    assert response.context["rows"] == []
    errors = response.context["filter_errors"]
    assert any(e.startswith("Side:") for e in errors)
    assert "To: “To” must not be before “From”." in errors
    export = support.get("/trading/export.csv?side=UP")
    assert export.status_code == 400


def test_the_csv_streams_every_row_in_utc(support):
    orders(3, account=ADA)
    response = support.get("/trading/export.csv?view=orders")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert lines[0].startswith("order_id,clord_id,account,symbol,side")
    assert lines[0].endswith("insert_time_utc,last_transact_time_utc")
    assert len(lines) == 4
    assert lines[1].split(",")[0] == "O0ada000002"
    assert "2026-11-30T15:00:02Z" in lines[1]


def test_every_trading_page_says_when_the_mirror_is_behind(support):
    participant = participant_with_account("ada", ADA)
    (order,) = orders(1, account=ADA)
    for url in ("/trading/", f"/trading/orders/{order.exchange_id}/",
                f"/onboarding/participants/{participant.pk}/"):  # fmt: skip
        html = support.get(url).content.decode()
        assert (
            "The trading mirror is behind:</strong> Drop Copy executions have never been received"
            in html
        ), url
    StreamCursor.objects.create(
        environment="sandbox", stream="executions", connected=True, last_message_at=timezone.now()
    )
    StreamCursor.objects.create(
        environment="sandbox", stream="trades", connected=True, last_message_at=timezone.now()
    )
    StreamCursor.objects.create(
        environment="sandbox",
        stream="positions",
        connected=False,
        last_message_at=timezone.now() - dt.timedelta(seconds=95),
    )
    html = support.get("/trading/").content.decode()
    assert "Position changes last arrived 95 s ago" in html
    StreamCursor.objects.filter(stream="positions").update(
        connected=True, last_message_at=timezone.now()
    )
    gap(stream="trades")
    assert (
        "Trade capture reports have a gap that is being repaired"
        in support.get("/trading/").content.decode()
    )
    FeedGap.objects.update(repaired_at=timezone.now())
    assert "The trading mirror is behind" not in support.get("/trading/").content.decode()


def test_the_participant_page_panel_costs_the_same_for_few_or_many_rows(
    support, fresh_feed, django_assert_num_queries
):
    person = participant_with_account("ada", ADA)
    orders(2, account=ADA)
    executions(2, account=ADA)
    url = f"/onboarding/participants/{person.pk}/"
    support.get(url)
    # session, user, permissions, the participant's KYC, the participant with its accounts; then
    # the panel's rows of every table and the feed's state in one query
    with django_assert_num_queries(6) as few:
        support.get(url)
    orders(40, account=ADA, start=2)
    executions(40, account=ADA, start=2)
    with django_assert_num_queries(len(few.captured_queries)):
        html = support.get(url).content.decode()
    assert html.count('href="/trading/orders/O0ada') == 20


def test_the_panel_shows_the_newest_of_each_table_of_the_participants_accounts(support, fresh_feed):
    from decimal import Decimal

    from participants.models import Account
    from trading.models import BalanceSnapshot, Instrument, Position

    person = participant_with_account("ada", ADA)
    second = "firms/ISV-Acme/accounts/0ad2"
    Account.objects.create(participant=person, account_id=second)
    participant_with_account("bob", BOB)
    orders(3, account=ADA)
    orders(2, account=second, start=30)
    orders(2, account=ADA, state="FILLED", start=50)
    orders(2, account=BOB)
    executions(25, account=ADA)
    executions(1, account=BOB)
    Instrument.objects.create(
        symbol="settled-1", price_scale=1000, qty_scale=100, state="SETTLED",
        tick_size=Decimal("0.01"), minimum_trade_qty=1, settlement_price=Decimal("1"),
    )  # fmt: skip
    for symbol, net in (("settled-1", "5"), ("open-1", "-2.5")):
        Position.objects.create(
            account=ADA, symbol=symbol, net_position=Decimal(net), qty_bought=0, qty_sold=0,
            bod_position=0, cost=Decimal("1.25"), realized=0, change_time=T0,
        )  # fmt: skip
    Position.objects.create(
        account=BOB, symbol="open-1", net_position=1, qty_bought=0, qty_sold=0, bod_position=0,
        cost=0, realized=0, change_time=T0,
    )  # fmt: skip
    BalanceSnapshot.objects.create(
        account=ADA, cash=Decimal("12.5"), buying_power=Decimal("10"), open_orders=Decimal("2.5"),
        as_of=T0,
    )  # fmt: skip
    trading = support.get(f"/onboarding/participants/{person.pk}/").context["trading"]
    assert sorted(trading.accounts) == [second, ADA]
    assert [o.exchange_id for o in trading.open_orders] == [
        "O0ad2000031", "O0ad2000030", "O0ada000002", "O0ada000001", "O0ada000000",
    ]  # fmt: skip
    newest = trading.open_orders[0]
    assert (newest.price, newest.order_qty, newest.insert_time) == (
        Decimal("0.45"), Decimal(10), T0 + dt.timedelta(seconds=31),
    )  # fmt: skip
    assert [e.exchange_id for e in trading.executions] == [
        f"E0ada{n:06d}" for n in range(24, 4, -1)
    ]
    assert trading.executions[0].busted is False
    assert trading.executions[0].commission == Decimal("0.17")
    assert [(p.position.symbol, p.position.net_position, p.settlement_price)
            for p in trading.positions] == [
        ("open-1", Decimal("-2.5"), None), ("settled-1", Decimal(5), Decimal(1)),
    ]  # fmt: skip
    assert trading.positions[1].settlement_value == Decimal(5)
    assert [(b.account, b.cash, b.as_of) for b in trading.balances] == [(ADA, Decimal("12.5"), T0)]


def test_the_order_page_tells_its_story(support, fresh_feed):
    participant_with_account("ada", ADA)
    (order,) = orders(1, account=ADA)
    executions(1, account=ADA)
    html = support.get(f"/trading/orders/{order.exchange_id}/").content.decode()
    assert "Cancel this order" in html
    assert "E0ada" not in html  # executions are shown by their trade and values
    assert "T0" in html
    assert support.get("/trading/orders/NOPE-1/").status_code == 404
    compliance = support  # same rows, other role below
    assert compliance.get("/trading/orders/UNKNOWN1/").status_code == 404


def test_the_order_page_costs_the_same_queries_for_few_or_many_executions(
    support, fresh_feed, django_assert_num_queries
):
    person = participant_with_account("ada", ADA)
    (order,) = orders(1, account=ADA)
    executions(1, account=ADA)
    url = f"/trading/orders/{order.exchange_id}/"
    support.get(url)
    # session, user, permissions, the order with its participant, its executions, their trades,
    # its cancels, the feed's state
    with django_assert_num_queries(8) as few:
        support.get(url)
    from trading.models import Execution

    Execution.objects.bulk_create(
        Execution(
            exchange_id=f"X{n}", order_exchange_id=order.exchange_id, account=ADA,
            symbol=order.symbol, side="BUY", exec_type="PARTIAL_FILL", order_state="NEW",
            last_shares=1, last_px="0.45", cum_qty=1, leaves_qty=9, commission=0,
            trade_id=f"TX{n}", transact_time=T0 + dt.timedelta(seconds=n),
        )
        for n in range(40)
    )  # fmt: skip
    with django_assert_num_queries(len(few.captured_queries)):
        html = support.get(url).content.decode()
    assert html.count("<code>TX") == 40
    assert f'<a href="/onboarding/participants/{person.pk}/">ada</a>' in html


def test_feed_health_on_the_exchange_health_page(support, fresh_feed):
    gap(
        window_end=T0 + dt.timedelta(hours=1),
        repaired_at=T0 + dt.timedelta(hours=2),
        rows_repaired=42,
        method="orders and executions downloads",
    )
    html = support.get("/gateway/health/").content.decode()
    assert "Drop Copy executions" in html
    assert "Gaps: 1 found, 1 repaired" in html
    assert ">42<" in html


def test_feed_health_counts_every_gap_lists_the_latest_and_rates_the_last_five_minutes(
    support, fresh_feed
):
    now = timezone.now()
    for n in range(12):  # three still open; the page lists the newest ten
        gap(
            window_end=T0 + dt.timedelta(hours=1),
            found_at=now - dt.timedelta(minutes=n),
            repaired_at=None if n < 3 else now,
            rows_repaired=1000 + n,
        )
    gap(environment="production", rows_repaired=7777)  # another environment's: not this page's
    minute = now.replace(second=0, microsecond=0)
    for ago, events in ((1, 300), (3, 200), (9, 5000)):  # the last is outside the five minutes
        FeedMinute.objects.create(
            environment="sandbox",
            stream="executions",
            minute=minute - dt.timedelta(minutes=ago),
            events=events,
        )

    html = support.get("/gateway/health/").content.decode()

    assert "Gaps: 12 found, 9 repaired" in html
    assert [n for n in range(12) if f">{1000 + n}<" in html] == list(range(10))
    assert ">7777<" not in html
    assert "<td>100.0</td>" in html  # (300 + 200) / 5 for executions
    assert html.count("<td>0.0</td>") == 2  # trades and positions had no events


def test_feed_health_with_no_gap_says_none(support, fresh_feed):
    html = support.get("/gateway/health/").content.decode()
    assert "Gaps: 0 found, 0 repaired" in html
    assert "No gaps." in html


def test_home_shows_the_feed_and_counts(support, fresh_feed):
    orders(4, account=ADA)
    TradingDay.objects.create(trade_date=timezone.localdate(), executions=12)
    html = support.get("/").content.decode()
    assert '<span class="count">0</span> Trading: streams behind' in html
    assert '<span class="count">12</span> Trading: executions today' in html
    assert '<span class="count">4</span> Trading: open orders' in html
    StreamCursor.objects.filter(stream="trades").update(connected=False)
    html = support.get("/").content.decode()
    assert '<span class="count">1</span> Trading: streams behind' in html


@pytest.mark.parametrize("model", ["order", "execution"])
def test_the_changelists_cost_the_same_queries_for_few_or_many_rows(
    persona, django_assert_num_queries, model
):
    admin = persona("superuser")
    orders(2, account=ADA)
    executions(2, account=ADA)
    url = f"/admin/trading/{model}/?side=BUY"
    admin.get(url)
    # session, user, the filtered count (its unfiltered total is not shown), the page of rows
    with django_assert_num_queries(4) as few:
        admin.get(url)
    orders(150, account=ADA, start=2)
    executions(150, account=ADA, start=2)
    with django_assert_num_queries(len(few.captured_queries)):
        response = admin.get(url)
    assert response.status_code == 200


def _trades(count: int, start: int = 0) -> None:
    from trading.models import Trade

    Trade.objects.bulk_create(
        Trade(exchange_id=f"T{n}", symbol="s", state="CLEARED", qty=1,
              transact_time=T0 + dt.timedelta(seconds=n))
        for n in range(start, start + count)
    )  # fmt: skip


def _positions(count: int, start: int = 0) -> None:
    from trading.models import Position

    Position.objects.bulk_create(
        Position(account=ADA, symbol=f"s{n}", net_position=1, qty_bought=1, qty_sold=0,
                 bod_position=0, cost=1, realized=0, change_time=T0)
        for n in range(start, start + count)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("model", "fill"), [("trade", _trades), ("position", _positions)], ids=["trade", "position"]
)
def test_the_trade_and_position_changelists_cost_the_same_for_few_or_many_rows(
    persona, django_assert_num_queries, model, fill
):
    admin = persona("superuser")
    fill(2)
    url = f"/admin/trading/{model}/"
    admin.get(url)
    # session, user, the count, the page of rows
    with django_assert_num_queries(4):
        admin.get(url)
    fill(150, start=2)
    with django_assert_num_queries(4):
        response = admin.get(url)
    assert len(response.context["cl"].result_list) == 100


@pytest.mark.parametrize(
    ("net", "price", "worth"),
    [("5", "1", "5"), ("5", "0", "0"), ("-4", "0", "4"), ("-4", "1", "0"), ("2.5", "0.3", "0.75")],
)
def test_what_a_position_open_at_settlement_is_worth(net, price, worth):
    from decimal import Decimal

    from trading.models import Position
    from trading.selectors import PositionRow

    position = Position(net_position=Decimal(net))
    assert PositionRow(position, Decimal(price)).settlement_value == Decimal(worth)
