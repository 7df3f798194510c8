"""The AI/ML API adapter against a mocked gateway (specs 001 and 002): exact requests, every status,
the error answers peculiar to it. The key on every request, the common error statuses, unreadable
answers and timeouts are the same for every adapter: tests/providers/test_contract.py.

No test touches the network: respx answers every request and fails on any it does not know.
"""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import respx

from providers.aimlapi import AimlApi
from providers.base import (
    CallbackRejected,
    Cost,
    CostUnit,
    ErrorKind,
    InvalidRequest,
    Media,
    OutOfCredit,
    ProviderDown,
    RateLimited,
    State,
    Submitted,
)

BASE_URL = "https://api.aimlapi.test"
API_KEY = "aiml-k-123"
GENERATE = "/v2/generate/audio"

STABLE_AUDIO = "stable-audio"
ELEVEN_MUSIC = "elevenlabs/eleven_music"
STABLE_AUDIO_PARAMS = {
    "prompt": "lo-fi pop hip-hop ambient music",
    "seconds_start": 2,
    "seconds_total": 10,
    "steps": 250,
}
ELEVEN_MUSIC_PARAMS = {
    "prompt": "lo-fi pop hip-hop ambient music, slow intro: 10 s, then faster and with loud bass: 10 s",
    "music_length_ms": 20000,
}

# Ids as the docs' examples show them.
STABLE_ID = "e6dcf61f-d3e5-4062-95e8-8b8fd0031cad:stable-audio"
MUSIC_ID = "60ac7c34-3224-4b14-8e7d-0aa0db708325"
WAV_URL = "https://cdn.aimlapi.com/octopus/files/43647c7ac09c4d24944cb20734cd21f5_tmp1f_g_mml.wav"
MP3_URL = "https://cdn.aimlapi.com/generations/hippopotamus/1757963033314-8ca7729d-b78c-4d4c-9ef9-89b2fb3d07e8.mp3"

# The spec's completed poll answer for Stable Audio, verbatim.
STABLE_COMPLETED = {
    "id": STABLE_ID,
    "status": "completed",
    "audio_file": {
        "url": WAV_URL,
        "content_type": "application/octet-stream",
        "file_name": "tmp1f_g_mml.wav",
        "file_size": 7938078,
    },
}


def gateway_error(status_code: int, message) -> dict:
    """The documented error body: {message, path, requestId, statusCode, timestamp}."""
    return {
        "message": message,
        "path": GENERATE,
        "requestId": "798b860e-98c2-4e8e-8c50-550bcfc2eccc",
        "statusCode": status_code,
        "timestamp": "2025-03-11T07:13:27.813Z",
    }


@pytest.fixture
def adapter():
    aimlapi = AimlApi(api_key=API_KEY, base_url=BASE_URL + "/")
    yield aimlapi
    aimlapi.close()


@pytest.fixture
def gateway():
    """Every route must be called: a test that mocks a request expects the adapter to make it."""
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def mock_submit(gateway, status_code: int = 201, **response):
    return gateway.post(GENERATE).mock(return_value=httpx.Response(status_code, **response))


def mock_poll(gateway, generation_id: str = STABLE_ID, status_code: int = 200, **response):
    route = gateway.get(GENERATE, params={"generation_id": generation_id})
    return route.mock(return_value=httpx.Response(status_code, **response))


def submit_stable_audio(adapter, **kwargs) -> Submitted:
    return adapter.submit(STABLE_AUDIO, STABLE_AUDIO_PARAMS, **kwargs)


# --- The outgoing request ---------------------------------------------------------------


def test_stable_audio_submit_sends_model_prompt_seconds_and_steps(adapter, gateway):
    route = mock_submit(gateway, json={"id": STABLE_ID, "status": "queued"})

    submitted = submit_stable_audio(adapter)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == BASE_URL + GENERATE
    assert json.loads(request.content) == {
        "model": "stable-audio",
        "prompt": "lo-fi pop hip-hop ambient music",
        "seconds_start": 2,
        "seconds_total": 10,
        "steps": 250,
    }
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert submitted == Submitted(external_id=STABLE_ID)


