"""Where a request came from, judged only by what the configured SSO proxy vouches for."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def is_trusted_proxy(address: str | None) -> bool:
    """True when `address` is one of the SSO proxy's addresses (SSO_TRUSTED_PROXIES)."""
    parsed = _parse(address or "")
    if parsed is None:
        return False
    return any(parsed in network for network in _networks(tuple(settings.SSO_TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str | None:
    """The address of the person behind the request.

    X-Forwarded-For is believed only when the direct peer is a trusted proxy, and then only its
    right-most entry that is not itself a trusted proxy: entries further left were written by the
    client and can say anything.
    """
    peer = request.META.get("REMOTE_ADDR")
    if not is_trusted_proxy(peer):
        return peer if _parse(peer or "") else None
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed([hop for hop in forwarded if hop]):
        if _parse(hop) is None:
            break
        if not is_trusted_proxy(hop):
            return hop
    return peer
