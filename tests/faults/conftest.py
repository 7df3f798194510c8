"""Fault runs: a real `rundramatiq` worker in its own process on Redis, the provider emulator
injecting faults at random, the studio's callback endpoint served on loopback.

Run with `pytest -m faults` and BROKER_URL=redis://... (skipped otherwise)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.utils import timezone

from providers.emulator import start_emulator

from ..conftest import PROVIDER_NAMES, closed_port
from ..integration.conftest import ROOT, Workers, database_url

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
def many_jobs_at_once(settings):
    """A fault run starts hundreds of jobs for one person: more than the pending-jobs limit allows."""
    settings.MAX_PENDING_PER_USER = 10_000


@pytest.fixture(autouse=True)
def needs_redis():
    if not settings.BROKER_URL.startswith("redis"):
        pytest.skip("fault runs need the real broker: set BROKER_URL=redis://...")


@dataclass
class KillableWorkers(Workers):
    """The integration tests' worker processes, plus SIGKILL of the newest one (no goodbye) and
    SIGSTOP/SIGCONT, which freeze it mid-work so a test can act while messages certainly wait."""

    kills: int = 0
    kill_times: list = field(default_factory=list)  # when each kill landed (a job's submit may contain one)

    def freeze(self) -> None:
        os.killpg(self.processes[-1].pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.processes[-1].pid, signal.SIGCONT)

    def kill(self) -> None:
        process = self.processes[-1]
        if process.poll() is None:
            self.kill_times.append(timezone.now())
            os.killpg(process.pid, signal.SIGKILL)  # the group: the dramatiq parent and its worker
            process.wait(timeout=10)
            self.kills += 1

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])


@pytest.fixture
def fault_emulator(settings):
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


# --- Production-like: gunicorn over TLS, two worker processes, the scheduler ----------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 of this test's own making (the emulator posts callbacks to it)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Service:
    """One long-running process of the deployment (web, scheduler), its output in a log file."""

    name: str
    command: list[str]
    env: dict
    log_dir: Path
    process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_dir / f"{self.name}.log", "ab")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log(self) -> str:
        return (self.log_dir / f"{self.name}.log").read_text(errors="replace")


@dataclass
class Deployment:
    """The studio as production runs it, against this test's database, broker, storage and emulator."""

    emulator: object
    workers: KillableWorkers
    web: Service
    scheduler: Service
    base_url: str
    env: dict
    worker_processes: int = 2
    worker_threads: int = 8

    def start_workers(self) -> None:
        self.workers.start(processes=self.worker_processes, threads=self.worker_threads)

    def logs(self) -> str:
        return "\n".join([self.workers.logs(), self.web.log(), self.scheduler.log()])


def wait_for_http(url: str, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, verify=False, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture
def deployment(transactional_db, settings, tmp_path):
    """Factory: `deployment(emulator_config={...}, env={...})` starts the emulator (in this process),
    gunicorn on https://127.0.0.1 with a certificate of its own, the workers and `manage.py crontab`;
    everything stops at the end of the test."""
    started = []

    def start(*, emulator_config: dict, env: dict) -> Deployment:
        emulator = start_emulator(port=0, **emulator_config)
        started.append(emulator)
        port = closed_port()
        base_url = f"https://127.0.0.1:{port}"
        cert, key = self_signed_certificate(tmp_path)
        common = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "PYTHONUNBUFFERED": "1",
            "DEBUG": "false",
            "SECRET_KEY": "fault-run-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url(),
            "BROKER_URL": settings.BROKER_URL,
            "SCHEDULER_REDIS_URL": settings.BROKER_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "STATIC_ROOT": str(tmp_path / "static"),
            "PUBLIC_BASE_URL": base_url,
            **env,
        }
        for name in PROVIDER_NAMES:
            common[f"{name.upper()}_API_KEY"] = API_KEY
            common[f"{name.upper()}_BASE_URL"] = f"{emulator.base_url}/{name}"
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        web = Service(
            "web",
            [gunicorn, "-c", "studio/gunicorn.conf.py", "--certfile", str(cert), "--keyfile", str(key), "studio.wsgi"],
            common | {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"},
            tmp_path,
        )
        scheduler = Service("scheduler", [sys.executable, "manage.py", "crontab"], common, tmp_path)
        running = Deployment(
            emulator=emulator, workers=KillableWorkers(env=common, log_dir=tmp_path), web=web, scheduler=scheduler,
            base_url=base_url, env=common,
        )  # fmt: skip
        started.append(running)
        web.start()
        wait_for_http(f"{base_url}/healthz")
        running.start_workers()
        scheduler.start()
        settings.PROVIDERS = {
            name: {"api_key": API_KEY, "base_url": f"{emulator.base_url}/{name}", "timeout": 0} for name in PROVIDER_NAMES
        }
        settings.PUBLIC_BASE_URL = base_url
        return running

    yield start
    for thing in reversed(started):
        if isinstance(thing, Deployment):
            thing.scheduler.stop()
            thing.workers.kill()
            thing.workers.stop_all()
            thing.web.stop()
        else:
            thing.stop()
