"""The ElevenLabs adapter against a mocked API (spec 001): exact requests, streamed audio, the error
answers peculiar to it. The key on every request, the common error statuses, unreadable answers and
timeouts are the same for every adapter: tests/providers/test_contract.py.

No test touches the network: respx answers every request and fails on any it does not know.
"""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
import respx

from providers.base import (
    AudioBody,
    Cost,
    CostUnit,
    ErrorKind,
    InvalidRequest,
    OutOfCredit,
    ProviderDown,
    RateLimited,
)
from providers.elevenlabs.adapter import ElevenLabs, Voice

BASE_URL = "https://elevenlabs.test"
API_KEY = "xi-test-key"

VOICE_ID = "JBFqnCBsd6RMkjVDRZzb"
SPEECH_PATH = f"/v1/text-to-speech/{VOICE_ID}"
SFX_PATH = "/v1/sound-generation"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\xc4" * 64

SPEECH_PARAMS = {
    "voice_id": VOICE_ID,
    "text": "The first move is what sets everything in motion.",
    "model_id": "eleven_turbo_v2_5",
    "language_code": "en",
    "stability": 0.4,
    "similarity_boost": 0.8,
    "style": 0.2,
    "use_speaker_boost": False,
    "speed": 1.1,
    "seed": 4294967295,
    "previous_text": "Before.",
    "next_text": "After.",
    "previous_request_ids": ["req-1", "req-2"],
    "next_request_ids": ["req-9"],
    "apply_text_normalization": "off",
    "apply_language_text_normalization": True,
    "pronunciation_dictionary_locators": [{"pronunciation_dictionary_id": "dict-1", "version_id": "v-2"}],
    "use_pvc_as_ivc": True,
    "enable_logging": False,
    "optimize_streaming_latency": 3,
    "output_format": "mp3_22050_32",
}
SFX_PARAMS = {
    "text": "Spacious braam suitable for high-impact movie trailer moments",
    "duration_seconds": 4.5,
    "prompt_influence": 0.7,
    "loop": True,
    "model_id": "eleven_text_to_sound_v2",
    "output_format": "pcm_16000",
}

# The documented error bodies: the current shape, the legacy one and FastAPI's validation list.
def current_error(type_: str, code: str, message: str, param: str | None = None) -> dict:
    return {
        "detail": {
            "type": type_,
            "code": code,
            "message": message,
            "status": code,
            "request_id": "3c807fc4c3a1705f9638ecc764a91c01",
            "param": param,
        }
    }


def legacy_error(status: str, message: str) -> dict:
    return {"detail": {"status": status, "message": message}}


VALIDATION_ERROR = {
    "detail": [
        {"loc": ["body", "text"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["query", "output_format"], "msg": "value is not a valid enumeration member", "type": "enum"},
    ]
}


@pytest.fixture
def adapter():
    elevenlabs = ElevenLabs(api_key=API_KEY, base_url=BASE_URL)
    yield elevenlabs
    elevenlabs.close()


@pytest.fixture
def api():
    """Every route must be called: a test that mocks a request expects the adapter to make it."""
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def audio_answer(body: bytes = MP3, content_type: str = "audio/mpeg", **headers) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"Content-Type": content_type, **headers})


def generate(adapter, model: str = "text-to-speech", params: dict | None = None) -> tuple[AudioBody, bytes]:
    with adapter.generate_audio(model, SPEECH_PARAMS if params is None else params) as audio:
        return audio, b"".join(audio.chunks)


def speak(adapter) -> tuple[AudioBody, bytes]:
    return generate(adapter, "text-to-speech", {"voice_id": VOICE_ID, "text": "Hello"})


# --- The adapter's shape --------------------------------------------------------------------


def test_adapter_is_synchronous_and_never_called_back(adapter):
    assert adapter.synchronous is True
    assert adapter.accepts_callbacks is False
    assert adapter.label == "ElevenLabs"
    assert adapter.timeout >= 120  # long texts keep the connection open for minutes


def test_submit_and_status_are_not_how_elevenlabs_is_called(adapter):
    with pytest.raises(NotImplementedError):
        adapter.submit("text-to-speech", {"voice_id": VOICE_ID, "text": "Hi"})
    with pytest.raises(NotImplementedError):
        adapter.status("anything")


# --- The outgoing requests -------------------------------------------------------------------


