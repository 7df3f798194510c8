"""The emulator's controls, whatever the provider: its admin API over HTTP (/_emulator/...) and
the same checks on its settings in Python."""

from __future__ import annotations

import httpx
import pytest

from providers.emulator import Emulator
from providers.emulator.config import ConfigError

# Any provider's job will do: Pixazo's gateway is the shortest to submit to.
SUBMIT = "/pixazo/elevenlabs-music-api-368/v1/elevenlabs-music-api-request"
STATUS = "/pixazo/v2/requests/status/"
AUTH_HEADERS = {"Ocp-Apim-Subscription-Key": "test-key"}
FAST = {"queued_seconds": 0.05, "job_seconds": 0.15}


def test_admin_api_configures_reports_and_resets(running, client):
    admin = running.base_url + "/_emulator"
    request_id = client.post(SUBMIT, json={"prompt": "Calm piano over rain"}).json()["request_id"]

    configured = httpx.post(admin + "/config", json={"job_seconds": 2})
    bad = httpx.post(admin + "/config", json={"job_secs": 2})
    stats = httpx.get(admin + "/stats").json()
    reset = httpx.post(admin + "/reset")

    assert configured.json()["job_seconds"] == 2.0
    assert bad.status_code == 400 and "job_secs" in bad.json()["message"]
    assert stats["submissions"]["total"] == 1
    assert reset.status_code == 200
    assert httpx.get(admin + "/stats").json()["submissions"]["total"] == 0
    assert httpx.get(admin + "/config").json()["job_seconds"] == FAST["job_seconds"]
    assert client.get(STATUS + request_id).status_code == 404


def test_bad_config_is_refused_in_python_too():
    with pytest.raises(ConfigError):
        Emulator(job_seconds=-1)
    with pytest.raises(ConfigError):
        Emulator().configure(allow_http_webhooks="yes")
