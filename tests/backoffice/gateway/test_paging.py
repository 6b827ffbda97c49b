"""Cursor paging: pages with their tokens, for jobs that checkpoint; items for everyone else."""

from __future__ import annotations

from decimal import Decimal

from tests.backoffice.gateway.fakes import Reply

PID = "firms/ISV-Participant-Acme/users/user-123"
ACCOUNT = "firms/ISV-Acme/accounts/8f3a2c"
T = "2026-05-02T14:30:15.123Z"


def entry(n: int) -> dict:
    return {
        "id": f"bl_{n}", "account": ACCOUNT, "entryType": "LEDGER_ENTRY_TYPE_BALANCE_DEPOSIT",
        "currency": "USD", "beforeBalance": "0.00", "afterBalance": f"{n}.00", "updateTime": T,
    }  # fmt: skip


def three_pages(fake) -> None:
    fake.on(
        "GET",
        "/v1/funding/balance-ledger",
        Reply(body={"entries": [entry(1), entry(2)], "nextPageToken": "p2", "eof": False}),
        Reply(body={"entries": [entry(3)], "nextPageToken": "p3", "eof": False}),
        Reply(body={"entries": [], "nextPageToken": "", "eof": True}),
    )


def test_pages_carry_the_token_each_was_read_with_and_the_next_one(gateway, fake):
    three_pages(fake)

    pages = list(gateway.balance_ledger(participant_id=PID, account=ACCOUNT, actor=None))

    assert [(p.token, p.next_token, [e.id for e in p.items]) for p in pages] == [
        ("", "p2", ["bl_1", "bl_2"]),
        ("p2", "p3", ["bl_3"]),
        ("p3", "", []),
    ]
    assert [r.params.get("pageToken") for r in fake.api_requests()] == [None, "p2", "p3"]


def test_a_job_resumes_from_a_saved_token(gateway, fake):
    fake.on(
        "GET",
        "/v1/funding/balance-ledger",
        Reply(body={"entries": [entry(3)], "nextPageToken": "", "eof": True}),
    )

    entries = list(
        gateway.balance_ledger(
            participant_id=PID, account=ACCOUNT, actor=None, page_token="p2"
        ).items()
    )

    assert [(e.id, e.amount) for e in entries] == [("bl_3", Decimal("3.00"))]
    assert [r.params["pageToken"] for r in fake.api_requests()] == ["p2"]


def test_pages_are_read_only_as_far_as_the_caller_goes(gateway, fake):
    three_pages(fake)

    first = next(iter(gateway.balance_ledger(participant_id=PID, account=ACCOUNT, actor=None)))

    assert first.next_token == "p2"
    assert len(fake.api_requests()) == 1
