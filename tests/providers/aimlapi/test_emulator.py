"""The emulator speaks AI/ML API as specs/001 (Stable Audio) and specs/002 (Eleven Music) describe it,
over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import io
import time
import wave

import httpx
import pytest

from providers.aimlapi import AimlApi
from providers.base import AuthFailed, InvalidRequest, OutOfCredit, ProviderDown, RateLimited, State
from providers.emulator import Emulator
from providers.emulator.config import ConfigError

GENERATE = "/aimlapi/v2/generate/audio"
AUTH_HEADERS = KEY = {"Authorization": "Bearer test-key"}
TERMINAL = {"completed", "error"}
FAST = {"queued_seconds": 0.05, "job_seconds": 0.15, "music_seconds": 2.0}
ERROR_FIELDS = {"message", "path", "requestId", "statusCode", "timestamp"}


def submit(client, model="stable-audio", prompt="Calm piano over rain", headers=None, **fields):
    return client.post(GENERATE, json={"model": model, "prompt": prompt, **fields}, headers=headers or {})


def poll(client, generation_id, headers=None):
    return client.get(GENERATE, params={"generation_id": generation_id}, headers=headers or {})


def wait_until_terminal(client, generation_id, timeout=5.0) -> list[dict]:
    """Poll like the studio does and return every document seen, the terminal one last."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = poll(client, generation_id).json()
        seen.append(document)
        if document["status"] in TERMINAL:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{generation_id} never finished: {seen[-1]}")


def completed_media(client, **fields):
    generation_id = submit(client, **fields).json()["id"]
    document = wait_until_terminal(client, generation_id)[-1]
    return generation_id, document, client.get(document["audio_file"]["url"])


def assert_gateway_error(response, status_code: int) -> dict:
    assert response.status_code == status_code
    body = response.json()
    assert set(body) == ERROR_FIELDS
    assert body["statusCode"] == status_code
    assert body["timestamp"].endswith("Z")
    return body


# --- submit and lifecycle ---------------------------------------------------------


def test_stable_audio_submit_answers_a_queued_generation_id(client):
    response = submit(client, seconds_start=1, seconds_total=5, steps=50)

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "queued"
    assert body["id"].endswith(":stable-audio")  # as the docs' example id


def test_eleven_music_submit_answers_a_bare_uuid(client):
    response = submit(client, model="elevenlabs/eleven_music", prompt="Upbeat synth-pop", music_length_ms=20000)

    assert response.status_code == 201
    assert len(response.json()["id"]) == 36


def test_legacy_submit_answer_carries_only_generation_id(client, emulator):
    emulator.configure(aimlapi_legacy_submit_answer=True)

    body = submit(client).json()

    assert list(body) == ["generation_id"]
    assert poll(client, body["generation_id"]).status_code == 200


def test_job_goes_queued_then_generating_then_completed(running, client):
    generation_id = submit(client, steps=40).json()["id"]

    seen = wait_until_terminal(client, generation_id)

    statuses = [document["status"] for document in seen]
    assert statuses[0] == "queued" and "generating" in statuses and statuses[-1] == "completed"
    assert statuses == sorted(statuses, key=["queued", "generating", "completed"].index)
    assert seen[0] == {"id": generation_id, "status": "queued", "error": None, "audio_file": None}
    done = seen[-1]
    audio_file = done["audio_file"]
    assert done["id"] == generation_id and done["error"] is None
    assert audio_file["url"] == f"{running.base_url}/aimlapi/media/{generation_id}/{audio_file['file_name']}"
    assert audio_file["content_type"] == "application/octet-stream"  # as the spec's example says for WAV
    assert audio_file["file_name"].startswith("tmp") and audio_file["file_name"].endswith(".wav")
    assert done["meta"] == {"usage": {"credits_used": 252 * 40}}  # 252 tokens per step


def test_unknown_generation_id_is_404_with_the_gateway_error_body(client):
    body = assert_gateway_error(poll(client, "nope:stable-audio"), 404)

    assert "nope:stable-audio" in body["message"]
    assert body["path"] == "/v2/generate/audio"


def test_poll_without_generation_id_is_400(client):
    assert_gateway_error(client.get(GENERATE), 400)


def test_unknown_path_is_404(client):
    body = assert_gateway_error(client.get("/aimlapi/v2/generate/video"), 404)

    assert body["message"] == "Cannot GET /v2/generate/video"


# --- media ------------------------------------------------------------------------


