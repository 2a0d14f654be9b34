"""A client's address: the peer, or, behind a trusted proxy (``FORWARDED_ALLOW_IPS``), the nearest untrusted
``X-Forwarded-For`` entry. The gateway's rate limits and the staff console's login limiter both count by it."""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web


class TrustedProxies:
    """The proxies trusted to name the client (a comma-separated list of addresses or networks)."""

    def __init__(self, spec: str) -> None:
        self.networks = _networks(spec)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, peer: str | None) -> bool:
        """Whether the peer is a proxy trusted to speak for the client."""
        return bool(peer) and bool(self.networks) and _in(peer or "", self.networks)

    def client_ip(self, request: web.BaseRequest) -> str:
        """The peer address, or, when the peer is a trusted proxy, the nearest untrusted X-Forwarded-For entry."""
        peer = request.remote or "unknown"
        if not self.networks or not _in(peer, self.networks):
            return peer
        hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
        for hop in reversed(hops):
            if not _in(hop, self.networks):
                return hop[:64]
        return peer


def _networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]


def _in(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
