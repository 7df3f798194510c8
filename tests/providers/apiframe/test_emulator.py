"""The emulator speaks Apiframe's v2 job API as specs/003 (and its fuller docs) describe it,
over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import hmac
import io
import time
import uuid
import wave

import httpx
import pytest

from providers.apiframe import Apiframe
from providers.base import CallbackRejected, State

from ...conftest import wait_for
from ..emulator.callbacks import receiver_fixture

SUBMIT = "/apiframe/v2/music/generate"
JOBS = "/apiframe/v2/jobs/"
KEY = "test-key"
AUTH_HEADERS = {"X-API-Key": KEY}
TERMINAL = {"COMPLETED", "FAILED"}
FAST = {
    "queued_seconds": 0.05,
    "job_seconds": 0.2,
    "sync_interval": 0.04,
    "music_seconds": 2.0,
    "webhook_retry_delay": 0.02,
}


receiver = receiver_fixture("/hooks/apiframe/7/secret-token/")

def wait_for_terminal(receiver) -> list[dict]:
    return receiver.wait_until(lambda got: any(c["json"]["status"] in TERMINAL for c in got))


def submit(client, prompt="Calm piano over rain", headers=None, **fields):
    return client.post(SUBMIT, json={"model": "elevenlabs-music", "prompt": prompt, **fields}, headers=headers or {})


def wait_until_terminal(client, job_id, timeout=5.0) -> list[dict]:
    """Poll like the studio does and return every document seen, the terminal one last."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = client.get(JOBS + job_id).json()
        seen.append(document)
        if document["status"] in TERMINAL:
            return seen
        time.sleep(0.01)
    raise AssertionError(f"{job_id} never finished: {seen[-1]}")


def completed_track(client, **fields):
    job_id = submit(client, **fields).json()["jobId"]
    document = wait_until_terminal(client, job_id)[-1]
    track = document["result"]["tracks"][0]
    return job_id, document, client.get(track["audioUrl"])


def expected_signature(body: bytes, key: str = KEY) -> str:
    secret = hashlib.sha256(key.encode()).hexdigest().encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


# --- submit and lifecycle ---------------------------------------------------------


def test_submit_answers_202_with_a_uuid_job_id_and_queued(client):
    response = submit(client, elevenlabsParams={"music_length_ms": 60000, "force_instrumental": False})

    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"jobId", "status"}
    assert body["status"] == "QUEUED"
    assert uuid.UUID(body["jobId"])


def test_job_goes_queued_then_processing_with_rising_progress_then_completed(running, client):
    job_id = submit(client, elevenlabsParams={"music_length_ms": 30000}).json()["jobId"]

    seen = wait_until_terminal(client, job_id)

    statuses = [document["status"] for document in seen]
    assert statuses[0] == "QUEUED" and "PROCESSING" in statuses and statuses[-1] == "COMPLETED"
    assert statuses == sorted(statuses, key=["QUEUED", "PROCESSING", "COMPLETED"].index)
    progress = [document["progress"] for document in seen]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == 100
    assert any(0 < value < 100 for value in progress)
    pending, done = seen[0], seen[-1]
    assert pending["result"] is None and pending["creditCost"] is None and pending["completedAt"] is None
    assert set(done) >= {
        "id", "status", "progress", "result", "error", "creditCost", "createdAt", "completedAt", "model",
        "webhookStatus",
    }
    assert done["id"] == job_id and done["model"] == "elevenlabs-music"
    assert done["error"] is None and done["webhookStatus"] is None
    assert done["creditCost"] == 20  # 40 credits a minute, 30 s asked for
    assert done["createdAt"].endswith("Z") and done["completedAt"].endswith("Z")
    assert done["input"] == {"prompt": "Calm piano over rain", "elevenlabsParams": {"music_length_ms": 30000}}
    assert done["result"] == {
        "tracks": [
            {
                "audioUrl": f"{running.base_url}/apiframe/media/{job_id}/track-1.mp3",
                "duration": 2.0,
                "title": "Calm piano over rain",
            }
        ]
    }


