"""The one Polymarket US client of the back-office.

    from backoffice.gateway import get_gateway
    status = get_gateway().kyc_status(external_id=submission.external_id, actor=request.user)

Every method is keyword-only and takes `actor`: the staff member the call is made for, or None
for system work, whose origin ("command:kyc_sync", "webhook:kyc") then comes from
backoffice.context. Each call refuses to run inside an open database transaction, waits for the
endpoint family's client-side rate limit, signs with the cached token (renewing it once after a
401), retries reads and idempotency-keyed writes on transient errors with jittered backoff
(honouring Retry-After) as its call policy allows, records every attempt as a GatewayCall, and
returns typed results. A failure raises a GatewayError whose `outcome` says what is known
(errors.Outcome).

Who is waiting picks the policy: a staff request (`RequestContext.interactive`) fails fast, with
one attempt and no wait longer than a second or two; commands and jobs are patient.
`get_gateway()` makes that choice through `Gateway.using(policy=...)`.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.core.signals import setting_changed
from django.db import connections
from django.dispatch import receiver
from django.utils import timezone

from backoffice import context as request_context
from backoffice.actors import Actor
from backoffice.gateway import results as r
from backoffice.gateway.auth import AccessToken, TokenManager
from backoffice.gateway.config import CallPolicy, GatewaySettings, load_settings
from backoffice.gateway.endpoints import (
    ACCOUNTS,
    BALANCE,
    BALANCE_LEDGER,
    BALANCES,
    CANCEL_ORDER,
    CREATE_CASH_MOVEMENT,
    CREATE_VENDOR_ORDER,
    DOWNLOAD_EXECUTIONS,
    DOWNLOAD_ORDERS,
    FUNDING_ACCOUNT_BALANCE,
    GET_CASH_MOVEMENT,
    INSTRUMENTS,
    KYC_START,
    KYC_STATUS,
    KYC_WEBHOOK,
    OPEN_ORDERS,
    POSITION_LEDGER,
    POSITIONS,
    SEARCH_EXECUTIONS,
    SEARCH_ORDERS,
    SEARCH_TRADES,
    SETTLEMENT,
    STATEMENT,
    USERS,
    WHOAMI,
    Endpoint,
)
from backoffice.gateway.errors import (
    GatewayCalledInTransaction,
    GatewayError,
    GatewayNotConfigured,
    MalformedResponse,
    NotFound,
    Outcome,
    RateLimited,
    Unauthenticated,
    error_for,
)
from backoffice.gateway.inputs import KycApplication, VendorOrder
from backoffice.gateway.paging import Pages
from backoffice.gateway.parsing import Fields
from backoffice.gateway.ratelimit import Limiter, RateLimiter, SharedRateLimiter
from backoffice.gateway.recording import CallAttempt, CallContext, CallRecorder, DatabaseRecorder
from backoffice.gateway.retry import backoff_delay
from backoffice.gateway.rpc import ConnectJsonChannel, RpcChannel
from backoffice.gateway.scales import ScaleBook, ScaleLookup, Scales
from backoffice.gateway.transport import Request, RequestsTransport, Response, Transport

T = TypeVar("T")

MAX_PAGE_SIZE = 1000


def assert_outside_transaction() -> None:
    """Refuse to call the exchange inside an open transaction, as `atomic(durable=True)` refuses
    to nest: the atomic blocks a test case wraps around each test do not count."""
    for connection in connections.all(initialized_only=True):
        blocks = [b for b in connection.atomic_blocks if not getattr(b, "_from_testcase", False)]
        if blocks:
            raise GatewayCalledInTransaction(
                "the exchange is called only after the database transaction commits: move this "
                "call into transaction.on_commit() or after the atomic block "
                f"(open transaction on database {connection.alias!r})"
            )


def _timestamp(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    if timezone.is_naive(moment):
        raise ValueError("timestamps sent to the exchange must be timezone-aware")
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset filters (None, "", empty lists, False) so the request says only what it means."""
    return {k: v for k, v in values.items() if v not in (None, "", [], (), False)}


def _page_size(size: int | None) -> int | None:
    if size is not None and not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return size


def _fixed_point(value: Decimal, scale: int, what: str) -> int:
    raw = value * scale
    if raw != raw.to_integral_value():
        raise ValueError(f"{what} {value} is finer than the instrument's scale 1/{scale}")
    return int(raw)


