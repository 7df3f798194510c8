"""A studio stand-in for emulator tests: a loopback server that records every callback it gets
(path, headers, raw body, JSON) and answers with queued status codes (200 once they run out)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class CallbackReceiver:
    def __init__(self, path: str) -> None:
        self.received: list[dict] = []
        self.answers: list[int] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._changed:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body, "json": json.loads(body)}
                    )
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}{path}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def wait_until(self, predicate: Callable[[list[dict]], bool], timeout: float = 3.0) -> list[dict]:
        """Every callback so far, once `predicate(received)` holds (or the timeout passed)."""
        with self._changed:
            self._changed.wait_for(lambda: predicate(self.received), timeout)
            return list(self.received)

    def wait_for(self, count: int, timeout: float = 3.0) -> list[dict]:
        return self.wait_until(lambda received: len(received) >= count, timeout)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def receiver_fixture(path: str):
    """A `receiver` fixture for a test module whose callbacks go to `path`."""

    @pytest.fixture
    def receiver():
        receiver = CallbackReceiver(path)
        yield receiver
        receiver.close()

    return receiver