def test_the_adapter_follows_a_job_to_its_track(running, emulator):
    adapter = Apiframe(api_key=KEY, base_url=running.url("apiframe"))
    try:
        params = {"prompt": "Warm lo-fi beat", "music_length_ms": 5000, "output_format": "wav_24khz"}
        submitted = adapter.submit("elevenlabs-music", params, client_ref=str(uuid.uuid4()))
        deadline = time.monotonic() + 5
        while not (state := adapter.status(submitted.external_id)).finished and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        adapter.close()

    assert state.state is State.SUCCEEDED
    assert state.cost is not None and state.progress == 100
    (track,) = state.media
    assert track.title == "Warm lo-fi beat" and track.duration == 2.0
    with wave.open(io.BytesIO(httpx.get(track.url).content)) as audio:
        assert audio.getframerate() == 24000


def test_media_url_follows_the_host_the_client_used(client):
    job_id = submit(client).json()["jobId"]
    wait_until_terminal(client, job_id)

    document = client.get(JOBS + job_id, headers={"Host": "emulator.test:9999"}).json()

    assert document["result"]["tracks"][0]["audioUrl"].startswith("http://emulator.test:9999/apiframe/media/")


# --- media ------------------------------------------------------------------------


def test_default_output_is_high_quality_mp3(client, emulator):
    job_id, _, response = completed_track(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    data = response.content
    assert data[:3] == b"ID3" or (data[0] == 0xFF and data[1] & 0xE0 == 0xE0)
    assert hashlib.sha256(data).hexdigest() == emulator.media_sha256(job_id)
    assert emulator.job(job_id).audio.bitrate_kbps == 192


@pytest.mark.parametrize(
    "output_format, rate", [("wav_16khz", 16000), ("wav_22khz", 22050), ("wav_24khz", 24000), ("wav_cd_quality", 44100)]
)
def test_wav_output_formats_are_stereo_wav_at_their_rate(client, output_format, rate):
    _, document, response = completed_track(client, elevenlabsParams={"output_format": output_format})

    assert document["result"]["tracks"][0]["audioUrl"].endswith("/track-1.wav")
    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (2, 2, rate)
        assert audio.getnframes() == 2 * rate


def test_mp3_standard_is_128_kbps(client, emulator):
    job_id, _, response = completed_track(client, elevenlabsParams={"output_format": "mp3_standard"})

    assert response.headers["content-type"] == "audio/mpeg"
    assert emulator.job(job_id).audio.bitrate_kbps == 128


def test_track_is_rendered_at_the_asked_length_up_to_the_music_seconds_cap(client, emulator):
    emulator.configure(music_seconds=10)
    options = {"music_length_ms": 5000, "output_format": "wav_16khz"}
    _, document, response = completed_track(client, elevenlabsParams=options)

    with wave.open(io.BytesIO(response.content)) as audio:
        assert audio.getnframes() == 5 * 16000
    assert document["result"]["tracks"][0]["duration"] == 5.0


def test_media_is_not_served_before_completion_or_with_a_wrong_extension(running, client):
    job_id = submit(client).json()["jobId"]
    media = f"/apiframe/media/{job_id}/track-1."

    assert client.get(media + "mp3").status_code == 404
    wait_until_terminal(client, job_id)
    assert client.get(media + "wav").status_code == 404
    assert httpx.get(running.base_url + media + "mp3").status_code == 200  # no key needed, like a CDN


# --- auth and validation -------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": ""}])
def test_missing_key_is_401(running, headers):
    for response in (
        httpx.post(running.base_url + SUBMIT, json={"model": "elevenlabs-music", "prompt": "x"}, headers=headers),
        httpx.get(running.base_url + JOBS + str(uuid.uuid4()), headers=headers),
    ):
        assert response.status_code == 401
        assert set(response.json()) == {"error"}


def test_configured_key_must_match(client, emulator):
    emulator.configure(api_key="right-key")

    wrong = submit(client, headers={"X-API-Key": "wrong"})
    right = submit(client, headers={"X-API-Key": "right-key"})

    assert wrong.status_code == 401 and wrong.json() == {"error": "Invalid API key"}
    assert right.status_code == 202


def test_forbidden_key_is_403(client):
    response = submit(client, headers={"X-API-Key": "forbidden"})

    assert response.status_code == 403
    assert response.json() == {"error": "API key is inactive or lacks permission"}


def test_another_keys_job_is_not_found(client):
    job_id = submit(client).json()["jobId"]

    response = client.get(JOBS + job_id, headers={"X-API-Key": "someone-else"})

    assert response.status_code == 404
    assert response.json() == {"error": "Job not found"}


def test_unknown_or_malformed_job_ids_are_404_and_400(client):
    assert client.get(JOBS + str(uuid.uuid4())).status_code == 404
    malformed = client.get(JOBS + "not-a-uuid")
    assert malformed.status_code == 400
    assert "UUID" in malformed.json()["error"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"model": "elevenlabs-music"}, "prompt"),
        ({"model": "elevenlabs-music", "prompt": ""}, "prompt"),
        ({"model": "elevenlabs-music", "prompt": "   "}, "prompt"),
        ({"model": "elevenlabs-music", "prompt": 42}, "prompt"),
        ({"model": "elevenlabs-music", "prompt": "x" * 5001}, "prompt"),
        ({"prompt": "x"}, "model"),
        ({"model": "suno-v9", "prompt": "x"}, "model"),
        ({"model": "elevenlabs-music", "prompt": "x", "seed": 1}, "seed"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": []}, "elevenlabsParams"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": {"music_length_ms": 4999}},
         "elevenlabsParams.music_length_ms"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": {"music_length_ms": 300001}},
         "elevenlabsParams.music_length_ms"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": {"music_length_ms": 6000.5}},
         "elevenlabsParams.music_length_ms"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": {"music_length_ms": "60000"}},
         "elevenlabsParams.music_length_ms"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": {"force_instrumental": "yes"}},
         "elevenlabsParams.force_instrumental"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": {"output_format": "mp3_44100_128"}},
         "elevenlabsParams.output_format"),
        ({"model": "elevenlabs-music", "prompt": "x", "elevenlabsParams": {"duration": 10}},
         "elevenlabsParams.duration"),
        ({"model": "elevenlabs-music", "prompt": "x", "webhookUrl": "not a url"}, "webhookUrl"),
        ({"model": "elevenlabs-music", "prompt": "x", "webhookUrl": "https://h.test/x", "webhookEvents": []},
         "webhookEvents"),
        ({"model": "elevenlabs-music", "prompt": "x", "webhookUrl": "https://h.test/x", "webhookEvents": ["done"]},
         "webhookEvents"),
    ],
)
def test_invalid_fields_are_400_with_details_naming_the_field(client, emulator, body, field):
    response = client.post(SUBMIT, json=body)

    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "Invalid request body"
    assert field in answer["details"] and answer["details"][field]
    assert emulator.stats()["submissions"]["total"] == 0


