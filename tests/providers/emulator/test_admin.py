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


# --- Taking a provider down ------------------------------------------------------------------


def outage(running, provider, mode):
    return httpx.post(running.base_url + "/_emulator/outage", json={"provider": provider, "mode": mode})


@pytest.mark.parametrize(("mode", "status"), [("unavailable", 503), ("rate_limited", 429)])
def test_a_provider_taken_down_refuses_every_request_and_makes_no_job(running, client, emulator, mode, status):
    request_id = client.post(SUBMIT, json={"prompt": "Before the outage"}).json()["request_id"]
    assert outage(running, "pixazo", mode).json() == {"outages": {"pixazo": mode}}

    submit = client.post(SUBMIT, json={"prompt": "During the outage"})
    poll = client.get(STATUS + request_id)
    assert (submit.status_code, poll.status_code) == (status, status)
    assert mode != "rate_limited" or submit.headers["Retry-After"] == "1"
    assert len(emulator.jobs()) == 1
    other = httpx.get(running.base_url + "/runware/does-not-exist")  # other providers answer as ever
    assert other.status_code != status

    assert outage(running, "pixazo", None).json() == {"outages": {}}
    assert client.post(SUBMIT, json={"prompt": "After it"}).status_code == 202


def test_a_held_answer_makes_the_job_and_answers_too_late(running, emulator):
    emulator.configure(outage_hold_seconds=1.0)
    outage(running, "pixazo", "held")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(running.base_url + SUBMIT, json={"prompt": "Held"}, headers=AUTH_HEADERS, timeout=0.3)
    assert [job.params["prompt"] for job in emulator.jobs()] == ["Held"]


def test_an_outage_for_an_unknown_provider_or_mode_is_refused(running, emulator):
    assert outage(running, "pixazoo", "unavailable").status_code == 400
    assert outage(running, "pixazo", "down").status_code == 400
    assert httpx.post(running.base_url + "/_emulator/outage", json=["pixazo"]).status_code == 400
    assert emulator.settings()["outages"] == {}
