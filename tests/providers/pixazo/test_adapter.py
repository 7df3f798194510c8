"""The Pixazo adapter against a mocked gateway (spec 000): exact requests, every status, its
callbacks. The key on every request, the error statuses, unreadable answers and timeouts are the
same for every adapter: tests/providers/test_contract.py.

No test touches the network: respx answers every request and fails on any it does not know.
"""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from providers.base import (
    CallbackRejected,
    JobState,
    Media,
    ProviderDown,
    State,
    Submitted,
)
from providers.pixazo import Pixazo

BASE_URL = "https://gateway.pixazo.test"
API_KEY = "k-123"

MUSIC = "elevenlabs-music-api-368"
SPEECH = "eleven-v3-alpha-954"
MUSIC_PATH = "/elevenlabs-music-api-368/v1/elevenlabs-music-api-request"
SPEECH_PATH = "/eleven-v3-alpha-954/v1/eleven-v3-alpha-request"
STATUS_PATH = "/v2/requests/status/{}"

MUSIC_PARAMS = {
    "prompt": "Mysterious original soundtrack, themes of jungle, rainforest, nature, woodwinds, "
    "busy rhythmic tribal percussion.",
    "respect_sections_durations": True,
    "output_format": "mp3_44100_128",
}
SPEECH_PARAMS = {
    "text": "Hello! This is a test of the text to speech system, powered by ElevenLabs. How does it sound?",
    "voice": "Aria",
    "stability": 0.5,
    "similarity_boost": 0.75,
    "speed": 1,
}

MUSIC_ID = "elevenlabs-music-api-368_019d0000-1111-2222-3333-444455556666"
SPEECH_ID = "eleven-v3-alpha-954_019d0000-1111-2222-3333-444455556666"
MEDIA_URL = f"https://pub-582b7213209642b9b995c96c95a30381.r2.dev/v1/{SPEECH_ID}/output.wav"

# The spec's example terminal callback (mode `terminal`) and failure callback.
COMPLETED_CALLBACK = {
    "request_id": SPEECH_ID,
    "status": "COMPLETED",
    "model_id": SPEECH,
    "error": None,
    "output": {"media_url": [MEDIA_URL], "media_type": "audio/wav"},
    "created_at": "2026-05-22T13:17:32.110Z",
    "updated_at": "2026-05-22 13:19:23",
    "completed_at": "2026-05-22 13:19:23",
}
ERROR_CALLBACK = {
    "request_id": SPEECH_ID,
    "status": "ERROR",
    "model_id": SPEECH,
    "error": "Description of the error",
    "output": None,
    "created_at": "...",
    "updated_at": "...",
    "completed_at": "...",
}


def queued(request_id: str) -> dict:
    return {
        "request_id": request_id,
        "status": "QUEUED",
        "polling_url": f"https://gateway.pixazo.ai/v2/requests/status/{request_id}",
    }


@pytest.fixture
def adapter():
    pixazo = Pixazo(api_key=API_KEY, base_url=BASE_URL)
    yield pixazo
    pixazo.close()


@pytest.fixture
def gateway():
    """Every route must be called: a test that mocks a request expects the adapter to make it."""
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def mock_status(gateway, request_id: str, **response):
    return gateway.get(STATUS_PATH.format(request_id)).mock(return_value=httpx.Response(200, **response))


def submit_music(adapter, **kwargs) -> Submitted:
    return adapter.submit(MUSIC, MUSIC_PARAMS, **kwargs)


# --- The outgoing request ---------------------------------------------------------------


def assert_spec_headers(request: httpx.Request) -> None:
    assert request.headers["Ocp-Apim-Subscription-Key"] == API_KEY
    assert request.headers["Cache-Control"] == "no-cache"
    assert request.headers["Content-Type"] == "application/json"


def test_music_submit_sends_spec_body_and_auth_headers(adapter, gateway):
    route = gateway.post(MUSIC_PATH).mock(return_value=httpx.Response(202, json=queued(MUSIC_ID)))

    submitted = adapter.submit(MUSIC, MUSIC_PARAMS)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == BASE_URL + MUSIC_PATH
    assert json.loads(request.content) == MUSIC_PARAMS
    assert_spec_headers(request)
    assert submitted.external_id == MUSIC_ID


def test_speech_submit_sends_spec_body_and_auth_headers(adapter, gateway):
    route = gateway.post(SPEECH_PATH).mock(return_value=httpx.Response(202, json=queued(SPEECH_ID)))

    submitted = adapter.submit(SPEECH, SPEECH_PARAMS)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == BASE_URL + SPEECH_PATH
    assert json.loads(request.content) == SPEECH_PARAMS
    assert_spec_headers(request)
    assert submitted.external_id == SPEECH_ID


