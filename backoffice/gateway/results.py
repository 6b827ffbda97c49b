"""What the gateway returns: frozen dataclasses with exchange enum names kept as strings,
fixed-point prices and quantities already divided by the instrument's scales, money as Decimal and
timestamps as aware datetimes. Each `parse_*` function reads one documented JSON shape (both
shapes where the documentation disagrees, Appendix B)."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from backoffice.gateway.errors import MalformedResponse
from backoffice.gateway.parsing import Fields
from backoffice.gateway.scales import ScaleLookup, Scales

# --- Identity and accounts (5.1) ------------------------------------------------------------------


@dataclass(frozen=True)
class WhoAmI:
    user: str
    user_display_name: str
    firm: str
    firm_display_name: str
    audience: str
    firm_type: str  # FIRM_TYPE_*; kept as sent (examples show names outside the enum)


def parse_whoami(data: Any) -> WhoAmI:
    f = Fields(data, "whoami")
    return WhoAmI(
        user=f.text("user") or f.text("userId"),
        user_display_name=f.text("userDisplayName"),
        firm=f.text("firm"),
        firm_display_name=f.text("firmDisplayName"),
        audience=f.text("audience"),
        firm_type=f.text("firmType"),
    )


@dataclass(frozen=True)
class ParticipantUser:
    participant_id: str
    display_name: str
    firm: str
    firm_display_name: str


def parse_users(data: Any) -> list[ParticipantUser]:
    f = Fields(data, "users")
    users = f.strings("users")
    names, firms, firm_names = (
        f.strings("displayNames"),
        f.strings("firms"),
        f.strings("firmsDisplayNames"),
    )

    def at(values: list[str], index: int) -> str:
        return values[index] if index < len(values) else ""

    return [
        ParticipantUser(user, at(names, i), at(firms, i), at(firm_names, i))
        for i, user in enumerate(users)
    ]


@dataclass(frozen=True)
class TradingAccount:
    account: str
    display_name: str


def parse_accounts(data: Any) -> list[TradingAccount]:
    f = Fields(data, "accounts")
    accounts, names = f.strings("accounts"), f.strings("displayNames")
    return [
        TradingAccount(account, names[i] if i < len(names) else "")
        for i, account in enumerate(accounts)
    ]


# --- KYC (5.2) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentCapture:
    """DocV: where the participant uploads a photo ID. The URL and tokens are secrets."""

    url: str = field(repr=False)
    qr_code: str = field(repr=False)
    transaction_token: str = field(repr=False)
    event_id: str


@dataclass(frozen=True)
class KycEvaluation:
    decision: str  # ACCEPT, APPROVED, REVIEW, RESUBMIT, REJECT... (passed through from Socure)
    status: str  # OPEN, REVIEW, IN REVIEW, ON_HOLD, CLOSED
    sub_status: str
    external_id: str
    participant_id: str  # "" until provisioned
    provisioned_account: str  # "" until provisioned
    docv: DocumentCapture | None

    @property
    def provisioned(self) -> bool:
        return bool(self.participant_id and self.provisioned_account)


def parse_kyc_evaluation(data: Any) -> KycEvaluation:
    f = Fields(data, "kyc")
    nested = f.raw("status")
    # Current shape nests {decision, status, subStatus, externalId}; the legacy one is flat.
    if isinstance(nested, dict):
        s = Fields(nested, "kyc.status")
        status = s.text("status")
    else:
        s = f
        status = f.text("status")
    docv_fields = f.obj("docv")
    docv = None
    if docv_fields is not None:
        docv = DocumentCapture(
            url=docv_fields.text("url"),
            qr_code=docv_fields.text("qrCode"),
            transaction_token=docv_fields.text("docvTransactionToken"),
            event_id=docv_fields.text("eventId"),
        )
    return KycEvaluation(
        decision=s.text("decision"),
        status=status,
        sub_status=s.text("subStatus"),
        external_id=s.text("externalId") or f.text("externalId") or f.text("userId"),
        participant_id=f.text("participantId"),
        provisioned_account=f.text("provisionedAccount") or f.text("account"),
        docv=docv,
    )


@dataclass(frozen=True)
class WebhookRegistration:
    validated: bool
    message: str


def parse_webhook_registration(data: Any) -> WebhookRegistration:
    f = Fields(data, "kyc.webhook")
    return WebhookRegistration(validated=f.flag("validated"), message=f.text("message"))


# --- Partner funding (5.3.1) and vendor orders (5.5.1), Connect JSON ------------------------------


@dataclass(frozen=True)
class CashMovement:
    workflow_id: str
    idempotency_key: str
    intent_type: str
    status: str  # CASH_MOVEMENT_STATUS_PENDING | _CONFIRMED | _REJECTED | _AMBIGUOUS
    reason: str  # TRANSFER_REASON_DEPOSIT | _WITHDRAWAL | _VENDOR_FEES
    amount: Decimal
    currency: str
    source_account_id: str
    destination_account_id: str
    dco_transfer_id: str
    rejection_reason: str
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @property
    def terminal(self) -> bool:
        return self.status in {"CASH_MOVEMENT_STATUS_CONFIRMED", "CASH_MOVEMENT_STATUS_REJECTED"}


def parse_cash_movement(data: Any) -> CashMovement:
    outer = Fields(data, "cash_movement_response")
    f = outer.obj("cashMovement")
    if f is None:
        raise MalformedResponse("cash_movement_response: no cashMovement")
    return CashMovement(
        workflow_id=f.text("workflowId"),
        idempotency_key=f.text("idempotencyKey"),
        intent_type=f.text("intentType"),
        status=f.text("status", "CASH_MOVEMENT_STATUS_UNSPECIFIED"),
        reason=f.text("reason", "TRANSFER_REASON_UNSPECIFIED"),
        amount=f.decimal("amount"),
        currency=f.text("currency"),
        source_account_id=f.text("sourceAccountId"),
        destination_account_id=f.text("destinationAccountId"),
        dco_transfer_id=f.text("dcoTransferId"),
        rejection_reason=f.text("rejectionReason"),
        created_at=f.timestamp("createdAt"),
        updated_at=f.timestamp("updatedAt"),
    )


@dataclass(frozen=True)
class FundingAccountBalance:
    funding_account_id: str
    balance: Decimal
    currency: str
    as_of: dt.datetime | None


def parse_funding_account_balance(data: Any) -> FundingAccountBalance:
    f = Fields(data, "funding_account_balance")
    return FundingAccountBalance(
        funding_account_id=f.text("fundingAccountId"),
        balance=f.decimal("balance"),
        currency=f.text("currency"),
        as_of=f.timestamp("asOf"),
    )


@dataclass(frozen=True)
class VendorOrderResult:
    funding_request_id: str
    order_id: str  # the exchange order id; may be empty
    status: str  # VENDOR_ORDER_STATUS_ACCEPTED | _REJECTED | _PENDING
    idempotency_key: str
    request_id: str  # per attempt
    clord_id: str


def parse_vendor_order(data: Any) -> VendorOrderResult:
    f = Fields(data, "vendor_order")
    correlation = f.obj("correlation") or Fields({}, "vendor_order.correlation")
    return VendorOrderResult(
        funding_request_id=f.text("fundingRequestId") or correlation.text("fundingRequestId"),
        order_id=f.text("id"),
        status=f.text("status", "VENDOR_ORDER_STATUS_UNSPECIFIED"),
        idempotency_key=correlation.text("idempotencyKey"),
        request_id=correlation.text("requestId"),
        clord_id=correlation.text("clordId"),
    )


# --- Balances, positions, ledgers (5.3.3, 5.4) ----------------------------------------------------


@dataclass(frozen=True)
class SecurityEntry:
    balance: Decimal
    market_value: Decimal
    haircut: int
    notional_value: Decimal
    available_value: Decimal


@dataclass(frozen=True)
class AccountBalance:
    currency: str
    balance: Decimal
    buying_power: Decimal
    capital_requirement: Decimal
    excess_capital: Decimal
    margin_requirement: Decimal
    unsettled_funds: Decimal
    open_orders: Decimal
    total_security_notional_value: Decimal
    total_security_available_value: Decimal
    alternate_capital_requirement_currency: str
    alternate_capital_requirement: Decimal
    securities: dict[str, SecurityEntry]
    update_time: dt.datetime | None


def parse_account_balance(data: Any, *, currency: str, where: str = "balance") -> AccountBalance:
    f = Fields(data, where)
    securities = {}
    for symbol, entry in f.mapping("securities").items():
        e = Fields(entry, f"{where}.securities[{symbol}]")
        securities[symbol] = SecurityEntry(
            balance=e.decimal("balance"),
            market_value=e.decimal("marketValue"),
            haircut=e.integer("haircut"),
            notional_value=e.decimal("notionalValue"),
            available_value=e.decimal("availableValue"),
        )
    return AccountBalance(
        currency=currency,
        balance=f.decimal("balance"),
        buying_power=f.decimal("buyingPower"),
        capital_requirement=f.decimal("capitalRequirement"),
        excess_capital=f.decimal("excessCapital"),
        margin_requirement=f.decimal("marginRequirement"),
        unsettled_funds=f.decimal("unsettledFunds"),
        open_orders=f.decimal("openOrders"),
        total_security_notional_value=f.decimal("totalSecurityNotionalValue"),
        total_security_available_value=f.decimal("totalSecurityAvailableValue"),
        alternate_capital_requirement_currency=f.text("alternateCapitalRequirementCurrency"),
        alternate_capital_requirement=f.decimal("alternateCapitalRequirement"),
        securities=securities,
        update_time=f.timestamp("updateTime"),
    )


def parse_account_balances(data: Any) -> dict[str, AccountBalance]:
    f = Fields(data, "balances")
    return {
        currency: parse_account_balance(entry, currency=currency, where=f"balances[{currency}]")
        for currency, entry in f.mapping("balances").items()
    }


@dataclass(frozen=True)
class Position:
    account: str
    symbol: str
    net_position: Decimal  # contracts, YES terms; negative = short / NO
    qty_bought: Decimal
    qty_sold: Decimal
    bod_position: Decimal
    available_position: Decimal | None
    cost: Decimal  # dollars
    realized: Decimal  # dollars
    expired: bool
    update_time: dt.datetime | None


def parse_position(data: Any, available: Any, scales: ScaleLookup) -> Position:
    f = Fields(data, "position")
    symbol = f.text("symbol")
    s = scales(symbol)
    available_raw = Fields({"v": available}, "position").opt_integer("v")
    return Position(
        account=f.text("account"),
        symbol=symbol,
        net_position=s.quantity(f.integer("netPosition")),
        qty_bought=s.quantity(f.integer("qtyBought")),
        qty_sold=s.quantity(f.integer("qtySold")),
        bod_position=s.quantity(f.integer("bodPosition")),
        available_position=None if available_raw is None else s.quantity(available_raw),
        cost=s.notional(f.integer("cost")),
        realized=s.notional(f.integer("realized")),
        expired=f.flag("expired"),
        update_time=f.timestamp("updateTime"),
    )


LEDGER_ENTRY_PREFIX = "LEDGER_ENTRY_TYPE_BALANCE_"


def ledger_entry_type(name: str) -> str:
    """The full enum name, whether the exchange sent it or the short form (Appendix B 3)."""
    if not name or name.startswith("LEDGER_ENTRY_TYPE_"):
        return name
    return LEDGER_ENTRY_PREFIX + name


@dataclass(frozen=True)
class BalanceLedgerEntry:
    id: str
    account: str
    currency: str
    entry_type: str  # full name, LEDGER_ENTRY_TYPE_BALANCE_*
    before_balance: Decimal
    after_balance: Decimal
    description: str
    symbol: str
    modified_security_id: str
    update_time: dt.datetime | None
    update_business_date: dt.date | None

    @property
    def amount(self) -> Decimal:
        return self.after_balance - self.before_balance


def parse_balance_ledger_entry(data: Any) -> BalanceLedgerEntry:
    f = Fields(data, "balance_ledger_entry")
    return BalanceLedgerEntry(
        id=f.text("id"),
        account=f.text("account"),
        currency=f.text("currency"),
        entry_type=ledger_entry_type(f.text("entryType")),
        before_balance=f.decimal("beforeBalance"),
        after_balance=f.decimal("afterBalance"),
        description=f.text("description"),
        symbol=f.text("symbol"),
        modified_security_id=f.text("modifiedSecurityId"),
        update_time=f.timestamp("updateTime"),
        update_business_date=f.day("updateBusinessDate"),
    )


@dataclass(frozen=True)
class PositionLedgerEntry:
    id: str
    account: str
    symbol: str
    quantity_change: Decimal  # contracts
    cost_change: Decimal  # dollars
    realized_change: Decimal
    net_position: Decimal
    cost: Decimal
    realized: Decimal
    description: str
    update_time: dt.datetime | None
    update_business_date: dt.date | None


def parse_position_ledger_entry(data: Any, scales: ScaleLookup) -> PositionLedgerEntry:
    f = Fields(data, "position_ledger_entry")
    symbol = f.text("symbol")
    s = scales(symbol)
    return PositionLedgerEntry(
        id=f.text("id"),
        account=f.text("account"),
        symbol=symbol,
        quantity_change=s.quantity(f.integer("quantityChange")),
        cost_change=s.notional(f.integer("costChange")),
        realized_change=s.notional(f.integer("realizedChange")),
        net_position=s.quantity(f.integer("netPosition")),
        cost=s.notional(f.integer("cost")),
        realized=s.notional(f.integer("realized")),
        description=f.text("description"),
        update_time=f.timestamp("updateTime"),
        update_business_date=f.day("updateBusinessDate"),
    )


# --- Instruments and settlement (5.7) -------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    symbol: str
    description: str
    state: str  # INSTRUMENT_STATE_*; absent means INSTRUMENT_STATE_CLOSED (proto3 zero value)
    price_scale: int
    qty_scale: int  # fractionalQtyScale, 0/absent read as 1
    tick_size: Decimal  # dollars
    minimum_trade_qty: Decimal  # contracts
    price_limit_low: Decimal | None  # dollars
    price_limit_high: Decimal | None
    base_currency: str
    multiplier: Decimal
    product_id: str
    clearing_house: str
    non_tradable: bool
    event_id: str
    question: str
    start_date: dt.date | None
    expiration_date: dt.date | None
    metadata: dict[str, str]
    create_time: dt.datetime | None
    update_time: dt.datetime | None

    @property
    def scales(self) -> Scales:
        return Scales(self.price_scale, self.qty_scale)


def parse_instrument(data: Any) -> Instrument:
    f = Fields(data, "instrument")
    symbol = f.text("symbol")
    scales = Scales.of(
        f.integer("priceScale"), f.integer("fractionalQtyScale"), f"instrument[{symbol}]"
    )
    limit = f.obj("priceLimit") or Fields({}, "instrument.priceLimit")
    events = f.obj("eventAttributes") or Fields({}, "instrument.eventAttributes")
    metadata = {str(k): str(v) for k, v in f.mapping("metadata").items()}
    return Instrument(
        symbol=symbol,
        description=f.text("description"),
        state=f.text("state", "INSTRUMENT_STATE_CLOSED"),
        price_scale=scales.price_scale,
        qty_scale=scales.qty_scale,
        tick_size=f.decimal("tickSize"),
        minimum_trade_qty=scales.quantity(f.integer("minimumTradeQty")),
        price_limit_low=scales.price(limit.integer("low")) if limit.has("low") else None,
        price_limit_high=scales.price(limit.integer("high")) if limit.has("high") else None,
        base_currency=f.text("baseCurrency"),
        multiplier=f.decimal("multiplier", Decimal(1)),
        product_id=f.text("productId"),
        clearing_house=f.text("clearingHouse"),
        non_tradable=f.flag("nonTradable"),
        event_id=events.text("eventId"),
        question=events.text("question"),
        start_date=f.day("startDate"),
        expiration_date=f.day("expirationDate"),
        metadata=metadata,
        create_time=f.timestamp("createTime"),
        update_time=f.timestamp("updateTime"),
    )


@dataclass(frozen=True)
class Settlement:
    symbol: str
    price_scale: int
    settled: bool  # False when the exchange has no final settlement yet (no `stats`)
    settlement_price: Decimal | None  # dollars; a present zero is a valid price
    preliminary: bool
    calculation_method: str
    calculation_text: str
    set_time: dt.datetime | None


def parse_settlement(data: Any) -> Settlement:
    f = Fields(data, "settlement")
    symbol = f.text("symbol")
    stats = f.obj("stats")
    price_scale = f.integer("priceScale")
    price = None
    if stats is not None and stats.has("settlementPx"):
        price = Scales.of(price_scale, 1, f"settlement[{symbol}]").price(
            stats.integer("settlementPx")
        )
    elif stats is not None:
        price = Decimal(0)  # proto3 omits a zero price
    stats = stats or Fields({}, "settlement.stats")
    return Settlement(
        symbol=symbol,
        price_scale=price_scale,
        settled=price is not None,
        settlement_price=price,
        preliminary=stats.flag("settlementPreliminary"),
        calculation_method=stats.text("settlementPriceCalculationMethod"),
        calculation_text=stats.text("settlementPriceCalculationText"),
        set_time=stats.timestamp("settlementSetTime"),
    )


# --- Orders, executions, trades (5.5, 5.6) --------------------------------------------------------


@dataclass(frozen=True)
class Order:
    id: str
    clord_id: str
    symbol: str
    account: str
    participant: str
    side: str  # SIDE_BUY | SIDE_SELL (YES terms)
    type: str
    time_in_force: str
    state: str  # absent means ORDER_STATE_NEW (proto3 zero value)
    price: Decimal | None  # dollars
    stop_price: Decimal | None
    avg_px: Decimal | None
    order_qty: Decimal  # contracts
    cum_qty: Decimal
    leaves_qty: Decimal
    cash_order_qty: Decimal | None  # dollars of principal
    commission_total: Decimal  # dollars; negative = maker rebate
    manual_order_indicator: str
    price_scale: int
    qty_scale: int
    insert_time: dt.datetime | None
    create_time: dt.datetime | None
    last_transact_time: dt.datetime | None
    good_till_time: dt.datetime | None


def parse_order(data: Any, scales: ScaleLookup) -> Order:
    f = Fields(data, "order")
    symbol = f.text("symbol")
    if f.integer("priceScale") > 0:
        s = Scales.of(
            f.integer("priceScale"), f.integer("fractionalQuantityScale"), f"order[{symbol}]"
        )
    else:
        s = scales(symbol)

    def price(name: str) -> Decimal | None:
        raw = f.opt_integer(name)
        return None if raw is None else s.price(raw)

    cash = f.opt_integer("cashOrderQty")
    return Order(
        id=f.text("id"),
        clord_id=f.text("clordId"),
        symbol=symbol,
        account=f.text("account"),
        participant=f.text("participant"),
        side=f.text("side"),
        type=f.text("type"),
        time_in_force=f.text("timeInForce"),
        state=f.text("state", "ORDER_STATE_NEW"),
        price=price("price"),
        stop_price=price("stopPrice"),
        avg_px=price("avgPx"),
        order_qty=s.quantity(f.integer("orderQty")),
        cum_qty=s.quantity(f.integer("cumQty")),
        leaves_qty=s.quantity(f.integer("leavesQty")),
        cash_order_qty=None if not cash else s.price(cash),
        commission_total=s.notional(f.integer("commissionNotionalTotalCollected")),
        manual_order_indicator=f.text("manualOrderIndicator"),
        price_scale=s.price_scale,
        qty_scale=s.qty_scale,
        insert_time=f.timestamp("insertTime"),
        create_time=f.timestamp("createTime"),
        last_transact_time=f.timestamp("lastTransactTime"),
        good_till_time=f.timestamp("goodTillTime"),
    )


@dataclass(frozen=True)
class Execution:
    id: str
    order: Order | None  # the order as it stood after this event
    type: str  # absent means EXECUTION_TYPE_NEW
    last_shares: Decimal  # contracts
    last_px: Decimal | None  # dollars
    commission: Decimal  # dollars; negative = maker rebate
    aggressor: bool
    trade_id: str
    text: str
    order_reject_reason: str
    transact_time: dt.datetime | None
    transact_trade_date: dt.date | None


def parse_execution(data: Any, scales: ScaleLookup) -> Execution:
    f = Fields(data, "execution")
    order_data = f.raw("order")
    order = parse_order(order_data, scales) if order_data is not None else None
    if order is not None:
        s = Scales(order.price_scale, order.qty_scale)
    else:
        symbol = f.text("symbol")
        s = scales(symbol)
    kind = f.text("type", "EXECUTION_TYPE_NEW")
    reject = f.text("orderRejectReason")
    if not reject and kind == "EXECUTION_TYPE_REJECTED":
        reject = "ORD_REJECT_REASON_EXCHANGE_OPTION"  # the proto3 zero value, omitted on the wire
    last_px = f.opt_integer("lastPx")
    return Execution(
        id=f.text("id"),
        order=order,
        type=kind,
        last_shares=s.quantity(f.integer("lastShares")),
        last_px=None if last_px is None else s.price(last_px),
        commission=s.notional(f.integer("commissionNotionalCollected")),
        aggressor=f.flag("aggressor"),
        trade_id=f.text("tradeId"),
        text=f.text("text"),
        order_reject_reason=reject,
        transact_time=f.timestamp("transactTime"),
        transact_trade_date=f.day("transactTradeDate"),
    )


@dataclass(frozen=True)
class Trade:
    id: str
    state: str  # absent means TRADE_STATE_UNDEFINED
    trade_type: str
    aggressor: Execution | None
    passive: Execution | None
    reporting_counterparty: str
    text: str
    trade_link_id: str
    metadata: dict[str, str]


def parse_trade(data: Any, scales: ScaleLookup) -> Trade:
    f = Fields(data, "trade")
    aggressor, passive = f.raw("aggressor"), f.raw("passive")
    return Trade(
        id=f.text("id"),
        state=f.text("state", "TRADE_STATE_UNDEFINED"),
        trade_type=f.text("tradeType"),
        aggressor=parse_execution(aggressor, scales) if aggressor is not None else None,
        passive=parse_execution(passive, scales) if passive is not None else None,
        reporting_counterparty=f.text("reportingCounterparty"),
        text=f.text("text"),
        trade_link_id=f.text("tradeLinkId"),
        metadata={str(k): str(v) for k, v in f.mapping("metadata").items()},
    )


# --- Report downloads (5.6): CSV files of many accounts at once -----------------------------------


@dataclass(frozen=True)
class DownloadedExecution:
    """A row of the executions download: the execution with its order's id, side and quantities
    after the event (the file carries no more of the order; the orders download does)."""

    id: str
    order_id: str
    clord_id: str
    account: str
    symbol: str
    side: str
    type: str
    last_shares: Decimal
    last_px: Decimal | None
    commission: Decimal
    aggressor: bool
    trade_id: str
    order_reject_reason: str
    text: str
    transact_time: dt.datetime | None
    transact_trade_date: dt.date | None
    order_state: str
    cum_qty: Decimal
    leaves_qty: Decimal


def parse_downloaded_execution(row: dict[str, str], scales: ScaleLookup) -> DownloadedExecution:
    f = Fields(row, "executions_csv")
    symbol = f.text("symbol")
    s = scales(symbol)
    last_px = f.integer("lastPx")
    aggressor = f.text("aggressor")
    if aggressor not in ("true", "false", ""):
        raise MalformedResponse(f"executions_csv.aggressor: {aggressor!r} is not a boolean")
    return DownloadedExecution(
        id=f.text("id"),
        order_id=f.text("orderId"),
        clord_id=f.text("clordId"),
        account=f.text("account"),
        symbol=symbol,
        side=f.text("side"),
        type=f.text("type", "EXECUTION_TYPE_NEW") or "EXECUTION_TYPE_NEW",
        last_shares=s.quantity(f.integer("lastShares")),
        last_px=s.price(last_px) if last_px else None,
        commission=s.notional(f.integer("commissionNotionalCollected")),
        aggressor=aggressor == "true",
        trade_id=f.text("tradeId"),
        order_reject_reason=f.text("orderRejectReason"),
        text=f.text("text"),
        transact_time=f.timestamp("transactTime"),
        transact_trade_date=f.day("transactTradeDate"),
        order_state=f.text("orderState", "ORDER_STATE_NEW") or "ORDER_STATE_NEW",
        cum_qty=s.quantity(f.integer("cumQty")),
        leaves_qty=s.quantity(f.integer("leavesQty")),
    )


def csv_rows(body: bytes, operation: str) -> list[dict[str, str]]:
    """The rows of a download: one JSON message per line, each carrying the next chunk of the
    file in `result.filechunk` (text: the report downloads) or `result.data` (proto bytes, so
    base64: the ledger and valuation downloads); an empty body is an empty file."""
    chunks = []
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            raise MalformedResponse(f"{operation}: line {number} is not JSON") from None
        chunk = Fields(message, operation).obj("result")
        if chunk is None:
            raise MalformedResponse(f"{operation}: line {number} carries no result")
        if chunk.has("data"):
            try:
                chunks.append(base64.b64decode(chunk.text("data"), validate=True).decode())
            except (ValueError, UnicodeDecodeError):
                raise MalformedResponse(f"{operation}: line {number} is not base64 text") from None
        else:
            chunks.append(chunk.text("filechunk"))
    return list(csv.DictReader(io.StringIO("".join(chunks))))


@dataclass(frozen=True)
class AccountStatement:
    """One account's line of the valuations statement: its positions' totals, in dollars."""

    account: str
    total_cost: Decimal
    total_realized: Decimal
    position_count: int  # open positions
    valuation_time: dt.datetime | None


def parse_account_statement(row: dict[str, str]) -> AccountStatement:
    f = Fields(row, "statement_csv")
    return AccountStatement(
        account=f.text("account"),
        total_cost=f.decimal("total_cost"),
        total_realized=f.decimal("total_realized_pnl"),
        position_count=f.integer("position_count"),
        valuation_time=f.timestamp("valuation_time"),
    )