def test_stable_audio_is_a_stereo_wav_as_long_as_asked_with_stable_bytes(client, emulator):
    generation_id, document, response = completed_media(client, seconds_total=1)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert int(response.headers["content-length"]) == len(response.content) == document["audio_file"]["file_size"]
    with wave.open(io.BytesIO(response.content)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (2, 2, 44100)
        assert audio.getnframes() == 44100
    assert hashlib.sha256(response.content).hexdigest() == emulator.media_sha256(generation_id)
    assert client.get(response.request.url).content == response.content


def test_long_requests_are_capped_at_music_seconds(client):
    _, _, response = completed_media(client, seconds_total=47)

    with wave.open(io.BytesIO(response.content)) as audio:
        assert audio.getnframes() == FAST["music_seconds"] * 44100


def test_eleven_music_serves_mpeg(client):
    _, document, response = completed_media(client, model="elevenlabs/eleven_music", music_length_ms=10000)

    assert document["audio_file"]["content_type"] == "audio/mpeg"
    assert document["audio_file"]["file_name"].endswith(".mp3")
    assert document["meta"]["usage"]["credits_used"] > 0
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content[:3] == b"ID3" or (response.content[0] == 0xFF and response.content[1] & 0xE0 == 0xE0)


def test_media_is_not_served_before_completion_or_under_another_name(running, client):
    generation_id = submit(client).json()["id"]
    early = client.get(f"/aimlapi/media/{generation_id}/whatever.wav")
    document = wait_until_terminal(client, generation_id)[-1]
    url = document["audio_file"]["url"]

    assert early.status_code == 404
    assert client.get(url.rsplit("/", 1)[0] + "/other.wav").status_code == 404
    assert httpx.get(url).status_code == 200  # no key needed, like a CDN
    assert httpx.head(url).status_code == 200


# --- auth and validation -------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "test-key"}, {"Authorization": "Basic x"}],
    ids=["empty", "blank-bearer", "no-scheme", "basic"],
)
def test_missing_key_is_401_on_submit_and_poll(running, headers):
    for response in (
        httpx.post(running.base_url + GENERATE, json={"model": "stable-audio", "prompt": "x"}, headers=headers),
        httpx.get(running.base_url + GENERATE, params={"generation_id": "x"}, headers=headers),
    ):
        body = assert_gateway_error(response, 401)
        assert "requires a valid API key" in body["message"]


def test_no_authorization_header_at_all_is_401(running):
    response = httpx.post(running.base_url + GENERATE, json={"model": "stable-audio", "prompt": "x"})

    assert_gateway_error(response, 401)


def test_configured_key_must_match(client, emulator):
    emulator.configure(api_key="right-key")

    assert submit(client, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert submit(client, headers={"Authorization": "Bearer right-key"}).status_code == 201


def test_forbidden_key_is_403(client):
    body = assert_gateway_error(submit(client, headers={"Authorization": "Bearer forbidden"}), 403)

    assert body["message"] == "Forbidden resource"


@pytest.mark.parametrize(
    "body, message",
    [
        ({"prompt": "x"}, 'Required at "model"'),
        ({"model": "suno", "prompt": "x"}, "Invalid enum value. Expected 'stable-audio' | 'elevenlabs/eleven_music'"),
        ({"model": "stable-audio"}, 'Required at "prompt"'),
        ({"model": "stable-audio", "prompt": 42}, 'Expected string, received number at "prompt"'),
        ({"model": "stable-audio", "prompt": "  "}, 'at least 1 character(s) at "prompt"'),
        ({"model": "stable-audio", "prompt": "x", "seconds_total": 0}, 'greater than or equal to 1 at "seconds_total"'),
        ({"model": "stable-audio", "prompt": "x", "seconds_total": 48}, 'less than or equal to 47 at "seconds_total"'),
        ({"model": "stable-audio", "prompt": "x", "seconds_start": 48}, 'less than or equal to 47 at "seconds_start"'),
        ({"model": "stable-audio", "prompt": "x", "seconds_start": 0}, 'greater than or equal to 1 at "seconds_start"'),
        ({"model": "stable-audio", "prompt": "x", "steps": 0}, 'greater than or equal to 1 at "steps"'),
        ({"model": "stable-audio", "prompt": "x", "steps": 1001}, 'less than or equal to 1000 at "steps"'),
        ({"model": "stable-audio", "prompt": "x", "steps": 10.5}, 'Expected integer, received float at "steps"'),
        ({"model": "stable-audio", "prompt": "x", "steps": "10"}, 'Expected number, received string at "steps"'),
        ({"model": "stable-audio", "prompt": "x", "steps": True}, 'Expected number, received boolean at "steps"'),
        ({"model": "elevenlabs/eleven_music", "prompt": "x" * 2001}, 'at most 2000 character(s) at "prompt"'),
        (
            {"model": "elevenlabs/eleven_music", "prompt": "x", "music_length_ms": 9999},
            'greater than or equal to 10000 at "music_length_ms"',
        ),
        (
            {"model": "elevenlabs/eleven_music", "prompt": "x", "music_length_ms": 300001},
            'less than or equal to 300000 at "music_length_ms"',
        ),
    ],
)
def test_invalid_fields_are_400_body_validation_errors(client, emulator, body, message):
    response = client.post(GENERATE, json=body)

    error = assert_gateway_error(response, 400)
    assert error["message"].startswith("Body validation error! ")
    assert message in error["message"]
    assert emulator.stats()["submissions"]["total"] == 0


@pytest.mark.parametrize(
    "fields",
    [
        {"model": "stable-audio", "seconds_start": 1, "seconds_total": 47, "steps": 1000},
        {"model": "stable-audio", "seconds_total": 1, "steps": 1},
        {"model": "elevenlabs/eleven_music", "prompt": "x" * 2000, "music_length_ms": 10000},
        {"model": "elevenlabs/eleven_music", "music_length_ms": 300000},
    ],
)
def test_values_at_the_documented_limits_are_accepted(client, fields):
    assert client.post(GENERATE, json={"prompt": "x", **fields}).status_code == 201


def test_body_that_is_not_a_json_object_is_400(client):
    not_json = client.post(GENERATE, content=b"prompt=hello", headers={"Content-Type": "text/plain"})
    a_list = client.post(GENERATE, json=["prompt"])

    assert_gateway_error(not_json, 400)
    assert "Expected object, received array" in assert_gateway_error(a_list, 400)["message"]


# --- forced outcomes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "marker, status_code, message",
    [
        (400, 400, "Body validation error!"),
        (401, 401, "requires a valid API key"),
        (402, 403, "You've run out of credits"),  # the gateway answers an empty balance with 403
        (403, 403, "Forbidden resource"),
        (429, 429, "Too Many Requests"),
        (500, 500, "Something wrong with the server"),
    ],
)
def test_marker_forces_the_documented_error(client, emulator, marker, status_code, message):
    response = submit(client, prompt=f"Calm piano [emulate:{marker}]")

    body = assert_gateway_error(response, status_code)
    assert message in body["message"]
    assert emulator.stats()["submissions"]["total"] == 0
    assert emulator.stats()["rejected_submissions"]["by_status"] == {str(status_code): 1}


