"""A partner's view of the sandbox, built only from the docs: plain requests and pyjwt."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CASH = "/polymarket.us.cashmovement.v1.CashMovementService"
VENDOR = "/polymarket.us.orderfunding.v1.OrderFundingService/CreateVendorOrder"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def assertion(key: rsa.RSAPrivateKey, client_id: str, audience: str, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key, algorithm="RS256")


@dataclass
class Partner:
    """One registered firm: its key, client id and a session speaking the documented API."""

    base: str
    firm_id: str
    client_id: str
    key: rsa.RSAPrivateKey
    session: requests.Session = field(default_factory=requests.Session)
    _token: str = ""

    @property
    def token_url(self) -> str:
        return f"{self.base}/oauth/token"

    def token_request(self, body: dict[str, Any] | None = None, **claims: Any) -> requests.Response:
        payload = body or {
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(self.key, self.client_id, self.token_url, **claims),
            "audience": self.base,
            "grant_type": "client_credentials",
        }
        return self.session.post(self.token_url, json=payload, timeout=10)

    @property
    def token(self) -> str:
        if not self._token:
            response = self.token_request()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def headers(self, pid: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if pid:
            headers["x-participant-id"] = pid
        return headers

    def get(self, path: str, pid: str | None = None, **params: Any) -> requests.Response:
        return self.session.get(
            self.base + path, headers=self.headers(pid), params=params, timeout=10
        )

    def post(self, path: str, body: Any = None, pid: str | None = None) -> requests.Response:
        return self.session.post(
            self.base + path, headers=self.headers(pid), json=body or {}, timeout=10
        )

    def admin(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        return self.session.request(
            method, self.base + "/_sandbox" + path, json=body, params=params, timeout=10
        )

    def tick(self) -> None:
        assert self.admin("POST", "/tick").status_code == 200

    # ---- flows ----

    def kyc_body(self, external_id: str, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "external_id": external_id,
            "ssn": "123456789",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "date_of_birth": "1990-01-15",
            "email": f"{external_id}@example.com",
            "phone_number": "+12125551234",
            "address": {
                "address_line_1": "1 Main St",
                "city": "New York",
                "state": "NY",
                "postal_code": "10001",
                "country": "US",
            },
            "agreement": {"version": "PMX.ISV.SANDBOX.v1.0", "signed_at": "2026-05-01T12:00:00Z"},
            "ip_address": "203.0.113.7",
        }
        body.update(changes)
        return body

    def onboard(self, external_id: str | None = None) -> tuple[str, str]:
        """KYC-approve a participant; returns (participantId, provisionedAccount)."""
        external_id = external_id or "user-" + uuid.uuid4().hex[:10]
        response = self.post("/v1/kyc/start", self.kyc_body(external_id))
        assert response.status_code == 200, response.text
        self.tick()
        status = self.get("/v1/kyc/status", external_id=external_id).json()
        assert status["status"]["status"] == "CLOSED", status
        return status["participantId"], status["provisionedAccount"]

    def deposit(self, account: str, amount: str, key: str | None = None) -> dict[str, Any]:
        key = key or str(uuid.uuid4())
        response = self.post(
            f"{CASH}/CreateCashMovement",
            {
                "idempotencyKey": key,
                "transfer": {
                    "reason": "TRANSFER_REASON_DEPOSIT",
                    "participantAccountId": account,
                    "amount": amount,
                    "currency": "USD",
                    "externalReference": "wallet-" + key[:8],
                },
            },
        )
        assert response.status_code == 200, response.text
        return dict(response.json()["cashMovement"])


def register_partner(base: str, firm_id: str | None = None, **extra: Any) -> Partner:
    firm_id = firm_id or "Firm" + uuid.uuid4().hex[:6]
    key = new_key()
    client_id = "client-" + uuid.uuid4().hex[:12]
    body = {"firmId": firm_id, "clientId": client_id, "publicKeys": [public_pem(key)], **extra}
    response = requests.post(f"{base}/_sandbox/firms", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return Partner(base=base, firm_id=firm_id, client_id=client_id, key=key)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """A loopback HTTP endpoint that records POSTs and answers with scripted statuses."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answered in order; 200 once exhausted
        self.event = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver.event:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.received.append(Received(dict(self.headers.items()), body))
                    receiver.event.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/kyc"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.event:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.event.wait(left)
            return list(self.received)

    def of_type(self, event_type: str) -> Iterator[Received]:
        return (r for r in list(self.received) if r.json()["event_type"] == event_type)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
