"""The HTTP seam: one pooled `requests.Session` per process behind a small interface.

Everything the gateway sends goes through `Transport.send`, so tests can put a fake exchange at
this seam, and the session's hardening lives in one place: `trust_env` off (no proxy or netrc
from the environment), redirects never followed, a timeout on every call, connections pooled.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from backoffice.gateway.errors import ConnectionFailed, Timeout, TlsFailed

USER_AGENT = "polymarket-backoffice-gateway/1"


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    timeout: tuple[float, float]
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] | None = None
    json: Any = None


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class Transport(Protocol):
    def send(self, request: Request) -> Response:
        """Send one request; raise Timeout or ConnectionFailed when no complete answer came,
        saying whether the request reached the exchange, or TlsFailed when the handshake did."""
        ...


def build_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class RequestsTransport:
    """The production transport: the process's one session (rebuilt in a forked child).

    `verify` is True (the system's certificate authorities) or a CA bundle's path; never False.
    """

    def __init__(
        self, session: requests.Session | None = None, *, verify: bool | str = True
    ) -> None:
        self._session = session
        self._verify = verify
        self._pid = os.getpid()
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        with self._lock:
            if self._session is None or self._pid != os.getpid():
                self._session = build_session()
                self._pid = os.getpid()
            return self._session

    def send(self, request: Request) -> Response:
        try:
            response = self.session.request(
                request.method,
                request.url,
                headers=dict(request.headers),
                params=request.params,
                json=request.json,
                timeout=request.timeout,
                allow_redirects=False,
                verify=self._verify,
            )
            body = response.content
        except requests.exceptions.ConnectTimeout as exc:
            raise Timeout(_reason(exc), reached=False) from None
        except requests.Timeout as exc:
            raise Timeout(_reason(exc), reached=True) from None
        except requests.exceptions.SSLError as exc:
            raise TlsFailed(_reason(exc)) from None
        except requests.RequestException as exc:
            raise ConnectionFailed(_reason(exc), reached=_reached(exc)) from None
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Response(status=response.status_code, headers=headers, body=body)


def _reached(exc: requests.RequestException) -> bool:
    """Whether the request may have reached the server. A connection that was never made (refused,
    no route, no such host) sent nothing; a reset or a cut-off answer came after the request was
    written, so the server may have acted on it."""
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, MaxRetryError):
        inner = inner.reason
    return not isinstance(inner, NewConnectionError)


def _reason(exc: Exception) -> str:
    """A short reason without the URL's query string (which could carry an external id)."""
    text = exc.__class__.__name__
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    if reason is not None:
        text = f"{text}: {reason.__class__.__name__}"
    return text