@pytest.mark.parametrize("marker", ["failed", "error"])
def test_marker_makes_the_job_end_in_error(client, marker):
    generation_id = submit(client, prompt=f"Calm piano [emulate:{marker}]").json()["id"]

    done = wait_until_terminal(client, generation_id)[-1]

    assert done["status"] == "error"
    assert done["audio_file"] is None
    assert set(done["error"]) == {"name", "message"} and done["error"]["message"]


def test_slow_marker_stretches_the_job(client, emulator):
    generation_id = submit(client, prompt="Calm piano [emulate:slow]").json()["id"]

    assert emulator.job(generation_id).total_seconds == pytest.approx(5 * FAST["job_seconds"])
    time.sleep(FAST["job_seconds"] + 0.05)
    assert poll(client, generation_id).json()["status"] in {"queued", "generating"}


def test_unknown_marker_is_400(client):
    body = assert_gateway_error(submit(client, prompt="Calm piano [emulate:fail]"), 400)

    assert "emulate:fail" in body["message"]


# --- the adapter against the emulator ----------------------------------------------------


def test_adapter_runs_both_models_to_completion(running, emulator):
    adapter = AimlApi(api_key="test-key", base_url=running.url("aimlapi"))
    try:
        for model, params in (
            ("stable-audio", {"prompt": "door creak", "seconds_total": 1, "steps": 10}),
            ("elevenlabs/eleven_music", {"prompt": "synth-pop", "music_length_ms": 10000}),
        ):
            submitted = adapter.submit(model, params)
            deadline = time.monotonic() + 5
            while not (job := adapter.status(submitted.external_id)).finished and time.monotonic() < deadline:
                time.sleep(0.02)
            assert job.state is State.SUCCEEDED
            assert job.media[0].content_type in ("audio/wav", "audio/mpeg")
            assert httpx.get(job.media[0].url).status_code == 200
        assert emulator.stats()["submissions"]["total"] == 2
    finally:
        adapter.close()


@pytest.mark.parametrize(
    "marker, error",
    [
        (400, InvalidRequest),
        (401, AuthFailed),
        (402, OutOfCredit),
        (403, AuthFailed),
        (429, RateLimited),
        (500, ProviderDown),
    ],
)
def test_adapter_maps_every_forced_error(running, emulator, marker, error):
    adapter = AimlApi(api_key="test-key", base_url=running.url("aimlapi"))
    try:
        with pytest.raises(error) as caught:
            adapter.submit("stable-audio", {"prompt": f"x [emulate:{marker}]"})
    finally:
        adapter.close()

    assert caught.value.provider == "AI/ML API"
    assert type(caught.value) is error


# --- counters ---------------------------------------------------------------------------------


def test_stats_count_submissions_polls_and_media_fetches(client, emulator):
    generation_id, document, _ = completed_media(client)
    client.get(document["audio_file"]["url"])
    client.head(document["audio_file"]["url"])
    submit(client, prompt="x [emulate:402]")

    stats = emulator.stats()

    assert stats["submissions"] == {"total": 1, "by_request_id": {generation_id: 1}}
    assert stats["status_calls"]["by_request_id"][generation_id] >= 2
    assert stats["media_fetches"] == {"total": 2, "by_request_id": {generation_id: 2}}
    assert stats["rejected_submissions"] == {"total": 1, "by_status": {"403": 1}}
    assert stats["callback_attempts"]["total"] == 0  # the API has no webhooks


def test_legacy_submit_knob_is_validated():
    with pytest.raises(ConfigError):
        Emulator(aimlapi_legacy_submit_answer="yes")
