"""The emulator's random faults: each kind does what a real outage does, a seed repeats a run,
and every fault is counted by kind."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from providers.emulator import start_emulator
from providers.emulator.config import ConfigError

MUSIC = "/pixazo/elevenlabs-music-api-368/v1/elevenlabs-music-api-request"
KEY = {"Ocp-Apim-Subscription-Key": "test-key"}
FAST = {"queued_seconds": 0.05, "job_seconds": 0.1, "music_seconds": 0.2, "webhook_retry_delay": 0.02}


@pytest.fixture(scope="module")
def running():
    with start_emulator(**FAST) as running:
        yield running


@pytest.fixture
def emulator(running):
    running.emulator.reset()
    return running.emulator


def submit(running, headers=KEY, **kwargs):
    return httpx.post(f"{running.base_url}{MUSIC}", json={"prompt": "a song"}, headers=headers, **kwargs)


def injected(emulator) -> dict:
    return emulator.stats()["faults_injected"]["by_kind"]


def test_no_faults_unless_asked(running, emulator):
    assert all(submit(running).status_code == 202 for _ in range(20))
    assert injected(emulator) == {}


def test_a_429_carries_retry_after_and_creates_no_job(running, emulator):
    emulator.configure(fault_429_rate=1.0)
    response = submit(running)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert emulator.stats()["submissions"]["total"] == 0
    assert injected(emulator) == {"429": 1}


def test_a_500_creates_no_job(running, emulator):
    emulator.configure(fault_500_rate=1.0)
    assert submit(running).status_code == 500
    assert emulator.stats()["submissions"]["total"] == 0


def test_a_malformed_answer_still_creates_the_job(running, emulator):
    emulator.configure(fault_malformed_rate=1.0)
    response = submit(running)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert emulator.stats()["submissions"]["total"] == 1  # the client cannot know it was accepted


def test_a_held_answer_times_the_client_out_after_the_job_was_created(running, emulator):
    emulator.configure(fault_timeout_rate=1.0, fault_timeout_seconds=0.5)
    with pytest.raises(httpx.ReadTimeout):
        submit(running, timeout=0.2)
    assert emulator.stats()["submissions"]["total"] == 1


def finished_media_url(running, emulator) -> str:
    request_id = submit(running).json()["request_id"]
    time.sleep(0.15)
    status = httpx.get(f"{running.base_url}/pixazo/v2/requests/status/{request_id}", headers=KEY).json()
    return status["output"]["media_url"][0]


def test_expired_media_answers_403(running, emulator):
    url = finished_media_url(running, emulator)
    emulator.configure(fault_expired_media_rate=1.0)
    response = httpx.get(url)
    assert response.status_code == 403
    assert "expired" in response.text
    emulator.configure(fault_expired_media_rate=0.0)
    assert httpx.get(url).status_code == 200  # a fresh try gets the file


def test_truncated_media_ends_before_its_content_length(running, emulator):
    url = finished_media_url(running, emulator)
    emulator.configure(fault_truncated_media_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url)
    assert injected(emulator) == {"truncated_media": 1}


def test_a_seed_repeats_the_same_faults(running, emulator):
    def run():
        emulator.reset()
        emulator.configure(fault_seed=7, fault_429_rate=0.3, fault_500_rate=0.3)
        return [submit(running).status_code for _ in range(30)]

    first = run()
    assert first == run()
    assert {429, 500, 202} <= set(first)


def test_rates_are_probabilities():
    with pytest.raises(ConfigError, match="between 0 and 1"):
        start_emulator(fault_500_rate=1.5)


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append(json.loads(body)["status"])
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_callbacks_may_repeat_and_arrive_out_of_order(running, emulator, receiver):
    emulator.configure(
        allow_http_webhooks=True, fault_duplicate_callback_rate=1.0, fault_out_of_order_callback_rate=1.0
    )
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    assert submit(running, headers={**KEY, "X-Webhook-URL": url}).status_code == 202
    deadline = time.monotonic() + 5
    while len(receiver.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert receiver.received == ["COMPLETED", "COMPLETED", "PROCESSING"]  # the stale one comes last
    assert injected(emulator) == {"duplicate_callback": 1, "out_of_order_callback": 1}


def test_a_submit_whose_answer_was_cut_short_is_recorded_with_the_request_that_made_the_job(running, emulator):
    emulator.configure(fault_malformed_rate=1.0)
    response = httpx.post(f"{running.base_url}{MUSIC}", json={"prompt": "an unlucky song"}, headers=KEY)
    assert response.status_code == 200 and response.content.endswith(b"<html>")
    ambiguous = emulator.stats()["ambiguous_answers"]["by_request_body"]
    assert [body for body in ambiguous if "an unlucky song" in body] and emulator.stats()["submissions"]["total"] == 1
