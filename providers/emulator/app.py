"""The emulator as one WSGI application: shared state, plus each provider's emulator part at its key.

    /pixazo/...      the Pixazo gateway (providers/pixazo/emulator.py), and so on for every
                     entry of providers/registry.py
    /_emulator/...   configuration, reset and counters for tests (admin.py)
"""

from __future__ import annotations

import logging
import threading
from importlib import import_module
from typing import Any, Iterable, Protocol

from providers.registry import PROVIDERS

from . import admin
from .config import DEFAULTS, validated
from .faults import FaultInjector
from .jobs import Job
from .stats import Stats
from .webhooks import WebhookDispatcher
from .wsgi import Request, Response, error_response, json_response, not_found

log = logging.getLogger(__name__)


class ProviderAPI(Protocol):
    name: str  # its registry key: also its mount point

    def __init__(self, emulator: Emulator, name: str) -> None: ...

    def handle(self, request: Request) -> Response: ...


def mount_providers(emulator: Emulator) -> dict[str, ProviderAPI]:
    """Each registry entry's emulator part, mounted at its key. The registry names the parts by
    module path, so the studio never loads them; they are imported here, when an emulator is
    built (their modules import this package's helpers, so not while it loads), and one that
    fails to import stops the emulator from starting."""
    return {key: import_module(provider.emulator).API(emulator, key) for key, provider in PROVIDERS.items()}


class Emulator:
    """Callable as a WSGI app; thread-safe, since the server answers each request on its own thread."""

    def __init__(self, **config: Any) -> None:
        self._initial_config = {**DEFAULTS, **validated(config)}
        self._lock = threading.Lock()
        self._config = dict(self._initial_config)
        self._jobs: dict[str, Job] = {}
        self.counters = Stats()
        self.faults = FaultInjector(self.counters, self.settings)
        self.webhooks = WebhookDispatcher(self.counters, self.faults)
        self.providers = mount_providers(self)

    # --- state, for providers and tests ---

    def settings(self) -> dict[str, Any]:
        """A snapshot of the current configuration."""
        with self._lock:
            return dict(self._config)

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into the configuration (raises ConfigError on unknown keys or bad values)."""
        clean = validated(changes)
        with self._lock:
            self._config.update(clean)
            return dict(self._config)

    def reset(self) -> None:
        """Forget jobs and counters, stop pending callbacks, and go back to the configuration given at start."""
        self.webhooks.cancel_all()
        with self._lock:
            self._jobs.clear()
            self._config = dict(self._initial_config)
            self.counters = Stats()
            self.faults = FaultInjector(self.counters, self.settings)
            self.webhooks = WebhookDispatcher(self.counters, self.faults)

    def close(self) -> None:
        self.webhooks.cancel_all()

    def stats(self) -> dict:
        return self.counters.snapshot()

    def add_job(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.request_id] = job
            self.counters.count("submissions", job.request_id)

    def find_job(self, provider: str, request_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(request_id)
        return job if job is not None and job.provider == provider else None

    def job(self, request_id: str) -> Job:
        with self._lock:
            return self._jobs[request_id]

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs.values())

    def media_bytes(self, request_id: str) -> bytes:
        return self.job(request_id).media().data

    def media_sha256(self, request_id: str) -> str:
        return self.job(request_id).media_sha256()

    # --- WSGI ---

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        try:
            response = self._dispatch(environ)
        except Exception:  # a bug in one route must not take the server down
            log.exception("emulator failed on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
            response = error_response(500, "Internal Server Error", "The emulator failed; see its log.")
        start_response(response.wsgi_status(), response.wsgi_headers())
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [response.body]

    def _dispatch(self, environ: dict) -> Response:
        path = environ.get("PATH_INFO") or "/"
        mount, _, rest = path.lstrip("/").partition("/")
        request = Request.from_environ(environ, f"/{mount}", f"/{rest}")
        if mount == admin.MOUNT:
            return admin.handle(self, request)
        if mount in self.providers:
            handle = self.providers[mount].handle
            return admin.through_outage(self, mount, lambda: self.faults.around(request, lambda: handle(request)))
        if path == "/":
            return json_response(200, {"emulator": "audio-studio", "providers": sorted(self.providers)})
        return not_found()
