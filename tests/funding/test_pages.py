"""The funding pages: the queue by state, a request's page, the create and edit forms, each action
confirmed, the funding account, the CSV export, the participant panel and home's counts. Each list
costs a fixed number of queries whatever the row count."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from backoffice.audit.models import AuditEvent
from backoffice.gateway import errors
from backoffice.gateway.results import FundingAccountBalance
from funding.models import FundingRequest, PoolTotals
from tests.factories import FundingRequestFactory, UserFactory
from tests.funding.conftest import ACCOUNT_ID, balance, movement


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def maker(staff):
    return signed_in(staff.maker)


@pytest.fixture
def checker(staff):
    return signed_in(staff.checker)


def text(response) -> str:
    return response.content.decode()


# --- The queue ------------------------------------------------------------------------------------


def test_the_queue_lists_open_requests_oldest_first_with_counts(checker, staff, account):
    first = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )
    second = FundingRequestFactory.create(
        account=account, status="outcome_unknown", last_error="Sent; unknown."
    )
    FundingRequestFactory.create(account=account, status="confirmed")

    response = checker.get("/funding/")

    assert [r.pk for r in response.context["page"].rows] == [first.pk, second.pk]
    assert {key: count for key, _label, count in response.context["views"]} == {
        "open": 2,
        "mine": 1,
        "flight": 1,
        "attention": 1,
    }
    assert "Sent; unknown." in text(response)


def test_awaiting_my_approval_never_lists_my_own_requests(maker, checker, staff, account):
    mine = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )

    assert [r.pk for r in checker.get("/funding/?view=mine").context["page"].rows] == [mine.pk]
    assert list(maker.get("/funding/?view=mine").context["page"].rows) == []


def test_a_supervisor_sees_only_what_awaits_the_second_approval(staff, account):
    large = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )
    FundingRequest.objects.filter(pk=large.pk).update(
        approved_by=staff.checker, supervisor_required=True
    )
    FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )

    rows = signed_in(staff.supervisor).get("/funding/?view=mine").context["page"].rows

    assert [r.pk for r in rows] == [large.pk]


def test_final_states_are_listed_newest_first(checker, account):
    old, new = FundingRequestFactory.create_batch(2, account=account, status="confirmed")

    rows = checker.get("/funding/?status=confirmed").context["page"].rows

    assert [r.pk for r in rows] == [new.pk, old.pk]


def test_filters_by_direction_and_participant(checker, account):
    deposit = FundingRequestFactory.create(account=account, status="approved")
    FundingRequestFactory.create(account=account, status="approved", direction="withdrawal")
    FundingRequestFactory.create(status="approved")  # someone else's

    rows = (
        checker.get(f"/funding/?direction=deposit&participant={account.participant_id}")
        .context["page"]
        .rows
    )

    assert [r.pk for r in rows] == [deposit.pk]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?view=mine",
        "?view=flight",
        "?view=attention",
        "?status=confirmed",
        "?direction=withdrawal&participant=1",
    ],
)
def test_the_queue_costs_the_same_queries_whatever_the_row_count(
    checker, staff, account, django_assert_num_queries, query
):
    FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )
    with django_assert_num_queries(5):  # session, user, permissions, the counts, the rows
        checker.get(f"/funding/{query}")
    for status in ("awaiting_approval", "approved", "outcome_unknown", "confirmed"):
        FundingRequestFactory.create_batch(15, account=account, status=status)
    with django_assert_num_queries(5):
        checker.get(f"/funding/{query}")


def test_an_htmx_filter_answers_the_table_alone(checker, account):
    FundingRequestFactory.create(account=account, status="approved")

    response = checker.get(
        "/funding/?view=flight", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="funding-table"
    )

    assert text(response).strip().startswith('<div id="funding-table">')
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_only_those_who_may_see_funding_open_it(persona):
    assert persona("compliance").get("/funding/").status_code == 403
    assert persona("support").get("/funding/").status_code == 403
    assert persona("supervisor").get("/funding/").status_code == 200


# --- The export -----------------------------------------------------------------------------------


def test_the_export_is_the_filtered_list_with_ids_and_figures(
    checker, staff, account, django_assert_num_queries
):
    shown = FundingRequestFactory.create(
        account=account,
        status="confirmed",
        workflow_id="wf-9",
        dco_transfer_id="dco_9",
        settled_at=timezone.now(),
        memo="private note",
    )
    FundingRequestFactory.create(account=account, status="draft")

    with django_assert_num_queries(5):  # session, user, permissions, the audit event, the rows
        response = checker.get("/funding/export.csv?status=confirmed")
        body = b"".join(response.streaming_content).decode("utf-8-sig")

    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["request"] for r in rows] == [str(shown.pk)]
    assert (rows[0]["account"], rows[0]["amount"], rows[0]["workflow_id"], rows[0]["status"]) == (
        ACCOUNT_ID,
        "100.00",
        "wf-9",
        "confirmed",
    )
    assert "private note" not in body
    assert AuditEvent.objects.get(action="funding.request.exported").payload == {
        "filters": "status=confirmed"
    }


# --- One request ------------------------------------------------------------------------------------


def test_the_maker_is_told_why_they_cannot_approve(maker, staff, account):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )

    page = text(maker.get(f"/funding/requests/{request.pk}/"))

    assert "Approve…" not in page
    assert "You requested this movement, so another person must approve it." in page
    assert "Waiting for a checker: anyone in treasury but maker may approve it." in page
    assert maker.post(f"/funding/requests/{request.pk}/approve/", {"version": 1}).status_code == 302
    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"


def test_a_checker_confirms_then_approves_and_reads_where_it_stands(
    checker, staff, account, exchange
):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )
    exchange.creates.append(movement(key=request.idempotency_key))

    confirm = text(checker.get(f"/funding/requests/{request.pk}/approve/"))
    assert "Approve and send" in confirm
    assert exchange.calls == []
    response = checker.post(f"/funding/requests/{request.pk}/approve/", {"version": 1}, follow=True)

    assert FundingRequest.objects.get(pk=request.pk).status == "confirmed"
    assert "You approved it." in text(response)
    assert (
        f"Confirmed by the exchange: $100.00 deposited to {ACCOUNT_ID} (transfer dco_1)."
        in text(response)
    )


def test_the_approval_page_of_a_withdrawal_shows_the_free_cash(checker, staff, account, exchange):
    request = FundingRequestFactory.create(
        account=account,
        status="awaiting_approval",
        requested_by=staff.maker,
        direction="withdrawal",
    )
    exchange.balances.append(balance("120.00", open_orders="20.00"))

    page = text(checker.get(f"/funding/requests/{request.pk}/approve/"))

    assert "$100.00" in page
    assert "(balance $120.00, open orders $20.00, buying power $100.00)" in page


def test_a_refused_withdrawal_says_so_with_the_figures(checker, staff, account, exchange):
    request = FundingRequestFactory.create(
        account=account,
        status="awaiting_approval",
        requested_by=staff.maker,
        direction="withdrawal",
    )
    exchange.balances.append(balance("60.00"))

    response = checker.post(f"/funding/requests/{request.pk}/approve/", {"version": 1}, follow=True)

    assert (
        "Not approved: the withdrawal of $100.00 is more than the participant&#x27;s free cash $60.00"
        in text(response)
    )
    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"


def test_outcome_unknown_is_said_in_true_words(checker, staff, account, exchange):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )
    timeout = errors.Timeout("ReadTimeout", reached=True)
    timeout.outcome = errors.Outcome.UNKNOWN
    exchange.creates.append(timeout)

    response = checker.post(f"/funding/requests/{request.pk}/approve/", {"version": 1}, follow=True)

    assert response.status_code == 200
    assert "Sent; the exchange&#x27;s answer is not known yet and is being checked" in text(
        response
    )
    assert "can no longer be edited or cancelled" in text(response)


@pytest.mark.parametrize("action", ["decline", "cancel"])
def test_declining_and_cancelling_ask_a_reason(checker, staff, account, action):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )

    short = checker.post(f"/funding/requests/{request.pk}/{action}/", {"reason": "no"})
    assert "Ensure this value has at least 10 characters" in text(short)
    assert FundingRequest.objects.get(pk=request.pk).status == "awaiting_approval"

    checker.post(
        f"/funding/requests/{request.pk}/{action}/",
        {"reason": "The wallet shows no such instruction"},
    )

    request.refresh_from_db()
    assert (request.status, request.staff_reason) == (
        "declined" if action == "decline" else "cancelled",
        "The wallet shows no such instruction",
    )


def test_the_maker_edits_and_the_approval_is_dropped(maker, staff, account):
    request = FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )
    FundingRequest.objects.filter(pk=request.pk).update(
        approved_by=staff.checker, supervisor_required=True
    )

    bad = maker.post(
        f"/funding/requests/{request.pk}/edit/",
        {"version": 1, "amount": "1.001", "external_reference": "w-1"},
    )
    assert "An amount has at most two decimal places (cents)." in text(bad)
    maker.post(
        f"/funding/requests/{request.pk}/edit/",
        {"version": 1, "amount": "150", "external_reference": "w-1", "memo": ""},
    )

    request.refresh_from_db()
    assert (request.amount, request.approved_by, request.version) == (Decimal("150.00"), None, 2)


def test_send_again_after_a_refusal(checker, staff, account, exchange):
    request = FundingRequestFactory.create(
        account=account, status="refused", requested_by=staff.maker, exchange_error="not_found"
    )
    exchange.creates.append(movement(key=request.idempotency_key))

    assert "Send again" in text(checker.get(f"/funding/requests/{request.pk}/send-again/"))
    checker.post(f"/funding/requests/{request.pk}/send-again/")

    assert FundingRequest.objects.get(pk=request.pk).status == "confirmed"


def test_another_persons_request_page_is_not_found_for_roles_without_funding(persona, account):
    request = FundingRequestFactory.create(account=account)

    assert persona("compliance").get(f"/funding/requests/{request.pk}/").status_code == 403
    assert persona("treasury").get("/funding/requests/999999/").status_code == 404


# --- Making a request -----------------------------------------------------------------------------


def form(**values):
    data = {
        "account": ACCOUNT_ID,
        "direction": "deposit",
        "amount": "250.00",
        "external_reference": "wallet-77",
        "memo": "",
        "action": "submit",
    }
    data.update(values)
    return data


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"account": "nobody"},
            "account",
            "No account has this id, and no participant this external id.",
        ),
        ({"amount": "12.345"}, "amount", "An amount has at most two decimal places (cents)."),
        ({"amount": "-1"}, "amount", "The amount must be more than zero."),
        (
            {"direction": "transfer"},
            "direction",
            "Select a valid choice. transfer is not one of the available choices.",
        ),
        ({"external_reference": ""}, "external_reference", "This field is required."),
    ],
)
def test_bad_input_is_named_and_nothing_is_written(maker, account, values, field, message):
    response = maker.post("/funding/new/", form(**values), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert not FundingRequest.objects.exists()


def test_a_request_by_the_participants_external_id_goes_for_approval(maker, account):
    response = maker.post("/funding/new/", form(account="user-42"), HTTP_HX_REQUEST="true")

    request = FundingRequest.objects.get()
    assert response["HX-Redirect"] == f"/funding/requests/{request.pk}/"
    assert (request.account, request.status, request.amount) == (
        account,
        "awaiting_approval",
        Decimal("250.00"),
    )


def test_save_as_draft(maker, account):
    maker.post("/funding/new/", form(action="draft"))

    assert FundingRequest.objects.get().status == "draft"


def test_the_form_shows_the_participants_free_cash(maker, account, exchange):
    exchange.balances.append(balance("300.00", open_orders="50.00"))

    page = text(maker.get(f"/funding/free-cash/?account={ACCOUNT_ID}"))

    assert "Free cash $250.00" in page
    assert "(balance $300.00, open orders $50.00, buying power $250.00;" in page
    assert exchange.calls[0][1]["participant_id"] == account.participant.participant_id


def test_free_cash_that_cannot_be_read_is_said_so(maker, account, exchange):
    exchange.balances.append(errors.Unavailable("down", http_status=503))

    page = text(maker.get(f"/funding/free-cash/?account={ACCOUNT_ID}"))

    assert (
        "Free cash could not be read: the exchange could not be reached or was busy (unavailable)."
        in page
    )


def test_the_form_starts_from_the_participant_page(maker, account):
    page = maker.get(f"/funding/new/?participant={account.participant_id}&direction=withdrawal")

    assert page.context["form"].initial == {"direction": "withdrawal", "account": ACCOUNT_ID}


# --- The funding account --------------------------------------------------------------------------


def pool(amount: str) -> FundingAccountBalance:
    return FundingAccountBalance(
        funding_account_id="firms/Acme/accounts/funding",
        balance=Decimal(amount),
        currency="USD",
        as_of=timezone.now(),
    )


def test_the_pool_identity_holds(checker, account, exchange, django_assert_num_queries):
    PoolTotals.objects.create(
        currency="USD",
        top_ups=Decimal("1000.00"),
        deposits=Decimal("300.00"),
        withdrawals=Decimal("50.00"),
    )
    FundingRequestFactory.create(
        account=account, status="confirmed", settled_at=timezone.now(), amount=Decimal("300.00")
    )
    exchange.reads.append(pool("750.00"))

    # session, user, permissions, totals, today, in flight, top-ups
    with django_assert_num_queries(7):
        response = checker.get("/funding/balance/")

    page = text(response)
    assert "$750.00" in page
    assert "The identity holds" in page
    assert response.context["today"].deposits == Decimal("300.00")
    assert response.context["today"].deposit_count == 1


def test_a_pool_that_differs_is_flagged(checker, exchange):
    PoolTotals.objects.create(currency="USD", top_ups=Decimal("1000.00"))
    exchange.reads.append(pool("990.00"))

    page = text(checker.get("/funding/balance/"))

    assert "differs from our records by $-10.00" in page


def test_a_pool_that_cannot_be_read(checker, exchange):
    exchange.reads.append(errors.Unavailable("down", http_status=503))

    page = text(checker.get("/funding/balance/"))

    assert (
        "The exchange could not be asked: the exchange could not be reached or was busy (unavailable)."
        in page
    )
    assert "Not checked" in page


def test_recording_a_top_up_moves_the_identity(checker, exchange):
    exchange.reads.append(pool("5000.00"))
    checker.post("/funding/balance/top-ups/", {"amount": "5000", "reference": "wire-1"})
    again = checker.post(
        "/funding/balance/top-ups/", {"amount": "5", "reference": "wire-1"}, follow=True
    )

    assert PoolTotals.objects.get(currency="USD").top_ups == Decimal("5000.00")
    assert "A top-up with this reference is already recorded." in text(again)


# --- Elsewhere ------------------------------------------------------------------------------------


def test_the_participant_page_has_a_funding_panel_for_treasury(checker, persona, account):
    FundingRequestFactory.create(account=account, status="confirmed")
    url = f"/onboarding/participants/{account.participant_id}/"

    assert "New withdrawal" in text(checker.get(url))
    assert "New withdrawal" not in text(persona("supervisor").get(url))
    assert "Funding" not in text(persona("support").get(url))


def test_home_shows_treasurys_counts(checker, staff, account):
    FundingRequestFactory.create(
        account=account, status="awaiting_approval", requested_by=staff.maker
    )

    page = text(checker.get("/"))

    assert '<span class="count">1</span> Funding: awaiting my approval' in page
    assert 'href="/funding/?view=mine"' in page


def test_the_side_menu_offers_funding_to_treasury(checker, persona):
    assert any(e["label"] == "Funding" for e in checker.get("/").context["navigation"])
    assert not any(
        e["label"] == "Funding" for e in persona("support").get("/").context["navigation"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "/admin/funding/fundingrequest/",
        "/admin/funding/fundingstatuschange/",
        "/admin/funding/pooltopup/",
    ],
)
def test_the_admin_changelists_cost_the_same_whatever_the_row_count(
    account, path, django_assert_num_queries
):
    admin = signed_in(UserFactory.create(username="root", roles=["superuser"]))
    FundingRequestFactory.create(account=account)
    with django_assert_num_queries(4):  # session, user, the page of rows, the small count
        admin.get(path)
    FundingRequestFactory.create_batch(30, account=account, status="confirmed")
    with django_assert_num_queries(4):
        admin.get(path)
