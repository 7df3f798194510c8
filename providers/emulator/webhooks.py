"""Callback delivery: one daemon thread per job that asked for a webhook, posting JSON with httpx."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

import httpx

from .jobs import Job
from .stats import Stats

if TYPE_CHECKING:
    from .faults import FaultInjector

log = logging.getLogger(__name__)

# Lets a callback posted right at the deadline see the job's terminal state, not the one before.
_AFTER_DEADLINE = 0.01


@dataclass(frozen=True)
class WebhookPlan:
    url: str
    sync_interval: float | None  # None: only the terminal callback; else also one every this many seconds
    duplicate_terminal: bool
    timeout: float
    retries: int
    retry_delay: float
    loopback_only: bool


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookDispatcher:
    def __init__(self, stats: Stats, faults: FaultInjector | None = None) -> None:
        self._stats = stats
        self._faults = faults
        self._cancelled = threading.Event()

    def follow(self, job: Job, plan: WebhookPlan, document: Callable[[], dict]) -> None:
        """Post `document()` to the plan's URL as the job progresses, from a background thread."""
        thread = threading.Thread(
            target=self._run,
            args=(job, plan, document, self._cancelled),
            name=f"webhook-{job.request_id}",
            daemon=True,
        )
        thread.start()

    def cancel_all(self) -> None:
        """Stop every pending delivery (on reset or shutdown); later jobs get a fresh flag."""
        self._cancelled.set()
        self._cancelled = threading.Event()

    def _run(self, job: Job, plan: WebhookPlan, document: Callable[[], dict], cancelled: threading.Event) -> None:
        try:
            self._deliver_all(job, plan, document, cancelled)
        except Exception:  # a broken callback must never take the emulator down
            log.exception("webhook delivery for %s crashed", job.request_id)

    def _deliver_all(
        self, job: Job, plan: WebhookPlan, document: Callable[[], dict], cancelled: threading.Event
    ) -> None:
        faults = self._faults.callback_faults() if self._faults else set()
        stale = None
        if "out_of_order_callback" in faults:
            # A progress report captured mid-job, delivered after the terminal one.
            if cancelled.wait(max(0.0, job.queued_seconds - job.elapsed()) + _AFTER_DEADLINE):
                return
            stale = document()
        if plan.sync_interval:
            next_tick = plan.sync_interval
            while next_tick < job.total_seconds:
                if cancelled.wait(max(0.0, next_tick - job.elapsed())):
                    return
                self._post(job, plan, document(), cancelled)
                next_tick += plan.sync_interval
        if cancelled.wait(job.seconds_until_done() + _AFTER_DEADLINE):
            return
        terminal = document()
        repeats = 2 if plan.duplicate_terminal or "duplicate_callback" in faults else 1
        for _ in range(repeats):
            self._post(job, plan, terminal, cancelled)
        if stale is not None:
            self._post(job, plan, stale, cancelled)

    def extra_headers(self, plan: WebhookPlan, payload: dict, body: bytes) -> dict[str, str]:
        """What a provider adds to each callback (a signature, an event name)."""
        return {}

    def _post(self, job: Job, plan: WebhookPlan, payload: dict, cancelled: threading.Event) -> None:
        if plan.loopback_only and not is_loopback_url(plan.url):
            self._stats.count("callbacks_skipped", job.request_id)
            return
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "audio-studio-emulator/1"}
        headers.update(self.extra_headers(plan, payload, body))
        for attempt in range(plan.retries + 1):
            if attempt and cancelled.wait(plan.retry_delay * attempt):
                return
            self._stats.count("callback_attempts", job.request_id)
            try:
                # A receiver on this machine may serve TLS with a certificate of its own making.
                verify = not is_loopback_url(plan.url)
                response = httpx.post(
                    plan.url, content=body, headers=headers, timeout=plan.timeout, trust_env=False, verify=verify
                )
                if response.is_success:
                    self._stats.count("callbacks_sent", job.request_id)
                    return
                log.info("webhook %s answered %s", plan.url, response.status_code)
            except httpx.HTTPError as exc:
                log.info("webhook %s failed: %s", plan.url, exc)
        self._stats.count("callback_failures", job.request_id)
