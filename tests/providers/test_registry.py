"""providers/registry.py is the one list of providers: the settings, the catalog, the adapters
and the emulator all follow it, and a provider whose code is missing stops the start."""

from __future__ import annotations

import runpy

import pytest

import studio.settings
from providers.emulator import app as emulator_app
from providers.emulator import start_emulator
from providers.registry import PROVIDERS, Provider, label
from studio.catalog import MODELS
from studio.jobs.adapters import get_adapter

KEYS = ("pixazo", "aimlapi", "elevenlabs", "apiframe", "runware")


def test_the_registry_lists_every_provider_once_in_its_order():
    assert tuple(PROVIDERS) == KEYS
    assert all(provider.key == key for key, provider in PROVIDERS.items())


def test_a_label_needs_no_adapter():
    assert [label(key) for key in KEYS] == ["Pixazo", "AI/ML API", "ElevenLabs", "Apiframe", "Runware"]


def test_an_entry_reads_what_the_api_is_from_its_adapter_class():
    flags = {
        key: (p.synchronous, p.accepts_callbacks, p.signs_callbacks, p.client_names_job) for key, p in PROVIDERS.items()
    }

    assert flags == {
        "pixazo": (False, True, False, False),
        "aimlapi": (False, False, False, False),
        "elevenlabs": (True, False, False, False),
        "apiframe": (False, True, True, False),
        "runware": (False, True, False, True),
    }


def test_the_studio_builds_each_adapter_from_its_entry():
    for key, provider in PROVIDERS.items():
        adapter = get_adapter(key)
        assert type(adapter) is provider.adapter
        assert adapter.label == provider.label


def test_the_catalog_offers_the_models_of_every_provider_in_the_registrys_order():
    assert list(dict.fromkeys(model.provider for model in MODELS)) == list(PROVIDERS)


def test_the_emulator_mounts_every_provider_at_its_key():
    with start_emulator() as running:
        assert set(running.emulator.providers) == set(PROVIDERS)
        assert all(api.name == key for key, api in running.emulator.providers.items())


def test_an_emulator_part_that_does_not_import_stops_the_emulator(monkeypatch):
    broken = Provider("broken", PROVIDERS["pixazo"].adapter, "https://broken.test", emulator="providers.broken.emulator")
    monkeypatch.setattr(emulator_app, "PROVIDERS", {**PROVIDERS, "broken": broken})

    with pytest.raises(ModuleNotFoundError):
        emulator_app.Emulator()


def fresh_settings(monkeypatch, **environment) -> dict:
    """studio/settings.py run anew under `environment` (every provider variable unset otherwise)."""
    for key in KEYS:
        for suffix in ("API_KEY", "BASE_URL", "CONCURRENCY"):
            monkeypatch.delenv(f"{key.upper()}_{suffix}", raising=False)
    for name in ("STUDIO_EMULATOR", "EMULATOR_PORT", "PROVIDER_CONCURRENCY_DEFAULT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(studio.settings.__file__)


def test_settings_default_to_each_providers_own_url_and_concurrency(monkeypatch):
    fresh = fresh_settings(monkeypatch)

    assert fresh["PROVIDERS"] == {
        key: {"api_key": "", "base_url": p.default_base_url, "timeout": 0} for key, p in PROVIDERS.items()
    }
    assert fresh["PROVIDER_CONCURRENCY"] == {"pixazo": 8, "aimlapi": 8, "elevenlabs": 2, "apiframe": 8, "runware": 8}


def test_settings_read_each_providers_environment_by_its_key(monkeypatch):
    fresh = fresh_settings(
        monkeypatch,
        STUDIO_EMULATOR="true",
        EMULATOR_PORT="9100",
        RUNWARE_API_KEY="rw-real",
        APIFRAME_BASE_URL="https://apiframe.example/",
        PROVIDER_CONCURRENCY_DEFAULT="3",
        PIXAZO_CONCURRENCY="5",
        ELEVENLABS_TIMEOUT_SECONDS="45",
    )

    emulated = {key: {"api_key": "emulator", "base_url": f"http://127.0.0.1:9100/{key}", "timeout": 0} for key in KEYS}
    assert fresh["PROVIDERS"] == {
        **emulated,
        "runware": {"api_key": "rw-real", "base_url": "http://127.0.0.1:9100/runware", "timeout": 0},
        "apiframe": {"api_key": "emulator", "base_url": "https://apiframe.example", "timeout": 0},
        "elevenlabs": {"api_key": "emulator", "base_url": "http://127.0.0.1:9100/elevenlabs", "timeout": 45.0},
    }
    assert fresh["PROVIDER_CONCURRENCY"] == {"pixazo": 5, "aimlapi": 3, "elevenlabs": 2, "apiframe": 3, "runware": 3}
