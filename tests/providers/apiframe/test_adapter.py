"""The Apiframe adapter against a mocked API (spec 003): exact requests, every status, the error
answers peculiar to it, and signed webhooks. The key on every request, the common error statuses,
unreadable answers and timeouts are the same for every adapter: tests/providers/test_contract.py.

No test touches the network: respx answers every request and fails on any it does not know.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal

import httpx
import pytest
import respx

from providers.apiframe.adapter import Apiframe, sign
from providers.base import (
    CallbackRejected,
    Cost,
    CostUnit,
    ErrorKind,
    InvalidRequest,
    JobState,
    Media,
    OutOfCredit,
    ProviderDown,
    State,
    Submitted,
)
from providers.registry import PROVIDERS

BASE_URL = "https://api.apiframe.test"
API_KEY = "afk_test_0123456789"
MODEL = "elevenlabs-music"
SUBMIT_PATH = "/v2/music/generate"
JOB_ID = "b2c3d4e5-f6a7-8901-bcde-f23456789012"
JOB_PATH = f"/v2/jobs/{JOB_ID}"
CLIENT_REF = "5f0c3f8e-2d7a-4e55-9d1c-0a4b7f1e9c33"
TRACK_URL = f"https://cdn.apiframe.test/jobs/{JOB_ID}/track-1.mp3"

PROMPT = "an upbeat synthwave track with a driving bassline"
FLAT_PARAMS = {
    "prompt": PROMPT,
    "music_length_ms": 125000,
    "force_instrumental": True,
    "output_format": "wav_cd_quality",
}
ACCEPTED = {"jobId": JOB_ID, "status": "QUEUED"}


def job(status: str, **fields) -> dict:
    """A GET /v2/jobs/{id} answer, as the API's Job schema has it."""
    return {
        "id": JOB_ID,
        "model": MODEL,
        "status": status,
        "progress": 0,
        "result": None,
        "error": None,
        "creditCost": None,
        "webhookStatus": None,
        "createdAt": "2026-05-22T13:17:32.110Z",
        "completedAt": None,
        **fields,
    }


def completed(*tracks: dict, credit_cost=120) -> dict:
    return job(
        "COMPLETED",
        progress=100,
        result={"tracks": list(tracks)},
        creditCost=credit_cost,
        completedAt="2026-05-22T13:18:31.002Z",
    )


TRACK = {"audioUrl": TRACK_URL, "duration": 125.0, "title": "Neon Drive"}


@pytest.fixture
def adapter():
    apiframe = Apiframe(api_key=API_KEY, base_url=BASE_URL)
    yield apiframe
    apiframe.close()


@pytest.fixture
def api():
    """Every route must be called: a test that mocks a request expects the adapter to make it."""
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def mock_submit(api, status_code: int = 202, **response):
    response = response or {"json": ACCEPTED}
    return api.post(SUBMIT_PATH).mock(return_value=httpx.Response(status_code, **response))


def mock_job(api, status_code: int = 200, **response):
    return api.get(JOB_PATH).mock(return_value=httpx.Response(status_code, **response))


def submit(adapter, **kwargs) -> Submitted:
    return adapter.submit(MODEL, FLAT_PARAMS, **kwargs)


# --- The outgoing request ---------------------------------------------------------------


def test_submit_nests_the_model_options_under_elevenlabs_params(adapter, api):
    route = mock_submit(api)

    submitted = submit(adapter, client_ref=CLIENT_REF)

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url == BASE_URL + SUBMIT_PATH
    assert json.loads(request.content) == {
        "model": "elevenlabs-music",
        "prompt": PROMPT,
        "elevenlabsParams": {
            "music_length_ms": 125000,
            "force_instrumental": True,
            "output_format": "wav_cd_quality",
        },
    }
    assert request.headers["X-API-Key"] == API_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Idempotency-Key"] == CLIENT_REF
    assert "Authorization" not in request.headers
    assert submitted == Submitted(external_id=JOB_ID)


def test_submit_with_only_a_prompt_sends_no_params_object(adapter, api):
    route = mock_submit(api)

    adapter.submit(MODEL, {"prompt": PROMPT})

    assert json.loads(route.calls.last.request.content) == {"model": MODEL, "prompt": PROMPT}


def test_submit_without_a_client_ref_sends_no_idempotency_key(adapter, api):
    route = mock_submit(api)

    submit(adapter)

    assert "Idempotency-Key" not in route.calls.last.request.headers