def test_eleven_music_submit_sends_model_prompt_and_music_length_ms(adapter, gateway):
    route = mock_submit(gateway, 200, json={"id": MUSIC_ID, "status": "queued"})

    submitted = adapter.submit(ELEVEN_MUSIC, ELEVEN_MUSIC_PARAMS)

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == BASE_URL + GENERATE
    assert json.loads(request.content) == {"model": "elevenlabs/eleven_music", **ELEVEN_MUSIC_PARAMS}
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert submitted.external_id == MUSIC_ID


def test_submit_sends_only_the_parameters_the_user_set(adapter, gateway):
    route = mock_submit(gateway, json={"id": STABLE_ID, "status": "queued"})

    adapter.submit(STABLE_AUDIO, {"prompt": "door creak"})

    assert json.loads(route.calls.last.request.content) == {"model": "stable-audio", "prompt": "door creak"}


def test_older_generation_id_submit_answer_is_accepted(adapter, gateway):
    mock_submit(gateway, json={"generation_id": STABLE_ID})

    submitted = submit_stable_audio(adapter)

    assert submitted.external_id == STABLE_ID
    assert submitted.state is None


def test_callback_url_is_not_sent_because_the_api_has_no_webhooks(adapter, gateway):
    route = mock_submit(gateway, json={"id": STABLE_ID, "status": "queued"})

    submit_stable_audio(adapter, callback_url="https://studio.example.com/hooks/aimlapi/1/token/")

    request = route.calls.last.request
    assert "studio.example.com" not in request.content.decode()
    assert not any("webhook" in name.lower() or "callback" in name.lower() for name in request.headers)
    assert AimlApi.accepts_callbacks is False


# --- Status values ----------------------------------------------------------------------------


def test_queued_status_maps_to_queued(adapter, gateway):
    mock_poll(gateway, json={"id": STABLE_ID, "error": None, "status": "queued", "audio_file": None})

    job = adapter.status(STABLE_ID)

    assert job.state is State.QUEUED
    assert job.external_id == STABLE_ID
    assert not job.finished
    assert job.media == ()
    assert job.error == ""


def test_generating_status_maps_to_running(adapter, gateway):
    mock_poll(gateway, MUSIC_ID, json={"id": MUSIC_ID, "status": "generating", "error": None})

    job = adapter.status(MUSIC_ID)

    assert job.state is State.RUNNING
    assert not job.finished


def test_spec_completed_answer_maps_to_succeeded_with_the_wav_file(adapter, gateway):
    mock_poll(gateway, json=STABLE_COMPLETED)

    job = adapter.status(STABLE_ID)

    assert job.state is State.SUCCEEDED
    assert job.finished
    assert job.external_id == STABLE_ID
    # The gateway labels the WAV application/octet-stream; its file name says what it is.
    assert job.media == (Media(url=WAV_URL, content_type="audio/wav"),)
    assert job.error == ""
    assert job.cost is None


def test_completed_eleven_music_reports_mpeg_and_credits_used_as_cost(adapter, gateway):
    mock_poll(
        gateway,
        MUSIC_ID,
        json={
            "id": MUSIC_ID,
            "status": "completed",
            "audio_file": {"url": MP3_URL},
            "error": None,
            "meta": {"usage": {"credits_used": 120000}},
        },
    )

    job = adapter.status(MUSIC_ID)

    assert job.state is State.SUCCEEDED
    assert job.media == (Media(url=MP3_URL, content_type="audio/mpeg"),)
    assert job.cost == Cost(Decimal("120000"), CostUnit.CREDITS)


def test_completed_answer_keeps_a_declared_audio_content_type(adapter, gateway):
    audio_file = {"url": "https://cdn.aimlapi.com/x/file", "content_type": "audio/flac", "file_name": "file"}
    mock_poll(gateway, json={"id": STABLE_ID, "status": "completed", "audio_file": audio_file})

    job = adapter.status(STABLE_ID)

    assert job.media == (Media(url="https://cdn.aimlapi.com/x/file", content_type="audio/flac"),)