@pytest.mark.parametrize("length", [5000, 300000, 61500])
def test_lengths_inside_the_range_are_accepted(client, length):
    # The API's schema asks only for an integer in range; the 1000 ms step is the docs' slider.
    assert submit(client, elevenlabsParams={"music_length_ms": length}).status_code == 202


def test_body_that_is_not_json_is_400(client):
    response = client.post(SUBMIT, content=b"prompt=hello", headers={"Content-Type": "text/plain"})

    assert response.status_code == 400
    assert response.json() == {"error": "Invalid JSON body"}


# --- forced outcomes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, message",
    [
        (400, "Invalid request body"),
        (401, "Invalid API key"),
        (402, "Insufficient credits"),
        (403, "API key is inactive or lacks permission"),
        (429, "Rate limit exceeded"),
        (500, "Internal server error"),
    ],
)
def test_marker_forces_the_submit_status(client, emulator, code, message):
    response = submit(client, prompt=f"Calm piano [emulate:{code}]")

    assert response.status_code == code
    assert response.json()["error"] == message
    assert emulator.stats()["submissions"]["total"] == 0
    assert emulator.stats()["rejected_submissions"]["by_status"] == {str(code): 1}


def test_forced_402_and_429_carry_their_documented_extras(client):
    insufficient = submit(client, prompt="x [emulate:402]", elevenlabsParams={"music_length_ms": 90000})
    limited = submit(client, prompt="x [emulate:429]")

    assert insufficient.json() == {"error": "Insufficient credits", "creditsRequired": 60, "creditsAvailable": 0}
    assert limited.headers["Retry-After"] == "1"
    assert set(submit(client, prompt="x [emulate:400]").json()["details"]) == {"prompt"}