def test_callback_url_is_sent_as_camel_case_webhook_url_with_every_event(adapter, api):
    route = mock_submit(api)

    submit(adapter, callback_url="https://studio.example.com/hooks/apiframe/42/token/")

    body = json.loads(route.calls.last.request.content)
    assert body["webhookUrl"] == "https://studio.example.com/hooks/apiframe/42/token/"
    assert body["webhookEvents"] == ["progress", "completed", "failed"]
    assert "webhook_url" not in body


def test_no_callback_url_sends_no_webhook_fields(adapter, api):
    route = mock_submit(api)

    submit(adapter, callback_url=None)

    body = json.loads(route.calls.last.request.content)
    assert "webhookUrl" not in body and "webhookEvents" not in body


def test_adapter_is_registered_for_verified_callbacks():
    apiframe = PROVIDERS["apiframe"]
    assert apiframe.adapter is Apiframe
    assert apiframe.label == "Apiframe"
    assert apiframe.accepts_callbacks is True
    assert apiframe.signs_callbacks is True
    assert apiframe.synchronous is False
    assert apiframe.client_names_job is False  # the spec does not promise what a repeated Idempotency-Key does


# --- Status values ----------------------------------------------------------------------------


def test_queued_status_maps_to_queued_with_no_cost_yet(adapter, api):
    mock_job(api, json=job("QUEUED", progress=0))

    state = adapter.status(JOB_ID)

    assert state.state is State.QUEUED
    assert state.external_id == JOB_ID
    assert state.progress == 0
    assert state.cost is None
    assert state.media == () and state.error == ""
    assert not state.finished


def test_processing_status_maps_to_running_with_its_progress(adapter, api):
    mock_job(api, json=job("PROCESSING", progress=42))

    state = adapter.status(JOB_ID)

    assert state.state is State.RUNNING
    assert state.progress == 42
    assert not state.finished


def test_completed_status_gives_the_track_with_title_duration_and_credit_cost(adapter, api):
    mock_job(api, json=completed(TRACK, credit_cost=120))

    state = adapter.status(JOB_ID)

    assert state.state is State.SUCCEEDED
    assert state.finished
    assert state.media == (Media(url=TRACK_URL, title="Neon Drive", duration=125.0),)
    assert state.cost == Cost(Decimal("120"), CostUnit.CREDITS)
    assert state.progress == 100
    assert state.error == ""


def test_completed_status_with_several_tracks_gives_one_media_each(adapter, api):
    second = {"audioUrl": TRACK_URL.replace("track-1", "track-2"), "duration": 61, "title": "Neon Drive (alt)"}
    mock_job(api, json=completed(TRACK, second))

    state = adapter.status(JOB_ID)

    assert [m.url for m in state.media] == [TRACK_URL, second["audioUrl"]]
    assert [m.title for m in state.media] == ["Neon Drive", "Neon Drive (alt)"]
    assert [m.duration for m in state.media] == [125.0, 61.0]


def test_completed_result_as_a_bare_list_of_tracks_is_read_too(adapter, api):
    mock_job(api, json=job("COMPLETED", result=[TRACK]))

    state = adapter.status(JOB_ID)

    assert state.media == (Media(url=TRACK_URL, title="Neon Drive", duration=125.0),)


def test_track_without_title_or_duration_still_gives_its_media(adapter, api):
    mock_job(api, json=completed({"audioUrl": TRACK_URL, "duration": None}))

    state = adapter.status(JOB_ID)

    assert state.media == (Media(url=TRACK_URL, title="", duration=None),)


def test_failed_status_maps_to_failed_with_the_error_text(adapter, api):
    mock_job(api, json=job("FAILED", error="Upstream provider rejected the prompt", creditCost=0, progress=None))

    state = adapter.status(JOB_ID)

    assert state.state is State.FAILED
    assert state.finished
    assert state.error == "Upstream provider rejected the prompt"
    assert state.cost == Cost(Decimal("0"), CostUnit.CREDITS)
    assert state.media == ()


def test_failed_status_without_error_text_still_says_something(adapter, api):
    mock_job(api, json=job("FAILED"))

    assert adapter.status(JOB_ID).error == "generation failed"


def test_cancelled_status_maps_to_failed(adapter, api):
    mock_job(api, json=job("CANCELLED"))

    state = adapter.status(JOB_ID)

    assert state.state is State.FAILED
    assert "cancelled" in state.error


@pytest.mark.parametrize("status", ["EXPLODED", None], ids=["unknown", "missing"])
def test_unknown_or_missing_status_is_provider_down(adapter, api, status):
    mock_job(api, json=job(status) if status else {"id": JOB_ID})

    with pytest.raises(ProviderDown) as caught:
        adapter.status(JOB_ID)

    assert caught.value.retryable is True
    assert caught.value.provider == "Apiframe"


