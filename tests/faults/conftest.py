"""Fault runs: a real `rundramatiq` worker in its own process on Redis, the provider emulator
injecting faults at random, the studio's callback endpoint served on loopback.

Run with `pytest -m faults` and BROKER_URL=redis://... (skipped otherwise)."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from django.conf import settings

from ..conftest import PROVIDER_NAMES
from ..integration.conftest import Workers, database_url

API_KEY = "emulator-key"

# Short timings so a few hundred jobs finish in minutes on a small machine.
WORKER_ENV = {
    "POLL_FIRST_DELAY": "0.3",
    "POLL_FIRST_DELAY_WITH_CALLBACK": "1.5",
    "POLL_MAX_DELAY": "1.5",
    "SWEEP_QUIET_SECONDS": "4",
    "PROVIDER_TIMEOUT_SECONDS": "1.5",  # the emulator holds a "timeout" answer longer than this
    "LOG_LEVEL": "WARNING",
}


@pytest.fixture(autouse=True)
def needs_redis():
    if not settings.BROKER_URL.startswith("redis"):
        pytest.skip("fault runs need the real broker: set BROKER_URL=redis://...")


class KillableWorkers(Workers):
    """The integration tests' worker processes, plus SIGKILL of the newest one (no goodbye) and
    SIGSTOP/SIGCONT, which freeze it mid-work so a test can act while messages certainly wait."""

    kills: int = 0

    def freeze(self) -> None:
        os.killpg(self.processes[-1].pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.processes[-1].pid, signal.SIGCONT)

    def kill(self) -> None:
        process = self.processes[-1]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the group: the dramatiq parent and its worker
            process.wait(timeout=10)
            self.kills += 1

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])


@pytest.fixture
def fault_emulator(settings):
    from providers.emulator import start_emulator

    running = start_emulator(
        port=0, queued_seconds=0.2, job_seconds=0.8, music_seconds=0.5,
        allow_http_webhooks=True, sync_interval=0.4, webhook_retry_delay=0.2,
    )
    settings.PROVIDERS = {
        name: {"api_key": API_KEY, "base_url": f"{running.base_url}/{name}"} for name in PROVIDER_NAMES
    }
    settings.MAX_PENDING_PER_USER = 1_000  # one user starts every job of a run at once
    yield running
    running.stop()


@pytest.fixture
def worker_process(transactional_db, fault_emulator, live_server, settings, tmp_path):
    """A worker process configured like production, pointed at this test's database, broker,
    storage and emulator; callbacks come back to `live_server` over loopback."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DATABASE_URL": database_url(),
        "BROKER_URL": settings.BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PUBLIC_BASE_URL": live_server.url,
        "SCHEDULER_REDIS_URL": "",
        **WORKER_ENV,
    }
    for name in PROVIDER_NAMES:
        env[f"{name.upper()}_API_KEY"] = API_KEY
        env[f"{name.upper()}_BASE_URL"] = f"{fault_emulator.base_url}/{name}"
    settings.PUBLIC_BASE_URL = live_server.url
    workers = KillableWorkers(env=env, log_dir=tmp_path)
    workers.start()
    yield workers
    workers.kill()
    workers.stop_all()


class Sweeper:
    """Stands in for `manage.py crontab` (whose finest schedule is a minute): sends the sweep
    actor every few seconds, as the scheduler would every minute in production."""

    def __init__(self, every: float) -> None:
        self.every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sweeper", daemon=True)
        self.sent = 0

    def _run(self) -> None:
        from studio.jobs.actors import sweep

        while not self._stop.wait(self.every):
            try:
                sweep.send()
                self.sent += 1
            except Exception:  # the broker may be mid-flush: the next tick will do
                pass

    def __enter__(self) -> Sweeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def wait_until(predicate, *, timeout: float, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
