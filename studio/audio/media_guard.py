"""Which provider media URLs the worker may download from, and at which address.

Provider answers carry URLs; a hostile or broken answer must not make the worker read
internal services. Allowed: the provider's own configured host (the emulator, a proxy), or
any https host whose every address is public. Decided before any connection is opened, and
the connection then goes to the address that was checked: a name that resolves differently
a moment later (DNS rebinding) cannot slip in a private address between check and connect.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (RFC 6052, RFC 8215)
# and the deprecated IPv4-compatible form. 6to4, Teredo and IPv4-mapped have their own readers.
_IPV4_IN_LAST_32_BITS = tuple(
    ipaddress.ip_network(prefix) for prefix in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96")
)


class MediaURLRefused(Exception):
    pass


@dataclass(frozen=True)
class CheckedURL:
    """Where to connect for a media URL. `address` is the checked IP to connect to, keeping
    `host` for the Host header and TLS (SNI and the certificate check); None for the
    configured provider endpoint, which is reached by its name."""

    url: str
    host: str
    address: str | None = None

    @property
    def connect_url(self) -> str:
        if self.address is None:
            return self.url
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        return parts._replace(netloc=netloc).geturl()

    @property
    def host_header(self) -> str:
        parts = urlsplit(self.url)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{parts.port}" if parts.port else host


def _split(url: str) -> tuple[SplitResult, str, int | None]:
    """The URL's parts, host and port; MediaURLRefused for what cannot be a web address
    (an out-of-range port, an unclosed IPv6 bracket: urlsplit raises ValueError on those)."""
    try:
        parts = urlsplit(url)
        return parts, (parts.hostname or "").lower(), parts.port
    except ValueError as exc:
        raise MediaURLRefused(f"not a valid web address ({exc})") from None


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, 6to4, Teredo, NAT64, compatible)."""
    found = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address.teredo:
        found.extend(address.teredo)
    if any(address in network for network in _IPV4_IN_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(is_public(inner) for inner in embedded_ipv4(address))
    return True


def check_media_url(url: str, *, provider_base_url: str, resolve=None) -> CheckedURL:
    """Where the worker may fetch `url`; MediaURLRefused unless it may at all."""
    parts, host, port = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host:
        raise MediaURLRefused(f"not a web address: {scheme or 'no scheme'}")
    base, base_host, base_port = _split(provider_base_url)
    if host == base_host and port == base_port and scheme == base.scheme.lower():
        return CheckedURL(url, host)  # the configured provider endpoint itself
    if scheme != "https":
        raise MediaURLRefused("media must be served over https")
    try:
        infos = (resolve or socket.getaddrinfo)(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise MediaURLRefused(f"cannot resolve {host}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise MediaURLRefused(f"cannot resolve {host}")
    if not all(is_public(address) for address in addresses):
        raise MediaURLRefused(f"{host} points at a private address")
    return CheckedURL(url, host, str(addresses[0]))
