"""Serve an Emulator over HTTP on loopback, in a background thread (tests, the embedded demo) or the foreground."""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .app import Emulator


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # socketserver's 5 resets connections when a studio's workers all call at once

    def handle_error(self, request, client_address) -> None:
        # Clients that hang up mid-answer (a cancelled download) are routine, not worth a traceback.
        pass


@dataclass
class RunningEmulator:
    base_url: str  # e.g. "http://127.0.0.1:43123"; Pixazo lives at base_url + "/pixazo"
    emulator: Emulator
    _server: WSGIServer
    _thread: threading.Thread

    def url(self, provider: str) -> str:
        return f"{self.base_url}/{provider}"

    def stop(self) -> None:
        self.emulator.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_emulator(host: str = "127.0.0.1", port: int = 0, **config: Any) -> RunningEmulator:
    """Start serving a new Emulator(**config); port 0 picks a free port (read it from .base_url)."""
    if not is_loopback_host(host):
        raise ValueError(f"the emulator listens on loopback only, not {host!r}")
    emulator = Emulator(**config)
    server_class = _ThreadingWSGIServer
    if ":" in host:
        server_class = type("_ThreadingWSGIServerV6", (_ThreadingWSGIServer,), {"address_family": socket.AF_INET6})
    server = make_server(host, port, emulator, server_class=server_class, handler_class=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator-server", daemon=True
    )
    thread.start()
    url_host = f"[{host}]" if ":" in host else host
    return RunningEmulator(f"http://{url_host}:{server.server_port}", emulator, server, thread)
