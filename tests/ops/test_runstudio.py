"""`runstudio` makes the demo/demo login only in the embedded mode, or when asked."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from studio.management.commands import runstudio
from studio.ops import embedded


@pytest.fixture
def started(monkeypatch):
    """runstudio with its server and worker stubbed out: only what it does to the database runs."""
    ran = []
    monkeypatch.setattr(runstudio, "call_command", lambda name, *args, **kwargs: ran.append(name))
    monkeypatch.setattr(embedded, "start", lambda **kwargs: None)
    return ran


def demo_exists() -> bool:
    return get_user_model().objects.filter(username="demo").exists()


def test_the_embedded_mode_gets_the_demo_login(db, started, monkeypatch):
    monkeypatch.setattr(embedded, "is_embedded", lambda: True)  # whichever database the tests run on
    call_command("runstudio", "--noreload")
    assert started == ["migrate", "runserver"] and demo_exists()


@pytest.mark.parametrize("broker", ["redis://127.0.0.1:6379/0", "amqp://guest:guest@127.0.0.1:5672/"])
def test_a_deployment_gets_no_demo_login_unless_asked(db, settings, started, broker):
    settings.BROKER_URL = broker  # a broker: not the embedded mode, whatever the database
    call_command("runstudio", "--noreload")
    assert not demo_exists()
    call_command("runstudio", "--noreload", "--demo")
    assert demo_exists()


@pytest.mark.parametrize(
    ("broker", "engine", "embedded_mode"),
    [
        ("", "django.db.backends.sqlite3", True),
        ("", "django.db.backends.postgresql", False),
        ("redis://127.0.0.1:6379/0", "django.db.backends.sqlite3", False),
    ],
)
def test_the_embedded_mode_is_sqlite_without_a_broker(monkeypatch, broker, engine, embedded_mode):
    monkeypatch.setattr(embedded, "settings", SimpleNamespace(BROKER_URL=broker, DATABASES={"default": {"ENGINE": engine}}))
    assert embedded.is_embedded() is embedded_mode
