"""The emulator speaks the Pixazo gateway as specs/000 describes it, over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import io
import time
import wave

import httpx
import pytest

from ...conftest import wait_for
from ..emulator.callbacks import receiver_fixture

MUSIC = "/pixazo/elevenlabs-music-api-368/v1/elevenlabs-music-api-request"
SPEECH = "/pixazo/eleven-v3-alpha-954/v1/eleven-v3-alpha-request"
STATUS = "/pixazo/v2/requests/status/"
AUTH_HEADERS = KEY = {"Ocp-Apim-Subscription-Key": "test-key"}
TERMINAL = {"COMPLETED", "FAILED", "ERROR"}
FAST = {"queued_seconds": 0.05, "job_seconds": 0.15, "sync_interval": 0.05, "webhook_retry_delay": 0.02}


receiver = receiver_fixture("/hooks/pixazo/secret-token")

def submit_music(client, prompt="Calm piano over rain", headers=None, **fields):
    return client.post(MUSIC, json={"prompt": prompt, **fields}, headers=headers or {})


def submit_speech(client, text="Hello there, welcome to the studio.", voice="Aria", headers=None, **fields):
    return client.post(SPEECH, json={"text": text, "voice": voice, **fields}, headers=headers or {})


def wait_until_terminal(client, request_id, timeout=5.0) -> list[dict]:
    """Poll like the studio does and return every document seen, the terminal one last."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = client.get(STATUS + request_id).json()
        seen.append(document)
        if document["status"] in TERMINAL:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{request_id} never finished: {seen[-1]}")


def completed_media(client, **fields):
    request_id = submit_music(client, **fields).json()["request_id"]
    document = wait_until_terminal(client, request_id)[-1]
    return request_id, document, client.get(document["output"]["media_url"][0])


# --- submit and lifecycle ---------------------------------------------------------


def test_music_submit_is_queued_with_a_polling_url(running, client):
    response = submit_music(client, respect_sections_durations=True, output_format="mp3_44100_128")

    assert response.status_code == 202
    body = response.json()
    assert body["request_id"].startswith("elevenlabs-music-api-368_")
    assert body["status"] == "QUEUED"
    assert body["polling_url"] == f"{running.base_url}{STATUS}{body['request_id']}"


def test_speech_submit_is_queued(client):
    response = submit_speech(client, stability=0.5, similarity_boost=0.75, speed=1)

    assert response.status_code == 202
    assert response.json()["request_id"].startswith("eleven-v3-alpha-954_")


def test_job_goes_queued_then_processing_then_completed(running, client):
    request_id = submit_music(client).json()["request_id"]

    seen = wait_until_terminal(client, request_id)

    statuses = [document["status"] for document in seen]
    assert statuses[0] == "QUEUED" and "PROCESSING" in statuses and statuses[-1] == "COMPLETED"
    assert statuses == sorted(statuses, key=["QUEUED", "PROCESSING", "COMPLETED"].index)
    pending, done = seen[0], seen[-1]
    assert pending["output"] is None and pending["completed_at"] is None and pending["error"] is None
    assert list(done) == [
        "request_id", "status", "model_id", "error", "output", "created_at", "updated_at", "completed_at"
    ]
    assert done["model_id"] == "elevenlabs-music-api-368"
    assert done["error"] is None
    assert done["output"] == {
        "media_url": [f"{running.base_url}/pixazo/media/{request_id}/output.wav"],
        "media_type": "audio/wav",
    }
    assert done["created_at"].endswith("Z") and done["completed_at"]


def test_media_url_follows_the_host_the_client_used(client):
    request_id = submit_music(client).json()["request_id"]
    wait_until_terminal(client, request_id)

    document = client.get(STATUS + request_id, headers={"Host": "emulator.test:9999"}).json()

    assert document["output"]["media_url"][0].startswith("http://emulator.test:9999/pixazo/media/")


