"""CashMovementService: idempotency, rejection, both ledger legs, concurrency, pagination."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.sandbox.partner import CASH, Partner


def transfer(
    reason: str, account: str, amount: str, key: str | None = None, ref: str = "r-1"
) -> dict:
    return {
        "idempotency_key": key or str(uuid.uuid4()),
        "transfer": {
            "reason": reason,
            "participant_account_id": account,
            "amount": amount,
            "currency": "USD",
            "external_reference": ref,
        },
    }


def test_deposit_both_legs_and_pool(partner: Partner) -> None:
    pid, account = partner.onboard()
    pool = partner.post(f"{CASH}/GetFundingAccountBalance", {"currency": "usd"}).json()
    assert pool["balance"] == "1000000.00"
    movement = partner.deposit(account, "500.00")
    assert movement["status"] == "CASH_MOVEMENT_STATUS_CONFIRMED"
    assert movement["sourceAccountId"] == pool["fundingAccountId"]
    assert movement["destinationAccountId"] == account
    after = partner.post(f"{CASH}/GetFundingAccountBalance", {"currency": "USD"}).json()
    assert after["balance"] == "999500.00"
    mine = partner.get("/v1/funding/balance-ledger", pid=pid, account=account).json()["entries"]
    assert [(e["entryType"], e["afterBalance"]) for e in mine] == [
        ("LEDGER_ENTRY_TYPE_BALANCE_DEPOSIT", "500.00")
    ]
    pool_entries = partner.get(
        "/v1/funding/balance-ledger", pid=pid, account=pool["fundingAccountId"]
    ).json()["entries"]
    assert pool_entries[-1]["beforeBalance"] == "1000000.00"
    assert pool_entries[-1]["afterBalance"] == "999500.00"
    got = partner.post(f"{CASH}/GetCashMovement", {"workflowId": movement["workflowId"]}).json()
    assert got["cashMovement"] == movement


def test_idempotent_replay_and_changed_payload(partner: Partner) -> None:
    _, account = partner.onboard()
    body = transfer("TRANSFER_REASON_DEPOSIT", account, "10.00", key="dep-1")
    first = partner.post(f"{CASH}/CreateCashMovement", body).json()["cashMovement"]
    second = partner.post(f"{CASH}/CreateCashMovement", body).json()["cashMovement"]
    assert first == second
    changed = partner.post(
        f"{CASH}/CreateCashMovement",
        transfer("TRANSFER_REASON_DEPOSIT", account, "11.00", key="dep-1"),
    )
    assert changed.status_code == 409
    assert changed.json()["code"] == "already_exists"


def test_concurrent_identical_requests_move_money_once(partner: Partner) -> None:
    pid, account = partner.onboard()
    body = transfer("TRANSFER_REASON_DEPOSIT", account, "25.00", key="same-key")
    partner.token  # noqa: B018 - fetch the token once, before the threads

    def send(_: int) -> dict:
        response = partner.session.post(
            partner.base + f"{CASH}/CreateCashMovement",
            json=body,
            headers=partner.headers(),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        return response.json()["cashMovement"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(16)))
    assert len({r["workflowId"] for r in results}) == 1
    balance = partner.post("/v1/positions/balance", {"name": account}, pid=pid).json()
    assert balance["balance"] == "25.00"


def test_withdrawal_rejected_beyond_free_cash_never_negative(partner: Partner) -> None:
    pid, account = partner.onboard()
    partner.deposit(account, "100.00")
    too_much = partner.post(
        f"{CASH}/CreateCashMovement", transfer("TRANSFER_REASON_WITHDRAWAL", account, "100.01")
    ).json()["cashMovement"]
    assert too_much["status"] == "CASH_MOVEMENT_STATUS_REJECTED"
    assert too_much["rejectionReason"] == "INSUFFICIENT_FUNDS"
    ok = partner.post(
        f"{CASH}/CreateCashMovement", transfer("TRANSFER_REASON_WITHDRAWAL", account, "40.00")
    ).json()["cashMovement"]
    assert ok["status"] == "CASH_MOVEMENT_STATUS_CONFIRMED"
    fee = partner.post(
        f"{CASH}/CreateCashMovement", transfer("VENDOR_FEES", account, "1.50")
    ).json()["cashMovement"]
    assert fee["status"] == "CASH_MOVEMENT_STATUS_CONFIRMED"
    second_fee = partner.post(
        f"{CASH}/CreateCashMovement", transfer("VENDOR_FEES", account, "1.00")
    ).json()["cashMovement"]
    assert second_fee["status"] == "CASH_MOVEMENT_STATUS_REJECTED"
    balance = partner.post("/v1/positions/balance", {"name": account}, pid=pid).json()
    assert balance["balance"] == "58.50"
    types = [
        e["entryType"]
        for e in partner.get("/v1/funding/balance-ledger", pid=pid, account=account).json()[
            "entries"
        ]
    ]
    assert types == [
        "LEDGER_ENTRY_TYPE_BALANCE_DEPOSIT",
        "LEDGER_ENTRY_TYPE_BALANCE_WITHDRAWAL",
        "LEDGER_ENTRY_TYPE_BALANCE_MANUAL_TRANSFER",
    ]


def test_validation_and_foreign_account(partner: Partner, sandbox) -> None:
    from tests.sandbox.partner import register_partner

    _, account = partner.onboard()
    bad = partner.post(f"{CASH}/CreateCashMovement", transfer("GIFT", account, "1.00"))
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_argument"
    cents = partner.post(f"{CASH}/CreateCashMovement", transfer("DEPOSIT", account, "1.001"))
    assert cents.status_code == 400
    other = register_partner(sandbox.url)
    foreign = other.post(f"{CASH}/CreateCashMovement", transfer("DEPOSIT", account, "1.00"))
    assert foreign.status_code == 404
    assert foreign.json()["code"] == "not_found"


def test_ledger_pagination_over_pages(partner: Partner) -> None:
    pid, account = partner.onboard()
    for n in range(7):
        partner.deposit(account, f"{n + 1}.00")
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = partner.get(
            "/v1/funding/balance-ledger", pid=pid, account=account, pageSize=3, pageToken=token
        ).json()
        pages += 1
        seen += [e["id"] for e in page["entries"]]
        if page["eof"]:
            assert page["nextPageToken"] == ""
            break
        token = page["nextPageToken"]
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    too_big = partner.get("/v1/funding/balance-ledger", pid=pid, account=account, pageSize=1001)
    assert too_big.status_code == 400
    suppressed = partner.get(
        "/v1/funding/balance-ledger", pid=pid, account=account, entryTypes="NETTING"
    )
    assert suppressed.status_code == 409


def test_the_operator_lists_a_firms_movements_by_key(partner: Partner) -> None:
    _pid, account = partner.onboard()
    first = partner.deposit(account, "5.00", key="key-1")
    partner.deposit(account, "5.00", key="key-1")  # a replay: still one movement
    partner.deposit(account, "6.00", key="key-2")

    one = partner.admin("GET", "/cash-movements", firm_id=partner.firm_id, idempotency_key="key-1")
    every = partner.admin("GET", "/cash-movements", firm_id=partner.firm_id)

    assert [m["workflowId"] for m in one.json()["cashMovements"]] == [first["workflowId"]]
    assert [m["idempotencyKey"] for m in every.json()["cashMovements"]] == ["key-1", "key-2"]