class Gateway:
    def __init__(
        self,
        *,
        settings: GatewaySettings,
        transport: Transport,
        tokens: TokenManager | None = None,
        limiter: Limiter | None = None,
        recorder: CallRecorder | None = None,
        rpc: RpcChannel | None = None,
        scales: ScaleBook | None = None,
        sleep: Callable[[float], None] = time.sleep,
        policy: CallPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.transport = transport
        self.tokens = tokens or TokenManager(settings, transport, sleep=sleep)
        self.limiter: Limiter = limiter or RateLimiter(enabled=settings.rate_limits, sleep=sleep)
        self.recorder: CallRecorder = recorder or DatabaseRecorder()
        self.rpc = rpc or ConnectJsonChannel(transport, settings.environment.api_url)
        self.scales = scales or ScaleBook()
        self.policy = policy or settings.job
        self._sleep = sleep

    def using(
        self,
        *,
        recorder: CallRecorder | None = None,
        policy: CallPolicy | None = None,
        limiter: Limiter | None = None,
    ) -> Gateway:
        """The same client (session, token, limits, scales) recording through `recorder`,
        calling under `policy` (settings.staff or settings.job), or pacing with `limiter`."""
        return Gateway(
            settings=self.settings,
            transport=self.transport,
            tokens=self.tokens,
            limiter=limiter or self.limiter,
            recorder=recorder or self.recorder,
            rpc=self.rpc,
            scales=self.scales,
            sleep=self._sleep,
            policy=policy or self.policy,
        )

    def current_token(self, *, actor: Actor) -> AccessToken:
        """The access token calls are signed with (exchanging one if needed): for diagnostics."""
        assert_outside_transaction()
        return self.tokens.token(
            context=self._context(actor), recorder=self.recorder, policy=self.policy
        )

    # --- the call loop ------------------------------------------------------------------------

    def _context(
        self, actor: Actor, participant_id: str = "", idempotency_key: str = ""
    ) -> CallContext:
        current = request_context.current()
        user = actor if actor is not None and actor.is_authenticated else None
        origin = current.origin if current and current.origin else ("" if user else "system")
        return CallContext(
            actor=user,
            origin=origin,
            request_id=current.request_id if current else "",
            participant_id=participant_id,
            idempotency_key=idempotency_key,
        )

    def _send(
        self,
        endpoint: Endpoint,
        token: AccessToken,
        participant_id: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: Mapping[str, Any] | None,
    ) -> Response:
        headers = {"Authorization": f"Bearer {token.value}"}
        if endpoint.participant:
            headers["x-participant-id"] = participant_id
        timeout = self.policy.timeout(self.settings.connect_timeout)
        if endpoint.rpc is not None:
            service, method = endpoint.rpc
            return self.rpc.unary(
                service=service, method=method, message=body or {}, headers=headers, timeout=timeout
            )
        if body is not None:
            headers["Content-Type"] = "application/json"
        return self.transport.send(
            Request(
                method=endpoint.method,
                url=self.settings.environment.api_url + path,
                timeout=timeout,
                headers=headers,
                params=params,
                json=body,
            )
        )

    def _decode(self, endpoint: Endpoint, response: Response) -> Any:
        error = error_for(response, endpoint.operation)
        if error is not None:
            raise error
        if not response.body.strip() and endpoint.empty_ok:
            return {}
        if endpoint.download:
            return r.csv_rows(response.body, endpoint.operation)
        try:
            data = json.loads(response.body)
        except ValueError:
            raise MalformedResponse(
                "the answer is not JSON", http_status=response.status, operation=endpoint.operation
            ) from None
        if not isinstance(data, dict):
            raise MalformedResponse(
                "the answer is not a JSON object",
                http_status=response.status,
                operation=endpoint.operation,
            )
        return data

    @staticmethod
    def _settled(error: GatewayError, endpoint: Endpoint, maybe_applied: bool) -> GatewayError:
        """The error a failed call raises, its outcome fixed: what this failure means for this
        endpoint, and unknown if an earlier attempt of a state-changing call may have arrived."""
        error.operation = endpoint.operation
        outcome = error.outcome_of_call(changes_state=endpoint.changes_state)
        if maybe_applied and outcome is Outcome.NOT_SENT:
            outcome = Outcome.UNKNOWN
        error.outcome = outcome
        return error

    def _call(
        self,
        endpoint: Endpoint,
        *,
        actor: Actor,
        parse: Callable[[Any], T],
        participant_id: str = "",
        path: str | None = None,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str = "",
        ids: Callable[[T], Mapping[str, str]] | None = None,
    ) -> T:
        if endpoint.participant and not participant_id:
            raise ValueError(f"{endpoint.operation} needs the participant_id it is made for")
        assert_outside_transaction()
        policy = self.policy
        context = self._context(
            actor, participant_id if endpoint.participant else "", idempotency_key
        )
        attempt = 0
        failures = 0
        renewed = False
        maybe_applied = False  # an earlier attempt of a state-changing call may have arrived
        while True:
            try:
                self.limiter.acquire(endpoint.family, max_wait=policy.max_wait)
                token = self.tokens.token(context=context, recorder=self.recorder, policy=policy)
            except GatewayError as exc:  # nothing was sent on this attempt
                raise self._settled(exc, endpoint, maybe_applied) from None
            attempt += 1
            started = timezone.now()
            tick = time.perf_counter()
            response: Response | None = None
            try:
                response = self._send(
                    endpoint, token, participant_id, path or endpoint.path, params, body
                )
                result = parse(self._decode(endpoint, response))
            except GatewayError as exc:
                error = exc
                error.operation = endpoint.operation
            else:
                exchange_ids = {k: v for k, v in (ids(result) if ids else {}).items() if v}
                self._record(
                    endpoint, context, started, tick, attempt, response, None, exchange_ids
                )
                return result
            self._record(endpoint, context, started, tick, attempt, response, error, {})
            maybe_applied = maybe_applied or (
                error.outcome_of_call(changes_state=endpoint.changes_state) is Outcome.UNKNOWN
            )

            if isinstance(error, Unauthenticated) and not renewed:
                # The token was refused before anything was done: renew once, send once more.
                renewed = True
                try:
                    self.tokens.renew_after_rejection(
                        token, context=context, recorder=self.recorder, policy=policy
                    )
                except GatewayError as exc:
                    raise self._settled(exc, endpoint, maybe_applied) from None
                continue
            failures += 1
            if (
                not (error.retryable and endpoint.retry_safe)
                or not policy.backoff
                or failures >= policy.max_attempts
            ):
                raise self._settled(error, endpoint, maybe_applied)
            delay = backoff_delay(
                failures, base=self.settings.backoff_base, cap=self.settings.backoff_cap
            )
            if isinstance(error, RateLimited) and error.retry_after is not None:
                delay = error.retry_after
            if delay > policy.max_wait:
                raise self._settled(error, endpoint, maybe_applied)
            self._sleep(delay)

    def _record(
        self,
        endpoint: Endpoint,
        context: CallContext,
        started: dt.datetime,
        tick: float,
        attempt: int,
        response: Response | None,
        error: GatewayError | None,
        exchange_ids: dict[str, str],
    ) -> None:
        self.recorder.record(
            CallAttempt(
                started_at=started,
                environment=self.settings.environment.name,
                operation=endpoint.operation,
                method=endpoint.method,
                endpoint=endpoint.path,
                attempt=attempt,
                http_status=response.status if response is not None else None,
                outcome="ok" if error is None else error.__class__.__name__,
                error_code="" if error is None else error.code,
                latency_ms=round((time.perf_counter() - tick) * 1000),
                context=context,
                exchange_ids=exchange_ids,
            )
        )

    def _paged(
        self,
        endpoint: Endpoint,
        *,
        actor: Actor,
        query: Mapping[str, Any],
        convert: Callable[[Fields], list[T]],
        participant_id: str = "",
        page_token: str = "",
    ) -> Pages[T]:
        """The pages of a cursor-paged read: `query` goes in the query string of a GET and in the
        body of a POST, with each page's token; `convert` turns one page's answer into items."""

        def fetch(token: str) -> tuple[list[T], str, bool]:
            values = _compact({**query, "pageToken": token})
            page = self._call(
                endpoint,
                actor=actor,
                participant_id=participant_id,
                params=values if endpoint.method == "GET" else None,
                body=values if endpoint.method != "GET" else None,
                parse=lambda data: Fields(data, endpoint.operation),
            )
            return convert(page), page.text("nextPageToken"), page.flag("eof")

        return Pages(fetch, start_token=page_token)

    # --- instrument scales --------------------------------------------------------------------

    def _ensure_scales(self, symbols: Iterable[str], actor: Actor) -> None:
        missing = self.scales.missing(symbols)
        if missing:
            for _instrument in self.instruments(symbols=missing, actor=actor).items():
                pass  # instruments() files each instrument's scales in the book

    def _scale_of(self, symbol: str) -> Scales:
        scales = self.scales.get(symbol)
        if scales is None:
            raise NotFound(f"reference data has no instrument {symbol!r}", operation="refdata")
        return scales

    def scales_for(self, symbol: str, *, actor: Actor) -> Scales:
        """An instrument's scales, from the cache or reference data."""
        self._ensure_scales([symbol], actor)
        return self._scale_of(symbol)

    # --- 5.1 identity and accounts ------------------------------------------------------------

    def whoami(self, *, actor: Actor) -> r.WhoAmI:
        return self._call(WHOAMI, actor=actor, parse=r.parse_whoami)

    def users(self, *, participant_id: str, actor: Actor) -> list[r.ParticipantUser]:
        return self._call(USERS, actor=actor, participant_id=participant_id, parse=r.parse_users)

    def accounts(self, *, actor: Actor, user: str = "") -> list[r.TradingAccount]:
        return self._call(
            ACCOUNTS, actor=actor, params=_compact({"user": user}), parse=r.parse_accounts
        )

    # --- 5.2 KYC ------------------------------------------------------------------------------

    @staticmethod
    def _kyc_ids(status: r.KycEvaluation) -> dict[str, str]:
        return {
            "participant_id": status.participant_id,
            "provisioned_account": status.provisioned_account,
        }

    def kyc_start(self, *, application: KycApplication, actor: Actor) -> r.KycEvaluation:
        """Submit a participant's KYC. Never retried automatically: after a failure whose outcome
        is unknown, read kyc_status(external_id) before submitting again."""
        return self._call(
            KYC_START,
            actor=actor,
            body=application.to_json(),
            parse=r.parse_kyc_evaluation,
            ids=self._kyc_ids,
        )

    def kyc_status(self, *, external_id: str, actor: Actor) -> r.KycEvaluation:
        return self._call(
            KYC_STATUS,
            actor=actor,
            params={"external_id": external_id},
            parse=r.parse_kyc_evaluation,
            ids=self._kyc_ids,
        )

    def kyc_register_webhook(
        self, *, webhook_url: str, actor: Actor, signing_secret: str = ""
    ) -> r.WebhookRegistration:
        body = _compact({"webhook_url": webhook_url, "signing_secret": signing_secret})
        return self._call(KYC_WEBHOOK, actor=actor, body=body, parse=r.parse_webhook_registration)

    # --- 5.3.1 partner funding (Connect JSON; firm-scoped, never x-participant-id) -------------

    @staticmethod
    def _movement_ids(movement: r.CashMovement) -> dict[str, str]:
        return {
            "workflow_id": movement.workflow_id,
            "dco_transfer_id": movement.dco_transfer_id,
            "source_account_id": movement.source_account_id,
            "destination_account_id": movement.destination_account_id,
        }

    def create_cash_movement(
        self,
        *,
        idempotency_key: str,
        reason: str,
        participant_account_id: str,
        amount: Decimal,
        external_reference: str,
        actor: Actor,
        currency: str = "USD",
        memo: str = "",
    ) -> r.CashMovement:
        """Create (or, with the same key, replay) a transfer. Every retry reuses the key, so a
        transfer is created at most once; an AMBIGUOUS or PENDING result is replayed the same way."""
        if not idempotency_key:
            raise ValueError("a cash movement needs its durable idempotency key")
        full_reason = (
            reason if reason.startswith("TRANSFER_REASON_") else f"TRANSFER_REASON_{reason}"
        )
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise ValueError("amount must be a positive Decimal")
        transfer = {
            "reason": full_reason,
            "participantAccountId": participant_account_id,
            "amount": format(amount, "f"),
            "currency": currency,
            "externalReference": external_reference,
        }
        if memo:
            transfer["memo"] = memo
        return self._call(
            CREATE_CASH_MOVEMENT,
            actor=actor,
            body={"idempotencyKey": idempotency_key, "transfer": transfer},
            idempotency_key=idempotency_key,
            parse=r.parse_cash_movement,
            ids=self._movement_ids,
        )

    def get_cash_movement(self, *, workflow_id: str, actor: Actor) -> r.CashMovement:
        return self._call(
            GET_CASH_MOVEMENT,
            actor=actor,
            body={"workflowId": workflow_id},
            parse=r.parse_cash_movement,
            ids=self._movement_ids,
        )

    def funding_account_balance(
        self, *, actor: Actor, currency: str = "USD"
    ) -> r.FundingAccountBalance:
        return self._call(
            FUNDING_ACCOUNT_BALANCE,
            actor=actor,
            body={"currency": currency},
            parse=r.parse_funding_account_balance,
            ids=lambda b: {"funding_account_id": b.funding_account_id},
        )

    # --- 5.5.1 partner order entry (Connect JSON) ---------------------------------------------

    def create_vendor_order(
        self,
        *,
        idempotency_key: str,
        order: VendorOrder,
        vendor_fee: Decimal,
        actor: Actor,
        currency: str = "USD",
    ) -> r.VendorOrderResult:
        """Place a fill-or-kill limit order with a declared vendor fee. Retries (and a PENDING
        result, replayed by the caller) reuse the same key and clord_id."""
        if not idempotency_key:
            raise ValueError("a vendor order needs its durable idempotency key")
        if (order.quantity is None) == (order.cash_amount is None):
            raise ValueError("set exactly one of quantity and cash_amount")
        scales = self.scales_for(order.symbol, actor=actor)
        fields: dict[str, Any] = {
            "type": "ORDER_TYPE_LIMIT",
            "side": order.side,
            "symbol": order.symbol,
            "price": str(_fixed_point(order.price, scales.price_scale, "price")),
            "timeInForce": "TIME_IN_FORCE_FILL_OR_KILL",
            "clordId": order.clord_id,
            "account": order.account,
            "manualOrderIndicator": "MANUAL_ORDER_INDICATOR_MANUAL"
            if order.manual
            else "MANUAL_ORDER_INDICATOR_AUTOMATED",
        }
        if order.quantity is not None:
            fields["orderQty"] = str(_fixed_point(order.quantity, scales.qty_scale, "quantity"))
        else:
            assert order.cash_amount is not None
            fields["cashOrderQty"] = str(
                _fixed_point(order.cash_amount, scales.price_scale, "cash amount")
            )
        body = {
            "order": fields,
            "vendorFee": {"value": format(vendor_fee, "f"), "currency": currency},
            "idempotencyKey": idempotency_key,
        }
        return self._call(
            CREATE_VENDOR_ORDER,
            actor=actor,
            body=body,
            idempotency_key=idempotency_key,
            parse=r.parse_vendor_order,
            ids=lambda v: {
                "funding_request_id": v.funding_request_id,
                "order_id": v.order_id,
                "request_id": v.request_id,
                "account": order.account,
            },
        )

    # --- 5.4 balances and positions -----------------------------------------------------------

    def balance(
        self, *, participant_id: str, account: str, actor: Actor, currency: str = "USD"
    ) -> r.AccountBalance:
        return self._call(
            BALANCE,
            actor=actor,
            participant_id=participant_id,
            body={"name": account, "currency": currency},
            parse=lambda data: r.parse_account_balance(data, currency=currency),
        )

    def balances(
        self, *, participant_id: str, account: str, actor: Actor
    ) -> dict[str, r.AccountBalance]:
        return self._call(
            BALANCES,
            actor=actor,
            participant_id=participant_id,
            body={"name": account},
            parse=r.parse_account_balances,
        )

    def positions(
        self,
        *,
        participant_id: str,
        account: str,
        actor: Actor,
        symbol: str = "",
        as_of_time: dt.datetime | None = None,
        active_only: bool = False,
        non_zero_only: bool = False,
        page_size: int | None = None,
        page_token: str = "",
    ) -> Pages[r.Position]:
        def convert(page: Fields) -> list[r.Position]:
            rows = page.array("positions")
            available = page.array("availablePosition")
            self._ensure_scales((Fields(row, "position").text("symbol") for row in rows), actor)
            return [
                r.parse_position(row, available[i] if i < len(available) else None, self._scale_of)
                for i, row in enumerate(rows)
            ]

        query = {
            "name": account,
            "symbol": symbol,
            "asOfTime": _timestamp(as_of_time),
            "activeOnly": "true" if active_only else None,
            "nonZeroOnly": "true" if non_zero_only else None,
            "pageSize": _page_size(page_size),
        }
        return self._paged(
            POSITIONS,
            actor=actor,
            participant_id=participant_id,
            query=query,
            convert=convert,
            page_token=page_token,
        )

    # --- 5.3.3 / 5.4 ledgers ------------------------------------------------------------------

    def balance_ledger(
        self,
        *,
        participant_id: str,
        account: str,
        actor: Actor,
        currency: str = "",
        start_time: dt.datetime | None = None,
        end_time: dt.datetime | None = None,
        entry_types: Iterable[str] = (),
        symbol: str = "",
        newest_first: bool = False,
        page_size: int = MAX_PAGE_SIZE,
        page_token: str = "",
    ) -> Pages[r.BalanceLedgerEntry]:
        query = {
            "account": account,
            "currency": currency,
            "startTime": _timestamp(start_time),
            "endTime": _timestamp(end_time),
            "entryTypes": [r.ledger_entry_type(t) for t in entry_types],
            "symbol": symbol,
            "newestFirst": "true" if newest_first else None,
            "pageSize": _page_size(page_size),
        }
        return self._paged(
            BALANCE_LEDGER,
            actor=actor,
            participant_id=participant_id,
            query=query,
            convert=lambda page: [r.parse_balance_ledger_entry(e) for e in page.array("entries")],
            page_token=page_token,
        )

    def position_ledger(
        self,
        *,
        participant_id: str,
        account: str,
        actor: Actor,
        symbol: str = "",
        start_time: dt.datetime | None = None,
        end_time: dt.datetime | None = None,
        newest_first: bool = False,
        page_size: int = MAX_PAGE_SIZE,
        page_token: str = "",
    ) -> Pages[r.PositionLedgerEntry]:
        def convert(page: Fields) -> list[r.PositionLedgerEntry]:
            rows = page.array("entries")
            self._ensure_scales((Fields(e, "entry").text("symbol") for e in rows), actor)
            return [r.parse_position_ledger_entry(e, self._scale_of) for e in rows]

        query = {
            "account": account,
            "symbol": symbol,
            "startTime": _timestamp(start_time),
            "endTime": _timestamp(end_time),
            "newestFirst": "true" if newest_first else None,
            "pageSize": _page_size(page_size),
        }
        return self._paged(
            POSITION_LEDGER,
            actor=actor,
            participant_id=participant_id,
            query=query,
            convert=convert,
            page_token=page_token,
        )

    # --- 5.7 reference data and settlement ----------------------------------------------------

    def instruments(
        self,
        *,
        actor: Actor,
        symbols: Iterable[str] = (),
        states: Iterable[str] = (),
        event_series: str = "",
        page_size: int | None = None,
        page_token: str = "",
    ) -> Pages[r.Instrument]:
        """Instruments matching the filters; each one's scales are cached for later conversions."""

        def convert(page: Fields) -> list[r.Instrument]:
            found = [r.parse_instrument(i) for i in page.array("instruments")]
            for instrument in found:
                self.scales.put(instrument.symbol, instrument.scales)
            return found

        query = {
            "symbols": list(symbols),
            "states": list(states),
            "eventSeries": event_series,
            "pageSize": _page_size(page_size),
        }
        return self._paged(
            INSTRUMENTS, actor=actor, query=query, convert=convert, page_token=page_token
        )

    def settlement(self, *, symbol: str, actor: Actor) -> r.Settlement:
        if not symbol or symbol[0] in "/!" or "/" in symbol:
            raise ValueError(f"not an instrument symbol: {symbol!r}")
        return self._call(
            SETTLEMENT,
            actor=actor,
            path=f"/v1/instruments/{symbol}/settlement",
            parse=r.parse_settlement,
        )

    # --- 5.5 / 5.6 orders, executions, trades -------------------------------------------------

    def _orders_of(self, rows: list[Any], actor: Actor) -> list[r.Order]:
        unscaled = (
            Fields(o, "order").text("symbol")
            for o in rows
            if Fields(o, "order").integer("priceScale") <= 0
        )
        self._ensure_scales(unscaled, actor)
        return [r.parse_order(o, self._scale_of) for o in rows]

    def search_orders(
        self,
        *,
        participant_id: str,
        actor: Actor,
        accounts: Iterable[str] = (),
        symbol: str = "",
        order_id: str = "",
        clord_id: str = "",
        state_filter: str = "",
        start_time: dt.datetime | None = None,
        end_time: dt.datetime | None = None,
        page_size: int | None = None,
        page_token: str = "",
    ) -> Pages[r.Order]:
        query = {
            "accounts": list(accounts),
            "symbol": symbol,
            "orderId": order_id,
            "clordId": clord_id,
            "orderStateFilter": state_filter,
            "startTime": _timestamp(start_time),
            "endTime": _timestamp(end_time),
            "pageSize": _page_size(page_size),
        }
        return self._paged(
            SEARCH_ORDERS,
            actor=actor,
            participant_id=participant_id,
            query=query,
            convert=lambda page: self._orders_of(page.array("order"), actor),
            page_token=page_token,
        )

    def _executions_of(self, rows: list[Any], actor: Actor) -> list[r.Execution]:
        orders = [Fields(e, "execution").raw("order") for e in rows]
        self._ensure_scales(
            (
                Fields(o, "order").text("symbol")
                for o in orders
                if o is not None and Fields(o, "order").integer("priceScale") <= 0
            ),
            actor,
        )
        return [r.parse_execution(e, self._scale_of) for e in rows]

    def search_executions(
        self,
        *,
        participant_id: str,
        actor: Actor,
        accounts: Iterable[str] = (),
        symbol: str = "",
        order_id: str = "",
        types: Iterable[str] = (),
        start_time: dt.datetime | None = None,
        end_time: dt.datetime | None = None,
        newest_first: bool = False,
        page_size: int | None = None,
        page_token: str = "",
    ) -> Pages[r.Execution]:
        query = {
            "accounts": list(accounts),
            "symbol": symbol,
            "orderId": order_id,
            "types": list(types),
            "startTime": _timestamp(start_time),
            "endTime": _timestamp(end_time),
            "newestFirst": newest_first,
            "pageSize": _page_size(page_size),
        }
        return self._paged(
            SEARCH_EXECUTIONS,
            actor=actor,
            participant_id=participant_id,
            query=query,
            convert=lambda page: self._executions_of(page.array("executions"), actor),
            page_token=page_token,
        )

    def search_trades(
        self,
        *,
        participant_id: str,
        actor: Actor,
        accounts: Iterable[str] = (),
        symbol: str = "",
        order_id: str = "",
        trade_id: str = "",
        states: Iterable[str] = (),
        start_time: dt.datetime | None = None,
        end_time: dt.datetime | None = None,
        page_size: int | None = None,
        page_token: str = "",
    ) -> Pages[r.Trade]:
        def convert(page: Fields) -> list[r.Trade]:
            rows = page.array("trade")
            legs = [Fields(t, "trade").raw(side) for t in rows for side in ("aggressor", "passive")]
            self._executions_of([leg for leg in legs if leg is not None], actor)  # fills the scales
            return [r.parse_trade(t, self._scale_of) for t in rows]

        query = {
            "accounts": list(accounts),
            "symbol": symbol,
            "orderId": order_id,
            "tradeId": trade_id,
            "states": list(states),
            "startTime": _timestamp(start_time),
            "endTime": _timestamp(end_time),
            "pageSize": _page_size(page_size),
        }
        return self._paged(
            SEARCH_TRADES,
            actor=actor,
            participant_id=participant_id,
            query=query,
            convert=convert,
            page_token=page_token,
        )

    def open_orders(
        self,
        *,
        participant_id: str,
        actor: Actor,
        accounts: Iterable[str] = (),
        symbols: Iterable[str] = (),
    ) -> list[r.Order]:
        params = _compact({"accounts": list(accounts), "symbols": list(symbols)})
        page = self._call(
            OPEN_ORDERS,
            actor=actor,
            participant_id=participant_id,
            params=params,
            parse=lambda d: Fields(d, "open_orders"),
        )
        return self._orders_of(page.array("orders"), actor)

    def cancel_order(
        self,
        *,
        participant_id: str,
        actor: Actor,
        order_id: str = "",
        clord_id: str = "",
        symbol: str = "",
    ) -> None:
        """Ask the exchange to cancel a resting order. Not retried: on a transient error, read
        open_orders() to learn whether it is still resting before asking again."""
        if not (order_id or clord_id):
            raise ValueError("cancel needs the order_id or the clord_id")
        self._call(
            CANCEL_ORDER,
            actor=actor,
            participant_id=participant_id,
            body=_compact({"orderId": order_id, "clordId": clord_id, "symbol": symbol}),
            parse=lambda _data: None,
            ids=lambda _none: {"order_id": order_id, "clord_id": clord_id},
        )

    # --- 5.6 report downloads (firm-wide) -----------------------------------------------------

    def _download(
        self,
        endpoint: Endpoint,
        *,
        actor: Actor,
        start_time: dt.datetime,
        end_time: dt.datetime,
        accounts: Iterable[str],
    ) -> list[dict[str, str]]:
        body = _compact(
            {
                "startTime": _timestamp(start_time),
                "endTime": _timestamp(end_time),
                "accounts": list(accounts),
            }
        )
        rows: list[dict[str, str]] = self._call(endpoint, actor=actor, body=body, parse=list)
        return rows

    def download_orders(
        self,
        *,
        actor: Actor,
        start_time: dt.datetime,
        end_time: dt.datetime,
        accounts: Iterable[str] = (),
    ) -> list[r.Order]:
        """Orders inserted in [start_time, end_time] on the firm's accounts (or `accounts`)."""
        rows = self._download(
            DOWNLOAD_ORDERS,
            actor=actor,
            start_time=start_time,
            end_time=end_time,
            accounts=accounts,
        )
        return self._orders_of(rows, actor)

    def download_executions(
        self,
        *,
        actor: Actor,
        start_time: dt.datetime,
        end_time: dt.datetime,
        accounts: Iterable[str] = (),
        scales: ScaleLookup | None = None,
    ) -> list[r.DownloadedExecution]:
        """Executions in [start_time, end_time] on the firm's accounts (or `accounts`); the file
        carries no scales, so each symbol's come from `scales` (default: reference data)."""
        rows = self._download(
            DOWNLOAD_EXECUTIONS,
            actor=actor,
            start_time=start_time,
            end_time=end_time,
            accounts=accounts,
        )
        if scales is None:
            self._ensure_scales((row.get("symbol", "") for row in rows), actor)
            scales = self._scale_of
        return [r.parse_downloaded_execution(row, scales) for row in rows]

    def statement(
        self, *, accounts: Sequence[str], as_of_time: dt.datetime, actor: Actor
    ) -> list[r.AccountStatement]:
        """The valuations statement of `accounts` at `as_of_time`: one line per account."""
        rows: list[dict[str, str]] = self._call(
            STATEMENT,
            actor=actor,
            body={"names": list(accounts), "asOfTime": _timestamp(as_of_time)},
            parse=list,
        )
        return [r.parse_account_statement(row) for row in rows]


# --- the process's gateway ------------------------------------------------------------------------

_lock = threading.Lock()
_default: Gateway | None = None


def process_gateway() -> Gateway:
    """The process-wide client, built from settings on first use (GatewayNotConfigured if they
    are incomplete: the web app starts without them, the first exchange call fails loudly)."""
    global _default
    gateway = _default
    if gateway is not None:
        return gateway
    with _lock:
        if _default is None:
            settings = load_settings()
            # The exchange's limits are the firm's: every process paces against one schedule.
            _default = Gateway(
                settings=settings,
                transport=RequestsTransport(verify=settings.tls_verify),
                limiter=SharedRateLimiter(scope=settings.client_id, enabled=settings.rate_limits),
            )
        return _default


def get_gateway() -> Gateway:
    """The process's client under the policy of whoever is waiting: a staff request fails fast,
    a command or job is patient."""
    gateway = process_gateway()
    current = request_context.current()
    if current is not None and current.interactive:
        return gateway.using(policy=gateway.settings.staff)
    return gateway


def longest_write_seconds() -> float:
    """How long a write made now can take at most, under the policy of whoever is waiting: once a
    send is older than this, the process that made it died before it could record the answer."""
    try:
        gateway = get_gateway()
    except GatewayNotConfigured:
        return 0.0  # the write will fail at once, naming the missing setting
    return gateway.settings.longest_write(gateway.policy)


def reset_gateway() -> None:
    """Forget the process's client (its token and session); the next call builds a new one."""
    global _default
    with _lock:
        _default = None


@receiver(setting_changed)
def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting.startswith("POLYMARKET_"):
        reset_gateway()