def test_speech_sends_voice_in_path_query_params_and_nested_voice_settings(adapter, api):
    route = api.post(SPEECH_PATH).mock(return_value=audio_answer())

    generate(adapter)

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == SPEECH_PATH
    assert dict(request.url.params) == {
        "output_format": "mp3_22050_32",
        "enable_logging": "false",
        "optimize_streaming_latency": "3",
    }
    assert request.headers["xi-api-key"] == API_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "text": "The first move is what sets everything in motion.",
        "model_id": "eleven_turbo_v2_5",
        "language_code": "en",
        "voice_settings": {
            "stability": 0.4,
            "similarity_boost": 0.8,
            "style": 0.2,
            "use_speaker_boost": False,
            "speed": 1.1,
        },
        "seed": 4294967295,
        "previous_text": "Before.",
        "next_text": "After.",
        "previous_request_ids": ["req-1", "req-2"],
        "next_request_ids": ["req-9"],
        "apply_text_normalization": "off",
        "apply_language_text_normalization": True,
        "pronunciation_dictionary_locators": [{"pronunciation_dictionary_id": "dict-1", "version_id": "v-2"}],
        "use_pvc_as_ivc": True,
    }


def test_speech_with_only_text_sends_no_query_and_no_voice_settings(adapter, api):
    route = api.post(SPEECH_PATH).mock(return_value=audio_answer())

    speak(adapter)

    request = route.calls.last.request
    assert request.url == BASE_URL + SPEECH_PATH
    assert json.loads(request.content) == {"text": "Hello"}


def test_speech_voice_id_is_escaped_into_the_path(adapter, api):
    route = api.post("/v1/text-to-speech/a%2Fb%20c").mock(return_value=audio_answer())

    generate(adapter, params={"voice_id": "a/b c", "text": "Hi"})

    assert route.call_count == 1


def test_speech_without_a_voice_is_refused_before_any_request(adapter, api):
    with pytest.raises(InvalidRequest) as caught:
        generate(adapter, params={"text": "Hi"})

    assert caught.value.provider == "ElevenLabs"
    assert api.calls.call_count == 0


def test_sound_effects_send_output_format_as_query_and_the_rest_as_body(adapter, api):
    route = api.post(SFX_PATH).mock(return_value=audio_answer(b"\x00\x01" * 800, "audio/pcm"))

    generate(adapter, "sound-generation", SFX_PARAMS)

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == BASE_URL + SFX_PATH + "?output_format=pcm_16000"
    assert request.headers["xi-api-key"] == API_KEY
    assert json.loads(request.content) == {
        "text": "Spacious braam suitable for high-impact movie trailer moments",
        "duration_seconds": 4.5,
        "prompt_influence": 0.7,
        "loop": True,
        "model_id": "eleven_text_to_sound_v2",
    }


def test_unknown_endpoint_model_is_invalid_request(adapter, api):
    with pytest.raises(InvalidRequest):
        generate(adapter, "speech-to-speech", {"text": "Hi"})


# --- The audio body ---------------------------------------------------------------------------


def test_audio_body_streams_every_byte_with_the_request_id(adapter, api):
    body = MP3 * 3000  # several 64 KiB chunks
    api.post(SPEECH_PATH).mock(return_value=audio_answer(body, **{"request-id": "req-abc", "history-item-id": "h-1"}))

    with adapter.generate_audio("text-to-speech", {"voice_id": VOICE_ID, "text": "Hi"}) as audio:
        chunks = list(audio.chunks)

    assert b"".join(chunks) == body
    assert len(chunks) > 1 and all(len(c) <= 64 * 1024 for c in chunks)
    assert audio.content_type == "audio/mpeg"
    assert audio.external_id == "req-abc"
    assert audio.raw_format is None


def test_history_item_id_is_the_external_id_when_there_is_no_request_id(adapter, api):
    api.post(SPEECH_PATH).mock(return_value=audio_answer(**{"history-item-id": "hist-7"}))

    audio, _ = speak(adapter)

    assert audio.external_id == "hist-7"


def test_the_character_cost_header_is_the_jobs_cost_in_characters(adapter, api):
    api.post(SPEECH_PATH).mock(return_value=audio_answer(**{"character-cost": "52"}))

    audio, _ = speak(adapter)

    assert audio.cost == Cost(Decimal(52), CostUnit.CHARACTERS)


