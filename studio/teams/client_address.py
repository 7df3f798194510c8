"""The address a request comes from, for sign-in throttling: the peer's, or behind trusted
proxies the one the nearest of them was called from.

Behind the documented TLS proxy every request's peer is the proxy, so throttling by the peer
would lock a username out for everyone at once. Each proxy appends the address it was called
from to X-Forwarded-For, so with TRUSTED_PROXY_COUNT proxies in front, the client is that many
entries from the right, counting the peer. What a client writes further left is its own claim
and never counts; nor does the header at all unless the peer is a trusted proxy
(FORWARDED_ALLOW_IPS, the same variable gunicorn reads)."""

from __future__ import annotations

import functools
import ipaddress

from django.conf import settings
from django.http import HttpRequest
from python_ipware import IpWare


@functools.cache
def _trusted_networks(allowed: tuple[str, ...]) -> tuple | None:
    """FORWARDED_ALLOW_IPS as networks; None stands for "*" (every peer is a proxy)."""
    if "*" in allowed:
        return None
    networks = []
    for entry in allowed:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            continue  # a host name or a typo trusts nothing
    return tuple(networks)


def is_trusted_proxy(peer: str) -> bool:
    networks = _trusted_networks(tuple(settings.FORWARDED_ALLOW_IPS))
    if networks is None:
        return True
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_address(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0 or not is_trusted_proxy(peer):
        return peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")] + [peer]
    # Only the entries the trusted proxies wrote: the client's, then one per proxy but the peer.
    written_by_proxies = ", ".join(hops[-(proxies + 1) :])
    reader = IpWare(precedence=("HTTP_X_FORWARDED_FOR",), leftmost=True, proxy_count=proxies)
    address, _ = reader.get_client_ip({"HTTP_X_FORWARDED_FOR": written_by_proxies}, strict=True)
    return str(address) if address is not None else peer