@pytest.mark.parametrize(
    "result",
    [None, {}, {"tracks": []}, {"tracks": None}, {"tracks": [{"audioUrl": ""}]}, {"tracks": [{"title": "x"}]}, "x"],
    ids=["null", "empty", "no-tracks", "null-tracks", "blank-url", "no-url", "string"],
)
def test_completed_status_without_an_audio_url_is_provider_down(adapter, api, result):
    mock_job(api, json=job("COMPLETED", result=result))

    with pytest.raises(ProviderDown) as caught:
        adapter.status(JOB_ID)

    assert "audioUrl" in caught.value.message


@pytest.mark.parametrize(
    "progress, expected", [(None, None), ("50", None), (True, None), (150, 100), (-3, 0), (37.8, 37)]
)
def test_progress_is_read_as_a_percentage_or_left_out(adapter, api, progress, expected):
    mock_job(api, json=job("PROCESSING", progress=progress))

    assert adapter.status(JOB_ID).progress == expected


# --- Error answers peculiar to Apiframe -------------------------------------------------------


VALIDATION_ERROR = {
    "error": "Invalid request body",
    "details": {"elevenlabsParams.music_length_ms": ["Number must be less than or equal to 300000"]},
}
INSUFFICIENT_CREDITS = {"error": "Insufficient credits", "creditsRequired": 84, "creditsAvailable": 12}


def test_400_validation_error_is_invalid_request_naming_the_field(adapter, api):
    mock_submit(api, 400, json=VALIDATION_ERROR)

    with pytest.raises(InvalidRequest) as caught:
        submit(adapter)

    error = caught.value
    assert error.status_code == 400
    assert error.retryable is False
    assert error.provider == "Apiframe"
    assert error.message.startswith("Invalid request body")
    assert "elevenlabsParams.music_length_ms: Number must be less than or equal to 300000" in error.message
    assert error.user_message == f"Apiframe rejected the request: {error.message}"


def test_402_is_out_of_credit_with_the_credit_numbers(adapter, api):
    mock_submit(api, 402, json=INSUFFICIENT_CREDITS)

    with pytest.raises(OutOfCredit) as caught:
        submit(adapter)

    error = caught.value
    assert error.status_code == 402
    assert error.retryable is False
    assert error.message == "Insufficient credits (needs 84 credits, has 12)"
    assert error.user_message == "Insufficient balance at Apiframe"


def test_409_idempotency_conflict_is_invalid_request(adapter, api):
    mock_submit(api, 409, json={"error": "Idempotency-Key was already used with a different request body"})

    with pytest.raises(InvalidRequest) as caught:
        submit(adapter, client_ref=CLIENT_REF)

    assert caught.value.status_code == 409
    assert "Idempotency-Key" in caught.value.user_message


# --- Malformed answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [{"json": {"jobId": "", "status": "QUEUED"}}, {"json": {"jobId": 42}}, {"json": [ACCEPTED]}],
    ids=["empty-job-id", "numeric-job-id", "json-list"],
)
def test_accepted_submit_without_a_usable_job_id_is_not_resubmitted_blindly(adapter, api, answer):
    mock_submit(api, 202, **answer)

    with pytest.raises(ProviderDown) as caught:
        submit(adapter)

    assert caught.value.maybe_accepted is True


def test_idempotent_replay_answering_a_later_status_still_gives_the_job_id(adapter, api):
    mock_submit(api, 202, json={"jobId": JOB_ID, "status": "COMPLETED"})

    submitted = submit(adapter, client_ref=CLIENT_REF)

    assert submitted.external_id == JOB_ID
    assert submitted.state is None  # the job document, not the acknowledgement, carries the result


# --- Signed callbacks ------------------------------------------------------------------------


def callback(event: str, status: str, **fields) -> bytes:
    payload = {
        "event": event,
        "jobId": JOB_ID,
        "status": status,
        "progress": 0,
        "result": None,
        "error": None,
        "creditCost": None,
        "completedAt": None,
        **fields,
    }
    return json.dumps(payload).encode()


def signed(body: bytes, event: str = "completed", key: str = API_KEY) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Webhook-Event": event, "X-Webhook-Signature": sign(key, body)}


COMPLETED_BODY = callback(
    "completed", "COMPLETED", progress=100, result={"tracks": [TRACK]}, creditCost=120,
    completedAt="2026-05-22T13:18:31.002Z",
)


def one_digit_off(signature: str) -> str:
    return signature[:-1] + ("1" if signature[-1] == "0" else "0")


