"""Random fault injection, for fault-tolerance runs: each provider request may be answered
with a 429, a 500, a held answer (the client times out), a malformed body, an expired or
truncated media file; callbacks may be repeated or followed by a stale one.

Every rate is a probability (0 to 1) per eligible request; a seeded generator makes a run
repeatable. Every fault injected is counted by kind in the stats (`faults_injected`).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Callable

from .stats import Stats
from .wsgi import Request, Response, error_response

# (kind, the config key holding its rate)
API_FAULTS = (
    ("429", "fault_429_rate"),
    ("500", "fault_500_rate"),
    ("timeout", "fault_timeout_rate"),
    ("malformed", "fault_malformed_rate"),
)
MEDIA_FAULTS = (
    ("500", "fault_500_rate"),
    ("expired_media", "fault_expired_media_rate"),
    ("truncated_media", "fault_truncated_media_rate"),
)
CALLBACK_FAULTS = (
    ("duplicate_callback", "fault_duplicate_callback_rate"),
    ("out_of_order_callback", "fault_out_of_order_callback_rate"),
)
RATE_KEYS = frozenset(key for _, key in API_FAULTS + MEDIA_FAULTS + CALLBACK_FAULTS)


def is_media_request(request: Request) -> bool:
    return request.method in ("GET", "HEAD") and "/media/" in request.path


class FaultInjector:
    def __init__(self, stats: Stats, settings: Callable[[], dict]) -> None:
        self._stats = stats
        self._settings = settings
        self._lock = threading.Lock()
        self._rng: random.Random | None = None
        self._seed: int | None = None

    def _roll(self, choices: tuple[tuple[str, str], ...], config: dict) -> str | None:
        """One draw against the cumulative rates: at most one fault of `choices`."""
        if not any(config[key] for _, key in choices):
            return None
        with self._lock:
            if self._rng is None or self._seed != config["fault_seed"]:
                self._seed = config["fault_seed"]
                self._rng = random.Random(self._seed)
            draw = self._rng.random()
        cumulative = 0.0
        for kind, key in choices:
            cumulative += config[key]
            if draw < cumulative:
                self._stats.count("faults_injected", kind)
                return kind
        return None

    def around(self, request: Request, handle: Callable[[], Response]) -> Response:
        """Answer `request` through `handle`, unless a fault is drawn for it."""
        config = self._settings()
        if is_media_request(request):
            kind = self._roll(MEDIA_FAULTS, config)
            if kind == "500":
                return error_response(500, "Internal Server Error", "Injected fault")
            if kind == "expired_media":
                return error_response(403, "Forbidden", "Request has expired")  # a signed URL past its time
            response = handle()
            if kind == "truncated_media" and response.status == 200 and len(response.body) > 1:
                # The header promises the whole file; the connection ends halfway through it.
                return Response(
                    response.status,
                    response.body[: len(response.body) // 2],
                    response.content_type,
                    response.headers,
                    declared_length=len(response.body),
                )
            return response
        kind = self._roll(API_FAULTS, config)
        if kind == "429":
            return error_response(429, "Too Many Requests", "Rate limit exceeded (injected)", [("Retry-After", "1")])
        if kind == "500":
            return error_response(500, "Internal Server Error", "Injected fault")
        response = handle()  # the provider did its work: only the answer goes wrong
        if kind in ("timeout", "malformed") and request.method == "POST":
            self._stats.count("ambiguous_answers", request.body.decode("utf-8", "replace")[:4000])
        if kind == "timeout":
            time.sleep(config["fault_timeout_seconds"])  # longer than the client waits
        elif kind == "malformed":
            return Response(200, response.body[: len(response.body) // 2] + b"<html>", "application/json")
        return response

    def callback_faults(self) -> set[str]:
        """Faults for one job's terminal callback: repeated, and/or followed by a stale one."""
        config = self._settings()
        return {kind for kind in (self._roll((choice,), config) for choice in CALLBACK_FAULTS) if kind}