def test_completed_answer_with_an_audio_file_list_yields_every_file(adapter, gateway):
    files = [{"url": WAV_URL, "file_name": "a.wav"}, {"url": MP3_URL}]
    mock_poll(gateway, json={"id": STABLE_ID, "status": "completed", "audio_file": files})

    job = adapter.status(STABLE_ID)

    assert [m.url for m in job.media] == [WAV_URL, MP3_URL]
    assert [m.content_type for m in job.media] == ["audio/wav", "audio/mpeg"]


def test_error_status_maps_to_failed_with_the_error_message(adapter, gateway):
    mock_poll(
        gateway,
        json={
            "id": STABLE_ID,
            "status": "error",
            "audio_file": None,
            "error": {"name": "GenerationError", "message": "Prompt was flagged by the safety filter"},
        },
    )

    job = adapter.status(STABLE_ID)

    assert job.state is State.FAILED
    assert job.finished
    assert job.error == "Prompt was flagged by the safety filter"
    assert job.media == ()


@pytest.mark.parametrize(
    "error, expected",
    [
        ({"name": "TimeoutError"}, "TimeoutError"),
        ("upstream crashed", "upstream crashed"),
        (None, "generation failed"),
    ],
    ids=["name-only", "plain-string", "null"],
)
def test_error_status_always_says_something(adapter, gateway, error, expected):
    mock_poll(gateway, json={"id": STABLE_ID, "status": "error", "error": error})

    job = adapter.status(STABLE_ID)

    assert job.state is State.FAILED
    assert job.error == expected


def test_status_is_read_case_insensitively(adapter, gateway):
    mock_poll(gateway, json={"id": STABLE_ID, "status": "GENERATING"})

    assert adapter.status(STABLE_ID).state is State.RUNNING


def test_unknown_status_is_provider_down(adapter, gateway):
    mock_poll(gateway, json={"id": STABLE_ID, "status": "exploded"})

    with pytest.raises(ProviderDown) as caught:
        adapter.status(STABLE_ID)

    assert caught.value.retryable is True
    assert "exploded" in caught.value.message


def test_missing_status_is_provider_down(adapter, gateway):
    mock_poll(gateway, json={"id": STABLE_ID})

    with pytest.raises(ProviderDown):
        adapter.status(STABLE_ID)


@pytest.mark.parametrize(
    "audio_file",
    [None, {}, {"url": ""}, {"url": None}, [], "https://cdn.aimlapi.com/x.wav"],
    ids=["null", "empty", "blank-url", "null-url", "empty-list", "bare-string"],
)
def test_completed_without_an_audio_file_url_is_provider_down(adapter, gateway, audio_file):
    mock_poll(gateway, json={"id": STABLE_ID, "status": "completed", "audio_file": audio_file})

    with pytest.raises(ProviderDown) as caught:
        adapter.status(STABLE_ID)

    assert "audio_file" in caught.value.message


def test_a_status_answer_without_an_id_keeps_the_one_asked_for(adapter, gateway):
    mock_poll(gateway, json={"status": "queued"})

    assert adapter.status(STABLE_ID).external_id == STABLE_ID


# --- Error answers peculiar to AI/ML API ------------------------------------------------------


CALLS = {
    "submit": (lambda gateway, code, **kw: mock_submit(gateway, code, **kw), submit_stable_audio),
    "status": (lambda gateway, code, **kw: mock_poll(gateway, STABLE_ID, code, **kw), lambda a: a.status(STABLE_ID)),
}
ENDPOINTS = pytest.mark.parametrize("endpoint", list(CALLS))


def test_400_with_a_list_of_messages_joins_them(adapter, gateway):
    mock_submit(gateway, 400, json=gateway_error(400, ["prompt must be a string", "steps must not be less than 1"]))

    with pytest.raises(InvalidRequest) as caught:
        submit_stable_audio(adapter)

    assert caught.value.message == "prompt must be a string; steps must not be less than 1"


@ENDPOINTS
def test_403_out_of_credits_is_out_of_credit(adapter, gateway, endpoint):
    mock, call = CALLS[endpoint]
    message = (
        "You've run out of credits. Please top up your balance or update your payment method to continue: "
        "https://aimlapi.com/app/billing/"
    )
    mock(gateway, 403, json=gateway_error(403, message))

    with pytest.raises(OutOfCredit) as caught:
        call(adapter)

    error = caught.value
    assert error.user_message == "Insufficient balance at AI/ML API"
    assert error.kind is ErrorKind.CREDIT
    assert error.message == message
    assert error.status_code == 403
    assert error.retryable is False


