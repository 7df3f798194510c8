"""The embedded mode: a Dramatiq worker (and the provider emulator) inside the web process,
so the studio runs from one command with no services."""

from __future__ import annotations

import logging
import threading

import dramatiq
from django.conf import settings
from dramatiq.brokers.stub import StubBroker

from providers.emulator import start_emulator
from studio.jobs import actors, pipeline

log = logging.getLogger(__name__)
SWEEP_EVERY_SECONDS = 60

_started = False
_lock = threading.Lock()


def is_embedded() -> bool:
    """SQLite and no broker: the one-command mode, on a database of its own."""
    return not settings.BROKER_URL and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


def start(*, emulator_job_seconds: float = 4.0) -> None:
    """Start the emulator (if configured) and the in-process worker. Safe to call twice."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    if settings.STUDIO_EMULATOR:
        running = start_emulator(port=settings.EMULATOR_PORT, job_seconds=emulator_job_seconds)
        log.info("provider emulator listening on %s", running.base_url)
    broker = dramatiq.get_broker()
    if isinstance(broker, StubBroker):
        worker = dramatiq.Worker(broker, worker_threads=settings.EMBEDDED_WORKER_THREADS)
        worker.start()
        log.info("in-process worker started with %d threads", settings.EMBEDDED_WORKER_THREADS)
        # Nothing else can hold this broker's messages: every unfinished job is ours to re-drive.
        actors.send_all(pipeline.sweep(quiet_seconds=0, holders_gone=True))
        _every(SWEEP_EVERY_SECONDS, actors.sweep.send)


def _every(seconds: float, action) -> None:
    def loop():
        stop = threading.Event()
        while not stop.wait(seconds):
            try:
                action()
            except Exception:  # a failed nudge must not end the timer
                log.exception("periodic task failed")

    threading.Thread(target=loop, name="studio-timer", daemon=True).start()
