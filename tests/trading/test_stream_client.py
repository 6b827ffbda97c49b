"""The gateway's stream client against the sandbox's real streams: typed batches, one fresh
token after UNAUTHENTICATED, and each stream failure as the gateway's typed error."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from backoffice.gateway.auth import AccessToken
from backoffice.gateway.client import process_gateway
from backoffice.gateway.errors import InvalidArgument, Outcome, RateLimited, Unavailable
from backoffice.gateway.streams import stream_client

pytestmark = pytest.mark.django_db(transaction=True)
FROM_THE_START = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def first_batch_with_items(batches):
    for batch in batches:
        if batch.items:
            return batch
    raise AssertionError("the stream ended without a batch")


def test_executions_arrive_typed_in_dollars_and_contracts(exchange):
    exchange.order(exchange.trader(), qty=500, price=60)
    client = stream_client()
    batch = first_batch_with_items(
        client.executions(scales=lambda s: pytest.fail(s), resume_time=FROM_THE_START)
    )
    client.cancel_all()
    fill = next(e for e in batch.items if e.type == "EXECUTION_TYPE_FILL")
    assert fill.order is not None
    assert (fill.last_shares, fill.order.price, fill.order.state) == (
        Decimal(5),
        Decimal("0.6"),
        "ORDER_STATE_FILLED",
    )
    assert batch.resume_token


def test_a_refused_token_is_renewed_once(exchange):
    gateway = process_gateway()
    gateway.current_token(actor=None)
    stale = AccessToken(
        value="not-a-token", expires_in=180, renew_at=time.monotonic() + 60,
        expires_at=dt.datetime.now(dt.UTC), scopes=(), firm_id="", key_label="current",
        clock_skew_seconds=None,
    )  # fmt: skip
    gateway.tokens._token = stale
    client = stream_client()
    batch = next(iter(client.instrument_states()))
    client.cancel_all()
    assert batch.items
    assert gateway.tokens._token is not None
    assert gateway.tokens._token.value != "not-a-token"


@pytest.mark.parametrize(
    ("rule", "error", "outcome"),
    [
        ({"kind": "error", "status": 503}, Unavailable, Outcome.NOT_SENT),
        ({"kind": "rate_limit"}, RateLimited, Outcome.NOT_SENT),
    ],
)
def test_stream_faults_are_the_gateways_typed_errors(exchange, rule, error, outcome):
    exchange.admin("POST", "/faults", {"family": "streams", "count": 1, **rule})
    with pytest.raises(error) as raised:
        next(iter(stream_client().instrument_states()))
    assert raised.value.outcome is outcome


def test_an_expired_resume_token_is_invalid_argument(exchange):
    client = stream_client()
    token = next(iter(client.trades(scales=lambda s: pytest.fail(s)))).resume_token
    client.cancel_all()
    exchange.admin("POST", "/streams/expire-tokens")
    with pytest.raises(InvalidArgument):
        next(iter(stream_client().trades(scales=lambda s: pytest.fail(s), resume_token=token)))
