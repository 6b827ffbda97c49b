"""Reading the sandbox's downloads and setting up small markets for the report and position tests."""

from __future__ import annotations

import base64
import csv
import io
import json
from typing import Any

import requests

from tests.sandbox.partner import Partner
from tests.sandbox.test_order_entry import order


def stream_messages(response: requests.Response) -> list[dict[str, Any]]:
    """A server stream's messages, one JSON object per line."""
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def csv_file(response: requests.Response) -> list[dict[str, str]]:
    """The CSV file a download streams, from text (`filechunk`) or base64 (`data`) chunks."""
    text = ""
    for message in stream_messages(response):
        chunk = message["result"]
        text += (
            chunk["filechunk"] if "filechunk" in chunk else base64.b64decode(chunk["data"]).decode()
        )
    return list(csv.DictReader(io.StringIO(text)))


def market(partner: Partner, symbol: str) -> None:
    """A whole-contract instrument at price scale 100 with no house liquidity."""
    body = {"symbol": symbol, "priceScale": 100, "fractionalQtyScale": 1, "houseLiquidity": False}
    assert partner.admin("POST", "/instruments", body).status_code == 200


def trader(partner: Partner, cash: str = "100.00") -> tuple[str, str]:
    pid, account = partner.onboard()
    partner.deposit(account, cash)
    return pid, account


def trade(
    partner: Partner,
    symbol: str,
    seller: tuple[str, str],
    buyer: tuple[str, str],
    qty: int,
    px: int,
) -> str:
    """The seller rests an offer, the buyer takes it; returns the buyer's order id."""
    ask = order(seller[1], "SIDE_SELL", qty, px, symbol=symbol)
    assert partner.post("/v1/trading/orders", ask, pid=seller[0]).status_code == 200
    bid = order(buyer[1], "SIDE_BUY", qty, px, symbol=symbol)
    bid["timeInForce"] = "TIME_IN_FORCE_IMMEDIATE_OR_CANCEL"
    placed = partner.post("/v1/trading/orders", bid, pid=buyer[0])
    assert placed.status_code == 200, placed.text
    return str(placed.json()["orderId"])
