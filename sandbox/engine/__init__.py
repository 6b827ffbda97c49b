"""The sandbox exchange's trading engine: pure maths over scaled ints and Decimal dollars.

No I/O, no clock, no randomness of its own; every result is a frozen dataclass or a plain value the
server can persist. Prices and quantities are the API's scaled integers; money is exact Decimal
dollars; position cost/realized and commissions are notional units (price units x qty units).

Public API
----------
Fixed point (`fixedpoint`, API.md 4.5):
    InstrumentSpec(symbol, price_scale, fractional_qty_scale, tick_size, price_limit_low/high)
        .from_api(json) .tick_step .min_price .max_price .on_tick(p) .within_limits(p)
        .price(p) .contracts(q) .dollars(notional) .notional(dollars)
    qty_scale, price_to_dollars, dollars_to_price, qty_to_contracts, contracts_to_qty,
    cash_qty_to_dollars, dollars_to_cash_qty, notional_to_dollars, dollars_to_notional,
    round_to_cent, round_half_even_div
Fees (`fees`, 5.5.6):
    TAKER_THETA, MAKER_THETA, exact_fee(contracts, price, liquidity),
    fill_fee(fill_exact, cum_exact_before, cum_charged_before) -> this fill's charged fee,
    OrderFees / FeeTally (per-order running totals), charge_fill(fees, instrument, liquidity, qty,
    price) -> FeeCharge(fee, commission_notional, fees), fee_to_commission, commission_to_fee,
    worst_case_taker_fee(instrument, side, limit_price, qty=|cash_order_qty=)
Matching (`matching`, section 8 row 12):
    RestingOrder, IncomingOrder, Fill, MatchResult, match_order(instrument, book, order),
    validate_order, collar_price, no_to_yes(side, price, price_scale), unit_cost, sorted_opposite
Positions (`positions`, 5.4):
    Position, PositionChange, apply_fill(position, side, qty, price), bust_fill(position, change),
    replay_fills, change_between, fill_cash_delta(instrument, net, side, qty, price),
    open_interest_change
Collateral (`collateral`, 5.5.5, section 8 row 13, 5.3.4):
    open_orders_requirement(instrument, net, orders) -> reservation in dollars,
    check_order(instrument, cash, net, open_orders, order) -> OrderCheck(collateral, fee, required,
    cash, .affordable, .shortfall), unfunded_orders(instrument, cash, net, orders) -> ids to cancel,
    withdrawable_cash(cash, reservations), balance_summary(cash, reservations) -> BalanceSummary
Settlement (`settlement`, section 8 row 18):
    settle_position(instrument, position, px) -> SettledPosition(position, change, credit),
    settle_instrument(instrument, positions, px) -> Settlement(settled, .credits, .total_credit)
Ids (`ids`): new_id(rng), is_exchange_id, ID_ALPHABET
Enums (`enums`, 5.5.4): Side, OrderType, TimeInForce, OrderState, ExecutionType, OrdRejectReason
    (proto numbers; `.wire` is the JSON name, `from_wire` parses), Liquidity (MAKER/TAKER)
"""

from sandbox.engine.collateral import (
    BalanceSummary,
    OrderCheck,
    balance_summary,
    check_order,
    open_orders_requirement,
    unfunded_orders,
    withdrawable_cash,
)
from sandbox.engine.enums import (
    ExecutionType,
    Liquidity,
    OrderState,
    OrderType,
    OrdRejectReason,
    Side,
    TimeInForce,
)
from sandbox.engine.fees import (
    MAKER_THETA,
    TAKER_THETA,
    FeeCharge,
    FeeTally,
    OrderFees,
    charge_fill,
    commission_to_fee,
    exact_fee,
    fee_to_commission,
    fill_fee,
    worst_case_taker_fee,
)
from sandbox.engine.fixedpoint import (
    InstrumentSpec,
    cash_qty_to_dollars,
    contracts_to_qty,
    dollars_to_cash_qty,
    dollars_to_notional,
    dollars_to_price,
    notional_to_dollars,
    price_to_dollars,
    qty_scale,
    qty_to_contracts,
    round_half_even_div,
    round_to_cent,
)
from sandbox.engine.ids import ID_ALPHABET, is_exchange_id, new_id
from sandbox.engine.matching import (
    Fill,
    IncomingOrder,
    MatchResult,
    RestingOrder,
    collar_price,
    match_order,
    no_to_yes,
    sorted_opposite,
    unit_cost,
    validate_order,
)
from sandbox.engine.positions import (
    Position,
    PositionChange,
    apply_fill,
    bust_fill,
    change_between,
    fill_cash_delta,
    open_interest_change,
    replay_fills,
)
from sandbox.engine.settlement import (
    SettledPosition,
    Settlement,
    settle_instrument,
    settle_position,
)

__all__ = [
    "ID_ALPHABET",
    "MAKER_THETA",
    "TAKER_THETA",
    "BalanceSummary",
    "ExecutionType",
    "FeeCharge",
    "FeeTally",
    "Fill",
    "IncomingOrder",
    "InstrumentSpec",
    "Liquidity",
    "MatchResult",
    "OrdRejectReason",
    "OrderCheck",
    "OrderFees",
    "OrderState",
    "OrderType",
    "Position",
    "PositionChange",
    "RestingOrder",
    "SettledPosition",
    "Settlement",
    "Side",
    "TimeInForce",
    "apply_fill",
    "balance_summary",
    "bust_fill",
    "cash_qty_to_dollars",
    "change_between",
    "charge_fill",
    "check_order",
    "collar_price",
    "commission_to_fee",
    "contracts_to_qty",
    "dollars_to_cash_qty",
    "dollars_to_notional",
    "dollars_to_price",
    "exact_fee",
    "fee_to_commission",
    "fill_cash_delta",
    "fill_fee",
    "is_exchange_id",
    "match_order",
    "new_id",
    "no_to_yes",
    "notional_to_dollars",
    "open_interest_change",
    "open_orders_requirement",
    "price_to_dollars",
    "qty_scale",
    "qty_to_contracts",
    "replay_fills",
    "round_half_even_div",
    "round_to_cent",
    "settle_instrument",
    "settle_position",
    "sorted_opposite",
    "unfunded_orders",
    "unit_cost",
    "validate_order",
    "withdrawable_cash",
    "worst_case_taker_fee",
]
