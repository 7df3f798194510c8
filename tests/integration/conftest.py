"""Workers in their own processes (`manage.py rundramatiq`), on a real Redis or RabbitMQ, against
this test's database and the provider emulator: the way the studio runs in production.

Broker URLs: INTEGRATION_REDIS_URL (else BROKER_URL when it is Redis, else redis://127.0.0.1:6379/0)
and INTEGRATION_RABBITMQ_URL (else amqp://guest:guest@127.0.0.1:5672/%2F). A broker that does not
answer skips its tests, unless INTEGRATION_REQUIRED=true (as in CI).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from ..conftest import PROVIDER_NAMES, S3_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]


def broker_url(kind: str) -> str:
    if kind == "redis":
        configured = os.environ.get("BROKER_URL", "")
        default = configured if configured.startswith("redis") else "redis://127.0.0.1:6379/0"
        return os.environ.get("INTEGRATION_REDIS_URL", default)
    return os.environ.get("INTEGRATION_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


def make_broker(kind: str):
    """A broker of that kind for this process's side (sending), or skip when it is down."""
    url = broker_url(kind)
    try:
        if kind == "redis":
            from dramatiq.brokers.redis import RedisBroker

            broker = RedisBroker(url=url, middleware=[])
            broker.client.ping()
        else:
            import pika
            from dramatiq.brokers.rabbitmq import RabbitmqBroker

            parameters = pika.URLParameters(url)
            parameters.connection_attempts, parameters.socket_timeout = 1, 3
            pika.BlockingConnection(parameters).close()
            broker = RabbitmqBroker(url=url, middleware=[])
    except Exception as exc:  # noqa: BLE001  (any failure to reach it means: not here)
        if os.environ.get("INTEGRATION_REQUIRED") == "true":  # CI: the brokers must be there
            raise
        pytest.skip(f"{kind} broker unreachable at {url}: {type(exc).__name__}")
    return broker, url


def database_url() -> str:
    """This test's database (pytest-django's test_ copy), as a URL for another process."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Workers:
    """Starts `manage.py rundramatiq` processes sharing one environment; stops them all at the end."""

    env: dict
    log_dir: Path
    processes: list = field(default_factory=list)

    def start(self, *, processes: int = 1, threads: int = 2) -> subprocess.Popen:
        log = open(self.log_dir / f"worker-{len(self.processes)}.log", "wb")
        process = subprocess.Popen(
            [
                sys.executable, "manage.py", "rundramatiq", "--processes", str(processes), "--threads", str(threads),
                "--worker-shutdown-timeout", "30000",
            ],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        process.log_path = log.name
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def logs(self) -> str:
        return "\n".join(Path(p.log_path).read_text(errors="replace") for p in self.processes)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_kind(request):
    return request.param


@pytest.fixture
def sending_broker(broker_kind, monkeypatch):
    """Point the actors this process sends (the web side) at the broker under test."""
    from studio.jobs import actors

    broker, url = make_broker(broker_kind)
    for queue in actors.QUEUES:
        broker.declare_queue(queue)
    broker.flush_all()
    for actor in (actors.submit_generation, actors.poll_generation, actors.fetch_audio, actors.sweep):
        monkeypatch.setattr(actor, "broker", broker)
    yield broker, url
    broker.flush_all()
    broker.close()


@pytest.fixture
def workers(transactional_db, sending_broker, emulator, tmp_path):
    """Worker processes on the broker under test, this database, the emulator and this MEDIA_ROOT
    (or the S3 bucket, when the test also asks for `s3_bucket` first)."""
    _, url = sending_broker
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url(),
        "BROKER_URL": url,
        "SCHEDULER_REDIS_URL": "",
        "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
        "POLL_FIRST_DELAY": "0.05",
        "POLL_FIRST_DELAY_WITH_CALLBACK": "0.05",
        "POLL_MAX_DELAY": "0.2",
        "LOG_LEVEL": "INFO",
    }
    for name in PROVIDER_NAMES:
        env[f"{name.upper()}_API_KEY"] = "emulator-key"
        env[f"{name.upper()}_BASE_URL"] = f"{emulator.base_url}/{name}"
    if getattr(django_settings, "AWS_STORAGE_BUCKET_NAME", ""):
        env |= S3_CREDENTIALS | {
            "AWS_STORAGE_BUCKET_NAME": django_settings.AWS_STORAGE_BUCKET_NAME,
            "AWS_S3_ENDPOINT_URL": django_settings.AWS_S3_ENDPOINT_URL,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_S3_ADDRESSING_STYLE": "path",
        }
    running = Workers(env=env, log_dir=tmp_path)
    yield running
    running.stop_all()
