from tests.sandbox.partner import Partner


def test_whoami(partner: Partner) -> None:
    response = partner.get("/v1/whoami")
    assert response.status_code == 200, response.text
    assert response.json()["firm"] == f"ISV-Participant-{partner.firm_id}"


def test_onboard_and_deposit(partner: Partner, participant: tuple[str, str]) -> None:
    pid, account = participant
    response = partner.post("/v1/positions/balance", {"name": account, "currency": "USD"}, pid=pid)
    assert response.status_code == 200, response.text
    assert response.json()["balance"] == "1000.00"
