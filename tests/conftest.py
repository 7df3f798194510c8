"""Shared fixtures: users, projects, the provider emulator and a real Dramatiq worker.

The broker is whatever settings give: the in-process StubBroker by default, Redis or
RabbitMQ when BROKER_URL is set (as CI does).
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import dramatiq
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from providers.registry import PROVIDERS
from studio.teams.services import create_project

PIXAZO_TEST_URL = "https://gateway.pixazo.test"
PROVIDER_NAMES = tuple(PROVIDERS)
# Unit tests mock these hosts with respx; nothing resolves them for real.
TEST_BASE_URLS = {name: f"https://{name}.test" for name in PROVIDER_NAMES} | {"pixazo": PIXAZO_TEST_URL}


@pytest.fixture(autouse=True)
def studio_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLIC_BASE_URL = ""
    settings.PROVIDERS = {
        name: {"api_key": f"test-{name}-key", "base_url": url} for name, url in TEST_BASE_URLS.items()
    }
    settings.POLL_FIRST_DELAY = 0.05
    settings.POLL_FIRST_DELAY_WITH_CALLBACK = 0.05
    settings.POLL_MAX_DELAY = 0.2
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins
    # Spend: no rates, prices, budgets or limits unless a test sets them (studio/spend/).
    settings.SPEND_CURRENCY, settings.SPEND_PER_USD = "USD", Decimal(1)
    settings.SPEND_USD_PER_UNIT = {name: None for name in PROVIDER_NAMES} | {"runware": Decimal(1)}
    settings.SPEND_MODEL_USD_PRICES = {}
    settings.SPEND_PROJECT_MONTHLY_BUDGET = settings.SPEND_MEMBER_DAILY_LIMIT = settings.SPEND_MEMBER_MONTHLY_LIMIT = None
    settings.SPEND_MEMBER_JOBS_PER_MINUTE = None
    return settings


@pytest.fixture(autouse=True)
def fresh_poll_timing():
    """Durations learnt in one test must not time the next one's polls."""
    from studio.jobs import poll_timing

    poll_timing.forget()


@pytest.fixture(autouse=True)
def fresh_card_html():
    """Cards rendered in one test must not answer the next one's polls."""
    from django.core.cache import caches

    caches["cards"].clear()


@pytest.fixture(autouse=True)
def fresh_estimates():
    """Costs learnt in one test must not price the next one's jobs."""
    from studio.spend import estimates

    estimates.forget()


@pytest.fixture(autouse=True)
def empty_broker():
    """No message leaks from one test into the next."""
    broker = dramatiq.get_broker()
    broker.flush_all()
    yield broker
    broker.flush_all()


def make_user(username: str):
    return get_user_model().objects.create_user(username=username, password="pw-" + username, email=f"{username}@example.com")


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def project(alice):
    return create_project(owner=alice, name="Alice's game")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def emulator(settings):
    """The local provider emulator on a free loopback port, with quick jobs."""
    from providers.emulator import start_emulator

    running = start_emulator(port=0, queued_seconds=0.1, job_seconds=0.3, music_seconds=1.0)
    settings.PROVIDERS = {
        name: {"api_key": "emulator-key", "base_url": f"{running.base_url}/{name}"} for name in PROVIDER_NAMES
    }
    yield running
    running.stop()


@pytest.fixture
def worker(transactional_db, empty_broker):
    """A real Dramatiq worker consuming the configured broker in this process."""
    import studio.jobs.actors  # noqa: F401  (declares the actors' queue before the worker starts)

    w = dramatiq.Worker(empty_broker, worker_threads=2, worker_timeout=50)
    w.start()
    yield w
    w.stop()


def wait_for(predicate, *, timeout: float = 15.0, interval: float = 0.05):
    """Wait until `predicate()` is truthy (a job finishing in the worker); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def closed_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server():
    """A local S3-compatible server (moto in server mode) on a free loopback port."""
    threaded = pytest.importorskip("moto.moto_server.threaded_moto_server", reason="moto is in the test extra")
    server = threaded.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "studio-test", "AWS_SECRET_ACCESS_KEY": "studio-test-secret"}


@pytest.fixture
def s3_bucket(settings, s3_server, monkeypatch):
    """The studio's audio storage on a fresh bucket of the local S3 server, configured the way
    the environment configures it in production (settings.py)."""
    import uuid
    from types import SimpleNamespace

    import boto3
    from botocore.config import Config

    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    bucket = f"studio-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    settings.AWS_STORAGE_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = s3_server
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.AWS_LOCATION = ""
    settings.AWS_DEFAULT_ACL = None
    settings.AWS_S3_FILE_OVERWRITE = False
    settings.AWS_QUERYSTRING_AUTH = True
    settings.AWS_QUERYSTRING_EXPIRE = 300
    settings.AWS_S3_CLIENT_CONFIG = Config(s3={"addressing_style": "path"}, signature_version="s3v4")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    return SimpleNamespace(client=client, name=bucket, endpoint=s3_server)


def at_once(work, count: int = 2, *, timeout: float = 120) -> list:
    """Run `work()` in `count` threads released together, each with its own database connection;
    answer every result (in the order they finished)."""
    barrier, results = threading.Barrier(count), []

    def one():
        barrier.wait()
        try:
            results.append(work())
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert len(results) == count, f"{count - len(results)} of {count} did not finish"
    return results
