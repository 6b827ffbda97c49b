"""Funding's conversation with the exchange, through the one gateway client."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from backoffice.actors import Actor
from backoffice.gateway.client import get_gateway
from backoffice.gateway.errors import GatewayError, Outcome, misconfiguration
from backoffice.gateway.results import CashMovement, FundingAccountBalance
from funding.models import FundingRequest

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class FreeCash:
    """What a withdrawal may take out (API.md 5.3.1: cash less what open orders and positions
    lock), from `positions/balance`, with the figures it was worked out from."""

    balance: Decimal
    buying_power: Decimal
    open_orders: Decimal

    @property
    def free(self) -> Decimal:
        # The smaller of the exchange's buying power and cash less what open orders reserve:
        # whichever of the two the exchange counts more strictly.
        return max(ZERO, min(self.buying_power, self.balance - self.open_orders))

    def describe(self) -> str:
        return (
            f"free cash ${self.free:,.2f} (balance ${self.balance:,.2f}, open orders "
            f"${self.open_orders:,.2f}, buying power ${self.buying_power:,.2f})"
        )

    def as_payload(self) -> dict[str, str]:
        return {
            "free_cash": str(self.free),
            "balance": str(self.balance),
            "open_orders": str(self.open_orders),
            "buying_power": str(self.buying_power),
        }


def free_cash(*, request: FundingRequest, actor: Actor) -> FreeCash:
    return account_free_cash(
        participant_id=request.participant.participant_id,
        account_id=request.account.account_id,
        actor=actor,
    )


def account_free_cash(*, participant_id: str, account_id: str, actor: Actor) -> FreeCash:
    balance = get_gateway().balance(participant_id=participant_id, account=account_id, actor=actor)
    return FreeCash(
        balance=balance.balance, buying_power=balance.buying_power, open_orders=balance.open_orders
    )


def send_movement(*, request: FundingRequest, actor: Actor) -> CashMovement:
    """Create the request's transfer, or replay it: always the same key and the same fields."""
    return get_gateway().create_cash_movement(
        idempotency_key=request.idempotency_key,
        reason=request.reason,
        participant_account_id=request.account.account_id,
        amount=request.amount,
        external_reference=request.external_reference,
        memo=request.memo,
        currency=request.currency,
        actor=actor,
    )


def read_movement(*, workflow_id: str, actor: Actor) -> CashMovement:
    return get_gateway().get_cash_movement(workflow_id=workflow_id, actor=actor)


def pool_balance(*, actor: Actor) -> FundingAccountBalance:
    return get_gateway().funding_account_balance(actor=actor)


def describe_failure(exc: GatewayError) -> str:
    """Staff's words for a failed exchange call, by what is known of it. The exchange's own
    message names the field or the cause; it never carries personal data."""
    detail = exc.message or exc.code
    if exc.outcome is Outcome.MISCONFIGURED:
        return f"the connection to the exchange is misconfigured ({misconfiguration(exc)}); a person must fix the settings"
    if exc.outcome is Outcome.REFUSED:
        return f"the exchange refused it ({exc.code}): {detail}"
    if exc.outcome is Outcome.UNKNOWN:
        return f"the exchange gave no usable answer ({exc.code})"
    return f"the exchange could not be reached or was busy ({exc.code})"