def test_unknown_request_id_is_404(client):
    response = client.get(STATUS + "elevenlabs-music-api-368_nope")

    assert response.status_code == 404
    assert set(response.json()) == {"error", "message"}


# --- media ------------------------------------------------------------------------


def test_default_music_is_a_stereo_wav_with_stable_bytes(client, emulator):
    request_id, _, response = completed_media(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert int(response.headers["content-length"]) == len(response.content)
    with wave.open(io.BytesIO(response.content)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (2, 2, 44100)
        assert audio.getnframes() == 6 * 44100
    again = client.get(response.request.url)
    assert hashlib.sha256(again.content).hexdigest() == emulator.media_sha256(request_id)
    assert again.content == response.content


def test_mp3_output_format_serves_mpeg(client):
    _, document, response = completed_media(client, output_format="mp3_44100_128")

    assert document["output"]["media_type"] == "audio/mpeg"
    assert document["output"]["media_url"][0].endswith("/output.mp3")
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content[:3] == b"ID3" or (response.content[0] == 0xFF and response.content[1] & 0xE0 == 0xE0)


def test_pcm_output_format_serves_wav_at_that_rate(client):
    _, _, response = completed_media(client, output_format="pcm_16000")

    with wave.open(io.BytesIO(response.content)) as audio:
        assert audio.getframerate() == 16000


def test_speech_is_mono_and_longer_for_longer_text(client, emulator):
    short_id = submit_speech(client, text="Hi there.").json()["request_id"]
    long_text = "This sentence is quite a lot longer than the other one. " * 2
    long_id = submit_speech(client, text=long_text).json()["request_id"]
    wait_until_terminal(client, long_id)

    lengths = []
    for request_id in (short_id, long_id):
        document = client.get(STATUS + request_id).json()
        with wave.open(io.BytesIO(client.get(document["output"]["media_url"][0]).content)) as audio:
            assert audio.getnchannels() == 1
            lengths.append(audio.getnframes() / audio.getframerate())
    assert lengths[0] == 1.0 and 7 < lengths[1] <= 10


def test_media_is_not_served_before_completion_or_with_a_wrong_extension(running, client):
    request_id = submit_music(client).json()["request_id"]
    media = f"/pixazo/media/{request_id}/output."

    assert client.get(media + "wav").status_code == 404
    wait_until_terminal(client, request_id)
    assert client.get(media + "mp3").status_code == 404
    assert httpx.get(running.base_url + media + "wav").status_code == 200  # no key needed, like a CDN


# --- auth and validation -------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Ocp-Apim-Subscription-Key": ""}])
def test_missing_key_is_401(running, headers):
    for response in (
        httpx.post(running.base_url + MUSIC, json={"prompt": "x"}, headers=headers),
        httpx.get(running.base_url + STATUS + "anything", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"


def test_configured_key_must_match(client, emulator):
    emulator.configure(api_key="right-key")

    assert submit_music(client, headers={"Ocp-Apim-Subscription-Key": "wrong"}).status_code == 401
    assert submit_music(client, headers={"Ocp-Apim-Subscription-Key": "right-key"}).status_code == 202


def test_forbidden_key_is_403(client):
    response = submit_music(client, headers={"Ocp-Apim-Subscription-Key": "forbidden"})

    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden"


@pytest.mark.parametrize(
    "path, body",
    [
        (MUSIC, {}),
        (MUSIC, {"prompt": ""}),
        (MUSIC, {"prompt": "   "}),
        (MUSIC, {"prompt": 42}),
        (MUSIC, {"prompt": "x", "respect_sections_durations": "yes"}),
        (MUSIC, {"prompt": "x", "output_format": "flac_44100"}),
        (SPEECH, {"voice": "Aria"}),
        (SPEECH, {"text": "Hi"}),
        (SPEECH, {"text": "Hi", "voice": "Aria", "stability": 1.5}),
        (SPEECH, {"text": "Hi", "voice": "Aria", "similarity_boost": -0.1}),
        (SPEECH, {"text": "Hi", "voice": "Aria", "speed": 3}),
        (SPEECH, {"text": "Hi", "voice": "Aria", "speed": "fast"}),
        (SPEECH, {"text": "Hi", "voice": "Aria", "stability": True}),
        (MUSIC, ["prompt"]),
    ],
)
def test_invalid_fields_are_400(client, path, body):
    response = client.post(path, json=body)

    assert response.status_code == 400
    assert set(response.json()) == {"error", "message"}


def test_body_that_is_not_json_is_400(client):
    response = client.post(MUSIC, content=b"prompt=hello", headers={"Content-Type": "text/plain"})

    assert response.status_code == 400


# --- forced outcomes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, error",
    [
        (400, "Model not found"),
        (401, "Unauthorized"),
        (402, "Insufficient Balance"),
        (403, "Forbidden"),
        (429, "Too Many Requests"),
        (500, "Internal Server Error"),
    ],
)
def test_marker_forces_the_submit_status(client, emulator, code, error):
    response = submit_music(client, prompt=f"Calm piano [emulate:{code}]")

    assert response.status_code == code
    assert response.json()["error"] == error
    assert emulator.stats()["submissions"]["total"] == 0
    assert emulator.stats()["rejected_submissions"]["by_status"] == {str(code): 1}


def test_forced_402_and_429_bodies_match_the_spec(client):
    assert submit_speech(client, text="Hi [emulate:402]").json() == {
        "error": "Insufficient Balance",
        "message": "Your wallet does not have enough balance.",
    }
    assert submit_music(client, prompt="x [emulate:400]").json() == {
        "error": "Model not found",
        "message": "Model 'elevenlabs-music-api-368' not found or is disabled",
    }
    assert submit_music(client, prompt="x [emulate:429]").headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "marker, status, error",
    [
        ("failed", "FAILED", "Generation failed: the model could not render this prompt"),
        ("error", "ERROR", None),
    ],
)
def test_marker_makes_the_job_end_badly(client, marker, status, error):
    request_id = submit_music(client, prompt=f"Calm piano [emulate:{marker}]").json()["request_id"]

    done = wait_until_terminal(client, request_id)[-1]

    assert done["status"] == status
    assert done["output"] is None
    assert done["error"] == error if error else done["error"]
    assert client.get(f"/pixazo/media/{request_id}/output.wav").status_code == 404


def test_slow_marker_stretches_the_job(client, emulator):
    request_id = submit_music(client, prompt="Calm piano [emulate:slow]").json()["request_id"]

    assert emulator.job(request_id).total_seconds == pytest.approx(5 * FAST["job_seconds"])
    time.sleep(FAST["job_seconds"] + 0.05)
    assert client.get(STATUS + request_id).json()["status"] in {"QUEUED", "PROCESSING"}


def test_unknown_marker_is_400(client):
    response = submit_music(client, prompt="Calm piano [emulate:fail]")

    assert response.status_code == 400
    assert "emulate:fail" in response.json()["message"]


# --- webhooks ------------------------------------------------------------------------


def test_http_webhook_is_rejected_unless_allowed(client, emulator, receiver):
    rejected = submit_music(client, headers={"X-Webhook-URL": receiver.url})
    emulator.configure(allow_http_webhooks=True)
    accepted = submit_music(client, headers={"X-Webhook-URL": receiver.url})

    assert rejected.status_code == 400
    assert "http://" in rejected.json()["message"]
    assert accepted.status_code == 202


def test_unknown_webhook_mode_is_400(client):
    response = submit_music(client, headers={"X-Webhook-URL": "https://studio.test/hook", "X-Webhook-Mode": "often"})

    assert response.status_code == 400


def test_terminal_webhook_is_posted_once_with_the_status_document(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True)
    request_id = submit_music(client, headers={"X-Webhook-URL": receiver.url}).json()["request_id"]

    received = receiver.wait_for(1)
    wait_for(lambda: emulator.stats()["callbacks_sent"]["total"] == 1)
    time.sleep(0.15)  # and no second one follows

    assert len(receiver.received) == 1
    callback = received[0]
    assert callback["path"] == "/hooks/pixazo/secret-token"
    assert callback["headers"]["Content-Type"] == "application/json"
    assert callback["json"]["status"] == "COMPLETED"
    assert callback["json"] == client.get(STATUS + request_id).json()
    assert emulator.stats()["callbacks_sent"]["by_request_id"] == {request_id: 1}


def test_failed_job_webhook_carries_the_error(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True)
    submit_music(client, prompt="x [emulate:failed]", headers={"X-Webhook-URL": receiver.url})

    callback = receiver.wait_for(1)[0]["json"]

    assert callback["status"] == "FAILED" and callback["output"] is None and callback["error"]


def test_sync_webhook_posts_progress_then_the_terminal_status(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True, job_seconds=0.25)
    headers = {"X-Webhook-URL": receiver.url, "X-Webhook-Mode": "sync"}
    request_id = submit_speech(client, headers=headers).json()["request_id"]

    wait_until_terminal(client, request_id)
    time.sleep(0.1)

    statuses = [callback["json"]["status"] for callback in receiver.received]
    assert len(statuses) >= 3
    assert set(statuses[:-1]) <= {"QUEUED", "PROCESSING"} and "PROCESSING" in statuses
    assert statuses[-1] == "COMPLETED"


def test_duplicate_callbacks_deliver_the_terminal_status_twice(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True, duplicate_callbacks=True)
    request_id = submit_music(client, headers={"X-Webhook-URL": receiver.url}).json()["request_id"]

    received = receiver.wait_for(2)
    wait_for(lambda: emulator.stats()["callbacks_sent"]["total"] == 2)

    assert [callback["json"]["status"] for callback in received] == ["COMPLETED", "COMPLETED"]
    assert emulator.stats()["callbacks_sent"]["by_request_id"] == {request_id: 2}


def test_failed_delivery_is_retried(client, emulator, receiver):
    emulator.configure(allow_http_webhooks=True)
    receiver.answers = [500]
    request_id = submit_music(client, headers={"X-Webhook-URL": receiver.url}).json()["request_id"]

    receiver.wait_for(2)
    wait_for(lambda: emulator.stats()["callbacks_sent"]["total"] == 1)

    stats = emulator.stats()
    assert stats["callback_attempts"]["by_request_id"] == {request_id: 2}
    assert stats["callbacks_sent"]["by_request_id"] == {request_id: 1}


def test_callbacks_to_hosts_off_this_machine_are_not_sent(client, emulator):
    request_id = submit_music(client, headers={"X-Webhook-URL": "https://studio.example.com/hook"}).json()["request_id"]

    wait_until_terminal(client, request_id)
    wait_for(lambda: emulator.stats()["callbacks_skipped"]["total"] == 1)

    stats = emulator.stats()
    assert stats["callbacks_skipped"]["by_request_id"] == {request_id: 1}
    assert stats["callback_attempts"]["total"] == 0


# --- counters ------------------------------------------------------------------------


def test_stats_count_submissions_polls_and_media_fetches(client, emulator):
    request_id, document, _ = completed_media(client)
    client.get(document["output"]["media_url"][0])
    submit_music(client, prompt="x [emulate:402]")

    stats = emulator.stats()

    assert stats["submissions"] == {"total": 1, "by_request_id": {request_id: 1}}
    assert stats["status_calls"]["by_request_id"][request_id] >= 2
    assert stats["media_fetches"] == {"total": 2, "by_request_id": {request_id: 2}}
    assert stats["rejected_submissions"]["total"] == 1