def test_429_free_tier_limit_with_a_string_status_code_keeps_the_message(adapter, gateway):
    body = gateway_error(429, "Free-tier limit: You've reached your free limit for the hour.")
    body["statusCode"] = "429"  # the docs' example sends it as a string
    mock_submit(gateway, 429, json=body, headers={"Retry-After": "30"})

    with pytest.raises(RateLimited) as caught:
        submit_stable_audio(adapter)

    assert caught.value.message == "Free-tier limit: You've reached your free limit for the hour."
    assert caught.value.retry_after == 30.0


@ENDPOINTS
def test_504_generation_timeout_is_provider_down_with_the_code_and_message(adapter, gateway, endpoint):
    mock, call = CALLS[endpoint]
    mock(gateway, 504, json=gateway_error(504, "Generation timeout"))

    with pytest.raises(ProviderDown) as caught:
        call(adapter)

    error = caught.value
    assert error.status_code == 504
    assert error.retryable is True
    assert error.message == "HTTP 504: Generation timeout"
    assert error.user_message == "AI/ML API is unavailable (HTTP 504)"


def test_an_openai_style_nested_error_message_is_read(adapter, gateway):
    mock_submit(gateway, 400, json={"error": {"message": "Invalid model", "type": "invalid_request_error"}})

    with pytest.raises(InvalidRequest) as caught:
        submit_stable_audio(adapter)

    assert caught.value.message == "Invalid model"


# --- Malformed answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [{"id": "", "status": "queued"}, {"id": 42}, {"generation_id": None}, [{"id": STABLE_ID}]],
    ids=["empty-id", "numeric-id", "null-generation-id", "json-list"],
)
def test_submit_answer_without_a_usable_id_is_provider_down_and_maybe_accepted(adapter, gateway, body):
    mock_submit(gateway, json=body)

    with pytest.raises(ProviderDown) as caught:
        submit_stable_audio(adapter)

    assert caught.value.maybe_accepted is True  # a 2xx: the gateway may have taken the job
    assert "generation id" in caught.value.message


@pytest.mark.parametrize("status", [None, "submitted", "generating"], ids=["missing", "unknown", "generating"])
def test_submit_answer_with_an_id_but_no_final_status_leaves_it_to_polling(adapter, gateway, status):
    body = {"id": STABLE_ID} if status is None else {"id": STABLE_ID, "status": status}
    mock_submit(gateway, json=body)

    submitted = submit_stable_audio(adapter)

    assert submitted == Submitted(external_id=STABLE_ID, state=None)


def test_submit_answer_that_already_failed_reports_the_failure(adapter, gateway):
    mock_submit(gateway, json={"id": STABLE_ID, "status": "error", "error": {"name": "E", "message": "no capacity"}})

    submitted = submit_stable_audio(adapter)

    assert submitted.external_id == STABLE_ID
    assert submitted.state is not None and submitted.state.state is State.FAILED
    assert submitted.state.error == "no capacity"


def test_submit_answer_completed_without_a_url_is_left_to_polling(adapter, gateway):
    mock_submit(gateway, json={"id": STABLE_ID, "status": "completed", "audio_file": None})

    submitted = submit_stable_audio(adapter)

    assert submitted == Submitted(external_id=STABLE_ID, state=None)


def test_unreadable_credits_leave_the_cost_unknown(adapter, gateway):
    body = {**STABLE_COMPLETED, "meta": {"usage": {"credits_used": "lots"}}}
    mock_poll(gateway, json=body)

    assert adapter.status(STABLE_ID).cost is None


# --- Callbacks ---------------------------------------------------------------------------------


def test_callbacks_are_rejected_because_the_api_sends_none(adapter):
    with pytest.raises(CallbackRejected) as caught:
        adapter.parse_callback({"Content-Type": "application/json"}, json.dumps(STABLE_COMPLETED).encode())

    assert caught.value.provider == "AI/ML API"