@pytest.mark.parametrize("header", [{}, {"character-cost": ""}, {"character-cost": "lots"}, {"character-cost": "-3"}])
def test_a_missing_or_unreadable_character_cost_leaves_the_cost_unknown(adapter, api, header):
    api.post(SPEECH_PATH).mock(return_value=audio_answer(**header))

    audio, _ = speak(adapter)

    assert audio.cost is None


@pytest.mark.parametrize(
    "output_format, raw_format",
    [
        ("pcm_16000", ("pcm", 16000)),
        ("pcm_44100", ("pcm", 44100)),
        ("ulaw_8000", ("ulaw", 8000)),
        ("alaw_8000", ("alaw", 8000)),
        ("mp3_44100_128", None),
        ("opus_48000_64", None),
    ],
)
def test_headerless_output_formats_carry_their_raw_format(adapter, api, output_format, raw_format):
    api.post(SPEECH_PATH).mock(return_value=audio_answer(b"\x00" * 320, "application/octet-stream"))

    audio, _ = generate(adapter, params={"voice_id": VOICE_ID, "text": "Hi", "output_format": output_format})

    assert audio.raw_format == raw_format


def test_a_vague_content_type_is_replaced_by_the_requested_format(adapter, api):
    api.post(SFX_PATH).mock(return_value=audio_answer(MP3, "application/octet-stream"))

    audio, _ = generate(adapter, "sound-generation", {"text": "door", "output_format": "mp3_44100_192"})

    assert audio.content_type == "audio/mpeg"


class RecordsClose(httpx.SyncByteStream):
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.closed = False

    def __iter__(self):
        yield from (self.body[i : i + 1000] for i in range(0, len(self.body), 1000))

    def close(self) -> None:
        self.closed = True


def test_the_connection_is_released_when_the_caller_stops_early(adapter, api):
    stream = RecordsClose(MP3 * 3000)
    api.post(SPEECH_PATH).mock(return_value=httpx.Response(200, stream=stream))

    with adapter.generate_audio("text-to-speech", {"voice_id": VOICE_ID, "text": "Hi"}) as audio:
        next(audio.chunks)  # storage gave up after the first chunk, say
        assert not stream.closed

    assert stream.closed


# --- Error answers peculiar to ElevenLabs -------------------------------------------------------

ENDPOINTS = pytest.mark.parametrize(
    "path, model, params",
    [
        (SPEECH_PATH, "text-to-speech", {"voice_id": VOICE_ID, "text": "Hi"}),
        (SFX_PATH, "sound-generation", {"text": "thunder"}),
    ],
    ids=["speech", "sound-effects"],
)


def fail_with(api, path: str, status: int, **response):
    return api.post(path).mock(return_value=httpx.Response(status, **response))


@ENDPOINTS
def test_422_validation_list_is_invalid_request_naming_each_field(adapter, api, path, model, params):
    fail_with(api, path, 422, json=VALIDATION_ERROR)

    with pytest.raises(InvalidRequest) as caught:
        generate(adapter, model, params)

    error = caught.value
    assert error.status_code == 422
    assert error.retryable is False
    assert error.message == "text: field required; output_format: value is not a valid enumeration member"
    assert error.user_message == f"ElevenLabs rejected the request: {error.message}"


@pytest.mark.parametrize("status", [400, 404])
def test_unknown_voice_is_invalid_request(adapter, api, status):
    fail_with(api, SPEECH_PATH, status, json=legacy_error("voice_not_found", "A voice with the voice_id foo was not found."))

    with pytest.raises(InvalidRequest) as caught:
        speak(adapter)

    assert caught.value.status_code == status
    assert "A voice with the voice_id foo was not found." in caught.value.user_message


@pytest.mark.parametrize(
    "status, body",
    [
        (401, legacy_error("quota_exceeded", "This request exceeds your quota of 10000. You have 12 credits remaining.")),
        (402, current_error("payment_required", "quota_exceeded", "This request exceeds your quota of 10000.")),
        (402, {"detail": {"message": "Payment required"}}),
    ],
    ids=["legacy-401-quota", "402-quota", "402-without-code"],
)
def test_exhausted_quota_is_out_of_credit_whatever_the_status(adapter, api, status, body):
    fail_with(api, SPEECH_PATH, status, json=body)

    with pytest.raises(OutOfCredit) as caught:
        speak(adapter)

    assert caught.value.user_message == "Insufficient balance at ElevenLabs"
    assert caught.value.kind is ErrorKind.CREDIT
    assert caught.value.retryable is False
    assert caught.value.status_code == status