def test_unavailable_setting_answers_503_like_an_outage(client, emulator):
    emulator.configure(apiframe_unavailable=True)

    response = submit(client)

    assert response.status_code == 503
    assert response.json() == {"error": "Service temporarily unavailable"}


@pytest.mark.parametrize("marker", ["failed", "error"])
def test_marker_makes_the_job_fail_with_an_error_and_no_charge(client, marker):
    job_id = submit(client, prompt=f"Calm piano [emulate:{marker}]").json()["jobId"]

    done = wait_until_terminal(client, job_id)[-1]

    assert done["status"] == "FAILED"
    assert done["result"] is None
    assert isinstance(done["error"], str) and done["error"]
    assert done["creditCost"] == 0
    assert client.get(f"/apiframe/media/{job_id}/track-1.mp3").status_code == 404


def test_slow_marker_stretches_the_job(client, emulator):
    job_id = submit(client, prompt="Calm piano [emulate:slow]").json()["jobId"]

    assert emulator.job(job_id).total_seconds == pytest.approx(5 * FAST["job_seconds"])
    time.sleep(FAST["job_seconds"] + 0.05)
    assert client.get(JOBS + job_id).json()["status"] in {"QUEUED", "PROCESSING"}


def test_unknown_marker_is_400(client):
    response = submit(client, prompt="Calm piano [emulate:fail]")

    assert response.status_code == 400
    assert "emulate:fail" in response.json()["details"]["prompt"][0]


# --- idempotency ------------------------------------------------------------------------


def test_repeated_idempotency_key_returns_the_original_job(client, emulator):
    headers = {"Idempotency-Key": "gen-42"}

    first = submit(client, headers=headers).json()
    again = submit(client, headers=headers)

    assert again.status_code == 202
    assert again.json()["jobId"] == first["jobId"]
    assert emulator.stats()["submissions"]["total"] == 1


def test_idempotency_key_reused_with_another_body_is_409(client):
    submit(client, headers={"Idempotency-Key": "gen-43"})

    response = submit(client, prompt="Something else", headers={"Idempotency-Key": "gen-43"})

    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["error"]


def test_idempotency_keys_belong_to_their_api_key(client, emulator):
    first = submit(client, headers={"Idempotency-Key": "gen-44"}).json()["jobId"]
    other = submit(client, headers={"Idempotency-Key": "gen-44", "X-API-Key": "other-key"}).json()["jobId"]

    assert first != other
    assert emulator.stats()["submissions"]["total"] == 2


# --- webhooks ------------------------------------------------------------------------


def test_http_webhook_is_rejected_unless_allowed(client, emulator, receiver):
    rejected = submit(client, webhookUrl=receiver.url)
    emulator.configure(allow_http_webhooks=True)
    accepted = submit(client, webhookUrl=receiver.url)

    assert rejected.status_code == 400
    assert "webhookUrl" in rejected.json()["details"]
    assert accepted.status_code == 202


