"""A restart loses nothing: firms, keys, participants, balances, orders, tokens."""

from __future__ import annotations

from tests.sandbox.partner import VENDOR, Partner
from tests.sandbox.test_trading import vendor_order


def test_restart_keeps_state(sandbox_factory) -> None:
    from tests.sandbox.partner import register_partner

    first = sandbox_factory()
    data_dir = first.sandbox.settings.data_dir
    partner = register_partner(first.url)
    pid, account = partner.onboard("keeper")
    partner.deposit(account, "200.00")
    order = partner.post(VENDOR, vendor_order(account, "SIDE_BUY", 1000, 60, key="k-1")).json()
    token = partner.token
    first.stop()

    second = sandbox_factory(data_dir=data_dir)
    again = Partner(
        base=second.url,
        firm_id=partner.firm_id,
        client_id=partner.client_id,
        key=partner.key,
    )
    # A fresh token from the same key, and (same port or not) state intact.
    status = again.get("/v1/kyc/status", external_id="keeper").json()
    assert status["participantId"] == pid
    balance = again.post("/v1/positions/balance", {"name": account}, pid=pid).json()
    assert balance["balance"] != "200.00"  # the fill was kept
    replay = again.post(VENDOR, vendor_order(account, "SIDE_BUY", 1000, 60, key="k-1"))
    assert replay.status_code in (200, 409)
    orders = again.post("/v1/report/orders/search", {"orderId": order["id"]}, pid=pid).json()
    assert orders["order"][0]["id"] == order["id"]
    assert token  # tokens are signed by a key kept in the store
