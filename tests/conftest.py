"""Shared fixtures: users, projects, the provider emulator and a real Dramatiq worker.

The broker is whatever settings give: the in-process StubBroker by default, Redis or
RabbitMQ when BROKER_URL is set (as CI does).
"""

from __future__ import annotations

import time

import dramatiq
import pytest
from django.contrib.auth import get_user_model

from studio import services

PIXAZO_TEST_URL = "https://gateway.pixazo.test"
PROVIDER_NAMES = ("pixazo", "aimlapi", "elevenlabs", "apiframe", "runware")
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
    return settings


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
    return services.create_project(owner=alice, name="Alice's game")


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
    import studio.actors  # noqa: F401  (declares the actors' queue before the worker starts)

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