def test_webhooks_are_signed_with_the_submitting_key_and_name_their_event(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True)
    job_id = submit(client, webhookUrl=receiver.url).json()["jobId"]

    received = wait_for_terminal(receiver)

    events = [callback["json"]["event"] for callback in received]
    assert events[-1] == "completed" and "progress" in events
    assert set(events[:-1]) == {"progress"}
    for callback in received:
        headers, body = callback["headers"], callback["body"]
        assert headers["X-Webhook-Signature"] == expected_signature(body)
        assert headers["X-Webhook-Event"] == callback["json"]["event"]
        assert headers["Content-Type"] == "application/json"
        assert set(callback["json"]) == {
            "event", "jobId", "status", "progress", "result", "error", "creditCost", "completedAt"
        }
        assert callback["json"]["jobId"] == job_id
    assert {callback["json"]["status"] for callback in received[:-1]} == {"PROCESSING"}
    terminal = received[-1]["json"]
    assert terminal["status"] == "COMPLETED" and terminal["progress"] == 100
    assert terminal["result"] == client.get(JOBS + job_id).json()["result"]


def test_emulated_webhooks_pass_the_adapters_verification(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True)
    submit(client, webhookUrl=receiver.url, webhookEvents=["completed"])
    callback = wait_for_terminal(receiver)[-1]
    adapter = Apiframe(api_key=KEY, base_url="http://unused.test")

    state = adapter.parse_callback(callback["headers"], callback["body"])

    assert state.state is State.SUCCEEDED and len(state.media) == 1
    adapter.close()


def test_webhook_events_limit_what_is_posted(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True)
    job_id = submit(client, webhookUrl=receiver.url, webhookEvents=["completed"]).json()["jobId"]

    received = wait_for_terminal(receiver)
    time.sleep(0.05)

    assert [callback["json"]["event"] for callback in receiver.received] == ["completed"]
    assert received[0]["json"]["jobId"] == job_id
    assert client.get(JOBS + job_id).json()["webhookStatus"] == "delivered"


def test_failed_job_posts_a_failed_event_with_the_error(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True)
    submit(client, prompt="x [emulate:failed]", webhookUrl=receiver.url, webhookEvents=["failed", "completed"])

    callback = wait_for_terminal(receiver)[-1]

    assert callback["headers"]["X-Webhook-Event"] == "failed"
    assert callback["json"]["status"] == "FAILED" and callback["json"]["error"]
    assert callback["json"]["result"] is None


def test_bad_signature_setting_sends_a_signature_the_adapter_refuses(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True, apiframe_bad_signature=True)
    submit(client, webhookUrl=receiver.url, webhookEvents=["completed"])
    callback = wait_for_terminal(receiver)[-1]
    adapter = Apiframe(api_key=KEY, base_url="http://unused.test")

    assert callback["headers"]["X-Webhook-Signature"] != expected_signature(callback["body"])
    with pytest.raises(CallbackRejected):
        adapter.parse_callback(callback["headers"], callback["body"])
    adapter.close()


def test_webhooks_to_hosts_off_this_machine_are_not_sent(client, emulator):
    job_id = submit(client, webhookUrl="https://studio.example.com/hook", webhookEvents=["completed"]).json()["jobId"]

    wait_until_terminal(client, job_id)
    wait_for(lambda: emulator.stats()["callbacks_skipped"]["total"] == 1)

    stats = emulator.stats()
    assert stats["callbacks_skipped"]["by_request_id"] == {job_id: 1}
    assert stats["callback_attempts"]["total"] == 0


def test_reset_stops_pending_webhooks(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True, job_seconds=0.3)
    submit(client, webhookUrl=receiver.url, webhookEvents=["completed"])

    emulator.reset()
    time.sleep(0.4)

    assert receiver.received == []


# --- counters ---------------------------------------------------------------------------


def test_stats_count_submissions_polls_and_media_fetches(client, emulator):
    job_id, document, _ = completed_track(client)
    client.get(document["result"]["tracks"][0]["audioUrl"])
    submit(client, prompt="x [emulate:402]")

    stats = emulator.stats()

    assert stats["submissions"] == {"total": 1, "by_request_id": {job_id: 1}}
    assert stats["status_calls"]["by_request_id"][job_id] >= 2
    assert stats["media_fetches"] == {"total": 2, "by_request_id": {job_id: 2}}
    assert stats["rejected_submissions"]["by_status"] == {"402": 1}