def test_signature_is_hex_hmac_sha256_keyed_with_the_hex_digest_of_the_key():
    secret = hashlib.sha256(API_KEY.encode()).hexdigest().encode()

    assert sign(API_KEY, b"{}") == hmac.new(secret, b"{}", hashlib.sha256).hexdigest()


def test_correctly_signed_completed_callback_parses_to_succeeded_with_media_and_cost(adapter):
    state = adapter.parse_callback(signed(COMPLETED_BODY), COMPLETED_BODY)

    assert isinstance(state, JobState)
    assert state.state is State.SUCCEEDED
    assert state.external_id == JOB_ID
    assert state.media == (Media(url=TRACK_URL, title="Neon Drive", duration=125.0),)
    assert state.cost == Cost(Decimal("120"), CostUnit.CREDITS)


def test_progress_callback_parses_to_running_with_its_progress(adapter):
    body = callback("progress", "PROCESSING", progress=65)

    state = adapter.parse_callback(signed(body, "progress"), body)

    assert state.state is State.RUNNING
    assert state.progress == 65
    assert not state.finished


def test_progress_event_without_a_status_still_means_running(adapter):
    body = json.dumps({"event": "progress", "jobId": JOB_ID, "progress": 30}).encode()

    state = adapter.parse_callback(signed(body, "progress"), body)

    assert state.state is State.RUNNING
    assert state.progress == 30


def test_failed_callback_parses_to_failed_with_the_error_text(adapter):
    body = callback("failed", "FAILED", error="Generation failed upstream", creditCost=0)

    state = adapter.parse_callback(signed(body, "failed"), body)

    assert state.state is State.FAILED
    assert state.error == "Generation failed upstream"
    assert state.external_id == JOB_ID


def test_unsigned_callback_is_rejected(adapter):
    with pytest.raises(CallbackRejected) as caught:
        adapter.parse_callback({"Content-Type": "application/json", "X-Webhook-Event": "completed"}, COMPLETED_BODY)

    assert "not signed" in caught.value.message
    assert caught.value.kind is ErrorKind.AUTH


@pytest.mark.parametrize(
    "signature",
    [
        sign("afk_someone_else", COMPLETED_BODY),
        one_digit_off(sign(API_KEY, COMPLETED_BODY)),
        "sha256=",
        "not-hex-at-all",
        "é" * 64,
    ],
    ids=["other-key", "one-digit-off", "empty-after-prefix", "not-hex", "non-ascii"],
)
def test_wrongly_signed_callback_is_rejected(adapter, signature):
    headers = {"X-Webhook-Signature": signature, "X-Webhook-Event": "completed"}

    with pytest.raises(CallbackRejected) as caught:
        adapter.parse_callback(headers, COMPLETED_BODY)

    assert caught.value.kind is ErrorKind.AUTH


def test_signature_over_a_different_body_is_rejected(adapter):
    tampered = COMPLETED_BODY.replace(b"Neon Drive", b"Evil Drive")

    with pytest.raises(CallbackRejected):
        adapter.parse_callback(signed(COMPLETED_BODY), tampered)


def test_sdk_style_signature_with_prefix_and_raw_digest_key_is_accepted(adapter):
    # Apiframe's Node SDK verifies 'sha256=' + HMAC keyed with the raw SHA-256 digest of the key.
    raw_secret = hashlib.sha256(API_KEY.encode()).digest()
    signature = "sha256=" + hmac.new(raw_secret, COMPLETED_BODY, hashlib.sha256).hexdigest()

    state = adapter.parse_callback({"x-webhook-signature": signature}, COMPLETED_BODY)

    assert state.state is State.SUCCEEDED


def test_signature_header_is_found_whatever_its_case_and_hex_case(adapter):
    headers = {"x-webhook-signature": sign(API_KEY, COMPLETED_BODY).upper()}

    assert adapter.parse_callback(headers, COMPLETED_BODY).state is State.SUCCEEDED


@pytest.mark.parametrize(
    "body", [b"not json", b"", b"\xff\xfe\x00garbage", b"[1, 2]"], ids=["text", "empty", "bytes", "list"]
)
def test_correctly_signed_but_unreadable_body_is_rejected(adapter, body):
    with pytest.raises(CallbackRejected) as caught:
        adapter.parse_callback(signed(body), body)

    assert caught.value.kind is ErrorKind.UNREADABLE


def test_signed_callback_with_an_unknown_status_is_provider_down_not_trusted(adapter):
    body = callback("completed", "EXPLODED")

    with pytest.raises(ProviderDown):
        adapter.parse_callback(signed(body), body)


def test_callbacks_never_touch_the_network(adapter):
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as api:
        adapter.parse_callback(signed(COMPLETED_BODY), COMPLETED_BODY)

    assert api.calls.call_count == 0
