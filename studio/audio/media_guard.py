"""Which provider media URLs the worker may download from.

Provider answers carry URLs; a hostile or broken answer must not make the worker read
internal services. Allowed: the provider's own configured host (the emulator, a proxy), or
any https host whose every address is public. Decided before any connection is opened.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class MediaURLRefused(Exception):
    pass


def _host_port(url: str) -> tuple[str, int | None, str]:
    parts = urlsplit(url)
    return (parts.hostname or "").lower(), parts.port, parts.scheme.lower()


def check_media_url(url: str, *, provider_base_url: str, resolve=socket.getaddrinfo) -> None:
    """Raise MediaURLRefused unless the worker may fetch `url`."""
    host, port, scheme = _host_port(url)
    if scheme not in ("http", "https") or not host:
        raise MediaURLRefused(f"not a web address: {scheme or 'no scheme'}")
    base_host, base_port, base_scheme = _host_port(provider_base_url)
    if host == base_host and port == base_port and scheme == base_scheme:
        return  # the configured provider endpoint itself
    if scheme != "https":
        raise MediaURLRefused("media must be served over https")
    try:
        infos = resolve(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise MediaURLRefused(f"cannot resolve {host}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise MediaURLRefused(f"{host} points at a private address")