def test_submit_answer_leaves_the_state_to_polling(adapter, gateway):
    gateway.post(MUSIC_PATH).mock(return_value=httpx.Response(202, json=queued(MUSIC_ID)))

    submitted = submit_music(adapter)

    assert submitted.external_id == MUSIC_ID
    assert submitted.state is None


# --- Webhook headers ------------------------------------------------------------------------


def test_https_callback_url_is_sent_as_terminal_webhook(adapter, gateway):
    route = gateway.post(MUSIC_PATH).mock(return_value=httpx.Response(202, json=queued(MUSIC_ID)))

    submit_music(adapter, callback_url="https://studio.example.com/hooks/pixazo/42")

    request = route.calls.last.request
    assert request.headers["X-Webhook-URL"] == "https://studio.example.com/hooks/pixazo/42"
    assert request.headers["X-Webhook-Mode"] == "terminal"


def test_plain_http_callback_url_sends_no_webhook_headers(adapter, gateway):
    route = gateway.post(MUSIC_PATH).mock(return_value=httpx.Response(202, json=queued(MUSIC_ID)))

    submit_music(adapter, callback_url="http://studio.example.com/hooks/pixazo/42")

    request = route.calls.last.request
    assert "X-Webhook-URL" not in request.headers
    assert "X-Webhook-Mode" not in request.headers


def test_no_callback_url_sends_no_webhook_headers(adapter, gateway):
    route = gateway.post(MUSIC_PATH).mock(return_value=httpx.Response(202, json=queued(MUSIC_ID)))

    submit_music(adapter, callback_url=None)

    request = route.calls.last.request
    assert "X-Webhook-URL" not in request.headers
    assert "X-Webhook-Mode" not in request.headers


# --- Status values ----------------------------------------------------------------------------


def test_queued_status_maps_to_queued(adapter, gateway):
    mock_status(gateway, MUSIC_ID, json={"request_id": MUSIC_ID, "status": "QUEUED", "output": None})

    job = adapter.status(MUSIC_ID)

    assert job.state is State.QUEUED
    assert job.external_id == MUSIC_ID
    assert not job.finished
    assert job.media == ()
    assert job.error == ""


def test_processing_status_maps_to_running(adapter, gateway):
    mock_status(gateway, MUSIC_ID, json={"request_id": MUSIC_ID, "status": "PROCESSING", "output": None})

    job = adapter.status(MUSIC_ID)

    assert job.state is State.RUNNING
    assert not job.finished


def test_completed_status_maps_to_succeeded_with_every_media_url(adapter, gateway):
    urls = [f"https://cdn.example/{MUSIC_ID}/a.mp3", f"https://cdn.example/{MUSIC_ID}/b.mp3"]
    mock_status(
        gateway,
        MUSIC_ID,
        json={
            "request_id": MUSIC_ID,
            "status": "COMPLETED",
            "model_id": MUSIC,
            "error": None,
            "output": {"media_url": urls, "media_type": "audio/mpeg"},
        },
    )

    job = adapter.status(MUSIC_ID)

    assert job.state is State.SUCCEEDED
    assert job.finished
    assert job.external_id == MUSIC_ID
    assert job.media == tuple(Media(url=u, content_type="audio/mpeg") for u in urls)
    assert job.error == ""


def test_completed_status_accepts_a_single_string_media_url(adapter, gateway):
    mock_status(
        gateway,
        SPEECH_ID,
        json={"request_id": SPEECH_ID, "status": "COMPLETED", "output": {"media_url": MEDIA_URL, "media_type": "audio/wav"}},
    )

    job = adapter.status(SPEECH_ID)

    assert job.state is State.SUCCEEDED
    assert job.media == (Media(url=MEDIA_URL, content_type="audio/wav"),)


def test_failed_status_maps_to_failed_with_the_error_text(adapter, gateway):
    mock_status(
        gateway,
        MUSIC_ID,
        json={"request_id": MUSIC_ID, "status": "FAILED", "error": "Prompt violates the content policy", "output": None},
    )

    job = adapter.status(MUSIC_ID)

    assert job.state is State.FAILED
    assert job.finished
    assert job.error == "Prompt violates the content policy"
    assert job.media == ()