def test_402_paid_plan_required_asks_for_another_voice_not_credit(adapter, api):
    message = "Free users cannot use library voices via the API. Please upgrade your subscription to use this voice."
    fail_with(api, SPEECH_PATH, 402, json=current_error("payment_required", "paid_plan_required", message))

    with pytest.raises(InvalidRequest) as caught:
        speak(adapter)

    assert caught.value.user_message == f"ElevenLabs rejected the request: {message}"


@pytest.mark.parametrize("code", ["concurrent_limit_exceeded", "system_busy"])
def test_429_is_rate_limited_so_the_studio_retries(adapter, api, code):
    fail_with(api, SPEECH_PATH, 429, json=current_error("rate_limit_error", code, "Too many concurrent requests."))

    with pytest.raises(RateLimited) as caught:
        speak(adapter)

    error = caught.value
    assert error.retryable is True
    assert error.retry_after is None
    assert error.message == "Too many concurrent requests."
    assert error.user_message == "ElevenLabs is limiting requests; retrying"


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(502, text="<html>Bad gateway</html>"),
        httpx.Response(503, json={"detail": None}),
        httpx.Response(500, json=["unexpected"]),
    ],
    ids=["html", "null-detail", "list-body"],
)
def test_unreadable_error_bodies_still_map_by_status(adapter, api, response):
    api.post(SPEECH_PATH).mock(return_value=response)

    with pytest.raises(ProviderDown) as caught:
        speak(adapter)

    assert caught.value.status_code == response.status_code


def test_a_plain_string_detail_is_used_as_the_message(adapter, api):
    fail_with(api, SPEECH_PATH, 404, json={"detail": "Not Found"})

    with pytest.raises(InvalidRequest) as caught:
        speak(adapter)

    assert caught.value.message == "Not Found"


# --- Broken streams --------------------------------------------------------------------------------


FIRST_CHUNK = (MP3 * 400)[: 64 * 1024]


class BreaksAfterFirstChunk(httpx.SyncByteStream):
    def __init__(self, failure: Exception) -> None:
        self.failure = failure

    def __iter__(self):
        yield FIRST_CHUNK
        raise self.failure


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("read timed out"), httpx.RemoteProtocolError("peer closed connection")],
    ids=["read-timeout", "connection-dropped"],
)
def test_a_stream_that_breaks_mid_body_is_provider_down_maybe_accepted(adapter, api, failure):
    api.post(SPEECH_PATH).mock(
        return_value=httpx.Response(200, headers={"Content-Type": "audio/mpeg"}, stream=BreaksAfterFirstChunk(failure))
    )

    received = []
    with pytest.raises(ProviderDown) as caught:
        with adapter.generate_audio("text-to-speech", {"voice_id": VOICE_ID, "text": "Hi"}) as audio:
            for chunk in audio.chunks:
                received.append(chunk)

    assert received == [FIRST_CHUNK]
    assert caught.value.maybe_accepted is True
    assert caught.value.retryable is True


# --- Voices ---------------------------------------------------------------------------------------


def test_list_voices_reads_id_name_and_category(adapter, api):
    route = api.get("/v1/voices").mock(
        return_value=httpx.Response(
            200,
            json={
                "voices": [
                    {
                        "voice_id": "21m00Tcm4TlvDq8ikWAM",
                        "name": "Rachel",
                        "category": "premade",
                        "labels": {"accent": "american"},
                        "preview_url": "https://storage.example/rachel.mp3",
                    },
                    {"voice_id": "clone-1", "name": "My narrator", "category": "cloned"},
                    {"voice_id": "no-name"},
                    {"name": "No id at all"},
                    "not an object",
                ]
            },
        )
    )

    voices = adapter.list_voices()

    assert route.calls.last.request.headers["xi-api-key"] == API_KEY
    assert voices == [
        Voice(voice_id="21m00Tcm4TlvDq8ikWAM", name="Rachel", category="premade"),
        Voice(voice_id="clone-1", name="My narrator", category="cloned"),
        Voice(voice_id="no-name", name="no-name", category=""),
    ]


@pytest.mark.parametrize("body", [["voices"], {"voices": None}], ids=["list", "null"])
def test_voices_answer_without_a_voice_list_is_provider_down(adapter, api, body):
    api.get("/v1/voices").mock(return_value=httpx.Response(200, json=body))

    with pytest.raises(ProviderDown):
        adapter.list_voices()


