"""The seam for the partner-only services (CashMovementService, OrderFundingService).

The documentation calls them gRPC-only, yet shows their Connect JSON form; the gateway speaks
Connect's unary JSON protocol (POST /<package>.<Service>/<Method>, camelCase JSON, errors as
`{"code": "invalid_argument", "message": ...}`) over the same pooled session as REST. Should the
real services prove to be gRPC-only, a channel speaking gRPC replaces ConnectJsonChannel here and
nothing else changes (API.md 8 #2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from backoffice.gateway.transport import Request, Response, Transport

CASH_MOVEMENT_SERVICE = "polymarket.us.cashmovement.v1.CashMovementService"
ORDER_FUNDING_SERVICE = "polymarket.us.orderfunding.v1.OrderFundingService"


def rpc_path(service: str, method: str) -> str:
    return f"/{service}/{method}"


class RpcChannel(Protocol):
    def unary(
        self,
        *,
        service: str,
        method: str,
        message: Mapping[str, Any],
        headers: Mapping[str, str],
        timeout: tuple[float, float],
    ) -> Response:
        """One unary call; the answer in HTTP terms (status, headers, JSON body)."""
        ...


class ConnectJsonChannel:
    def __init__(self, transport: Transport, base_url: str) -> None:
        self._transport = transport
        self._base_url = base_url.rstrip("/")

    def unary(
        self,
        *,
        service: str,
        method: str,
        message: Mapping[str, Any],
        headers: Mapping[str, str],
        timeout: tuple[float, float],
    ) -> Response:
        return self._transport.send(
            Request(
                method="POST",
                url=self._base_url + rpc_path(service, method),
                timeout=timeout,
                headers={
                    **headers,
                    "Content-Type": "application/json",
                    "Connect-Protocol-Version": "1",
                },
                json=dict(message),
            )
        )