def test_error_status_maps_to_failed_with_the_error_text(adapter, gateway):
    mock_status(gateway, SPEECH_ID, json=ERROR_CALLBACK)

    job = adapter.status(SPEECH_ID)

    assert job.state is State.FAILED
    assert job.error == "Description of the error"


def test_failed_status_without_error_text_still_says_something(adapter, gateway):
    mock_status(gateway, MUSIC_ID, json={"request_id": MUSIC_ID, "status": "FAILED", "error": None})

    job = adapter.status(MUSIC_ID)

    assert job.state is State.FAILED
    assert job.error


def test_unknown_status_is_provider_down(adapter, gateway):
    mock_status(gateway, MUSIC_ID, json={"request_id": MUSIC_ID, "status": "EXPLODED"})

    with pytest.raises(ProviderDown) as caught:
        adapter.status(MUSIC_ID)

    assert caught.value.retryable is True


def test_missing_status_is_provider_down(adapter, gateway):
    mock_status(gateway, MUSIC_ID, json={"request_id": MUSIC_ID})

    with pytest.raises(ProviderDown):
        adapter.status(MUSIC_ID)


@pytest.mark.parametrize(
    "output",
    [None, {}, {"media_url": []}, {"media_url": None}, {"media_url": [""]}, {"media_type": "audio/mpeg"}],
    ids=["null-output", "empty-output", "empty-list", "null-url", "blank-url", "no-url-key"],
)
def test_completed_status_without_media_url_is_provider_down(adapter, gateway, output):
    mock_status(gateway, MUSIC_ID, json={"request_id": MUSIC_ID, "status": "COMPLETED", "output": output})

    with pytest.raises(ProviderDown) as caught:
        adapter.status(MUSIC_ID)

    assert "media_url" in caught.value.message


# --- Malformed answers --------------------------------------------------------------------------


def mock_submit_answer(gateway, status_code: int, **response):
    return gateway.post(MUSIC_PATH).mock(return_value=httpx.Response(status_code, **response))


def test_submit_answer_with_an_empty_request_id_is_provider_down(adapter, gateway):
    mock_submit_answer(gateway, 202, json={"request_id": "", "status": "QUEUED"})

    with pytest.raises(ProviderDown):
        submit_music(adapter)


def test_submit_answer_that_is_a_json_list_is_provider_down(adapter, gateway):
    mock_submit_answer(gateway, 202, json=[queued(MUSIC_ID)])

    with pytest.raises(ProviderDown) as caught:
        submit_music(adapter)

    assert caught.value.maybe_accepted is True  # a 2xx: Pixazo may have taken the job


@pytest.mark.parametrize("status", [None, "SUBMITTED"], ids=["missing", "unknown"])
def test_accepted_submit_with_an_unrecognised_status_is_not_resubmitted_blindly(adapter, gateway, status):
    body = {"request_id": MUSIC_ID} if status is None else {"request_id": MUSIC_ID, "status": status}
    mock_submit_answer(gateway, 202, json=body)

    try:
        submitted = submit_music(adapter)
    except ProviderDown as exc:
        assert exc.maybe_accepted is True
    else:
        assert submitted.external_id == MUSIC_ID


# --- Callbacks ---------------------------------------------------------------------------------


def test_terminal_completed_callback_parses_to_succeeded_with_media(adapter):
    job = adapter.parse_callback({"Content-Type": "application/json"}, json.dumps(COMPLETED_CALLBACK).encode())

    assert isinstance(job, JobState)
    assert job.state is State.SUCCEEDED
    assert job.external_id == SPEECH_ID
    assert job.media == (Media(url=MEDIA_URL, content_type="audio/wav"),)
    assert job.error == ""


def test_error_callback_parses_to_failed_with_the_error_text(adapter):
    job = adapter.parse_callback({"Content-Type": "application/json"}, json.dumps(ERROR_CALLBACK).encode())

    assert job.state is State.FAILED
    assert job.external_id == SPEECH_ID
    assert job.error == "Description of the error"
    assert job.media == ()


@pytest.mark.parametrize("body", [b"not json", b"", b"\xff\xfe\x00garbage"], ids=["text", "empty", "bad-bytes"])
def test_non_json_callback_body_is_rejected(adapter, body):
    with pytest.raises(CallbackRejected):
        adapter.parse_callback({"Content-Type": "application/json"}, body)


def test_callbacks_never_touch_the_network(adapter):
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as gateway:
        adapter.parse_callback({}, json.dumps(COMPLETED_CALLBACK).encode())

    assert gateway.calls.call_count == 0
