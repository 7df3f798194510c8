"""What every adapter promises, whatever its API: one table of providers, one set of tests.

Each entry says how to reach an adapter's endpoints (submit and status; for ElevenLabs, which
answers with the audio itself, its generate call and its voice list), how its API words an
error, and which error statuses its documentation names beyond the common ones. Every adapter
is then held to the same contract: the API key on every request, bounded waits, each error
status mapped to its kind with a plain message, answers it cannot read, and what a request
that got no answer means for paying twice.

What is peculiar to one API (its wire bodies, odd error shapes, envelopes, signatures) is
tested beside its adapter, in tests/providers/<key>/test_adapter.py.
No test touches the network: respx answers every request and fails on any it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http import HTTPStatus
from typing import Any

import httpx
import pytest
import respx

from providers.aimlapi import AimlApi
from providers.apiframe import Apiframe
from providers.base import (
    Adapter,
    AuthFailed,
    Cost,
    ErrorKind,
    InvalidRequest,
    OutOfCredit,
    ProviderDown,
    ProviderError,
    RateLimited,
)
from providers.elevenlabs import ElevenLabs
from providers.pixazo import Pixazo
from providers.runware import Runware

API_KEY = "contract-key-123"
JOB_ID = "b2c3d4e5-f6a7-4901-bcde-f23456789012"  # a UUID v4, so Runware takes it as its taskUUID
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\xc4" * 64


@dataclass(frozen=True)
class Endpoint:
    """One call the studio makes to a provider."""

    name: str
    route: dict[str, Any]  # what respx matches: method, url and maybe params
    call: Callable[[Adapter], object]
    good_answer: dict[str, Any]  # httpx.Response arguments for an answer the adapter reads
    sends_job: bool = False  # the provider may take (and charge for) the request
    wrong_shape: Any = None  # a JSON answer of the wrong shape; None where the answer is not JSON
    documented: tuple[int, ...] = ()  # error statuses its docs name beyond the common ones


@dataclass(frozen=True)
class Contract:
    key: str
    adapter: Callable[[], Adapter]
    auth: tuple[str, str]  # the header that carries the key, and its value
    error_body: Callable[[int, str], Any]  # the API's own error document for a status and words
    endpoints: tuple[Endpoint, ...]


def generate_speech(adapter: Adapter) -> bytes:
    with adapter.generate_audio("text-to-speech", {"voice_id": "JBFqnCBsd6RMkjVDRZzb", "text": "Hi"}) as audio:
        return b"".join(audio.chunks)


def aimlapi_error(status: int, words: str) -> dict:
    return {"message": words, "path": "/v2/generate/audio", "requestId": "798b860e", "statusCode": status}


ELEVENLABS_CODES = {
    400: "max_character_limit_exceeded",
    401: "invalid_api_key",
    402: "payment_required",
    403: "missing_permissions",
    429: "rate_limit_exceeded",
}


def elevenlabs_error(status: int, words: str) -> dict:
    if status == 422:  # request validation answers FastAPI's list of problems
        return {"detail": [{"loc": ["body", "text"], "msg": words, "type": "value_error"}]}
    code = ELEVENLABS_CODES.get(status, "internal_server_error")
    return {"detail": {"code": code, "status": code, "message": words, "request_id": "3c807fc4"}}


RUNWARE_CODES = {
    400: "invalidDuration",
    401: "invalidApiKey",
    402: "insufficientCredits",
    403: "accessDenied",
    404: "taskNotFound",
    429: "tooManyRequests",
}


def runware_error(status: int, words: str) -> dict:
    code = RUNWARE_CODES.get(status, "internalServerError")
    return {"errors": [{"code": code, "message": words, "taskType": "audioInference", "taskUUID": JOB_ID}]}


PIXAZO_URL = "https://gateway.pixazo.test"
AIMLAPI_URL = "https://api.aimlapi.test"
ELEVENLABS_URL = "https://elevenlabs.test"
APIFRAME_URL = "https://api.apiframe.test"
RUNWARE_URL = "https://runware.test/v1"

CONTRACTS = (
    Contract(
        "pixazo",
        lambda: Pixazo(api_key=API_KEY, base_url=PIXAZO_URL),
        auth=("Ocp-Apim-Subscription-Key", API_KEY),
        error_body=lambda status, words: {"error": HTTPStatus(status).phrase, "message": words},
        endpoints=(
            Endpoint(
                "submit",
                {"method": "POST", "url": PIXAZO_URL + "/elevenlabs-music-api-368/v1/elevenlabs-music-api-request"},
                lambda a: a.submit("elevenlabs-music-api-368", {"prompt": "Calm piano"}),
                {"status_code": 202, "json": {"request_id": JOB_ID, "status": "QUEUED"}},
                sends_job=True,
                wrong_shape={"status": "QUEUED"},
            ),
            Endpoint(
                "status",
                {"method": "GET", "url": f"{PIXAZO_URL}/v2/requests/status/{JOB_ID}"},
                lambda a: a.status(JOB_ID),
                {"status_code": 200, "json": {"request_id": JOB_ID, "status": "QUEUED"}},
                wrong_shape=[{"request_id": JOB_ID, "status": "QUEUED"}],
            ),
        ),
    ),
    Contract(
        "aimlapi",
        lambda: AimlApi(api_key=API_KEY, base_url=AIMLAPI_URL),
        auth=("Authorization", f"Bearer {API_KEY}"),
        error_body=aimlapi_error,
        endpoints=(
            Endpoint(
                "submit",
                {"method": "POST", "url": AIMLAPI_URL + "/v2/generate/audio"},
                lambda a: a.submit("stable-audio", {"prompt": "lo-fi beat"}),
                {"status_code": 201, "json": {"id": JOB_ID, "status": "queued"}},
                sends_job=True,
                wrong_shape={"status": "queued"},
            ),
            Endpoint(
                "status",
                {"method": "GET", "url": AIMLAPI_URL + "/v2/generate/audio", "params": {"generation_id": JOB_ID}},
                lambda a: a.status(JOB_ID),
                {"status_code": 200, "json": {"id": JOB_ID, "status": "queued"}},
                wrong_shape=[{"id": JOB_ID, "status": "queued"}],
                documented=(404,),  # an unknown generation
            ),
        ),
    ),
    Contract(
        "elevenlabs",
        lambda: ElevenLabs(api_key=API_KEY, base_url=ELEVENLABS_URL),
        auth=("xi-api-key", API_KEY),
        error_body=elevenlabs_error,
        endpoints=(
            Endpoint(  # synchronous: the answer is the audio, streamed
                "generate",
                {"method": "POST", "url": ELEVENLABS_URL + "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb"},
                generate_speech,
                {"status_code": 200, "content": MP3, "headers": {"Content-Type": "audio/mpeg"}},
                sends_job=True,
                documented=(422,),  # request validation
            ),
            Endpoint(
                "voices",
                {"method": "GET", "url": ELEVENLABS_URL + "/v1/voices"},
                lambda a: a.list_voices(),
                {"status_code": 200, "json": {"voices": []}},
                wrong_shape={"items": []},
            ),
        ),
    ),
    Contract(
        "apiframe",
        lambda: Apiframe(api_key=API_KEY, base_url=APIFRAME_URL),
        auth=("X-API-Key", API_KEY),
        error_body=lambda status, words: {"error": words},
        endpoints=(
            Endpoint(
                "submit",
                {"method": "POST", "url": APIFRAME_URL + "/v2/music/generate"},
                lambda a: a.submit("elevenlabs-music", {"prompt": "Calm piano"}, client_ref=JOB_ID),
                {"status_code": 202, "json": {"jobId": JOB_ID, "status": "QUEUED"}},
                sends_job=True,
                wrong_shape={"status": "QUEUED"},
            ),
            Endpoint(
                "status",
                {"method": "GET", "url": f"{APIFRAME_URL}/v2/jobs/{JOB_ID}"},
                lambda a: a.status(JOB_ID),
                {"status_code": 200, "json": {"id": JOB_ID, "status": "QUEUED"}},
                wrong_shape=[{"id": JOB_ID, "status": "QUEUED"}],
                documented=(404,),  # an unknown job
            ),
        ),
    ),
    Contract(
        "runware",
        lambda: Runware(api_key=API_KEY, base_url=RUNWARE_URL),
        auth=("Authorization", f"Bearer {API_KEY}"),
        error_body=runware_error,
        endpoints=(  # one endpoint takes every task, submits and status checks alike
            Endpoint(
                "submit",
                {"method": "POST", "url": RUNWARE_URL},
                lambda a: a.submit("elevenlabs:1@1", {"positivePrompt": "Calm piano"}, client_ref=JOB_ID),
                {"status_code": 200, "json": {"data": [{"taskType": "audioInference", "taskUUID": JOB_ID}]}},
                sends_job=True,
                wrong_shape={"result": "queued"},
            ),
            Endpoint(
                "status",
                {"method": "POST", "url": RUNWARE_URL},
                lambda a: a.status(JOB_ID),
                {"status_code": 200, "json": {"data": [{"taskUUID": JOB_ID, "status": "processing"}]}},
                wrong_shape={"data": {"status": "success"}},
                documented=(404,),  # an unknown task
            ),
        ),
    ),
)

# Every status the providers document, the kind it means, and what the user reads.
ERRORS = {
    400: (InvalidRequest, ErrorKind.INVALID, "{label} rejected the request: {message}"),
    401: (AuthFailed, ErrorKind.AUTH, "{label} rejected the API key"),
    402: (OutOfCredit, ErrorKind.CREDIT, "Insufficient balance at {label}"),
    403: (AuthFailed, ErrorKind.AUTH, "{label} refused access with this API key ({message})"),
    404: (InvalidRequest, ErrorKind.INVALID, "{label} rejected the request: {message}"),
    422: (InvalidRequest, ErrorKind.INVALID, "{label} rejected the request: {message}"),
    429: (RateLimited, ErrorKind.RATE_LIMITED, "{label} is limiting requests; retrying"),
    500: (ProviderDown, ErrorKind.UNAVAILABLE, "{label} is unavailable (HTTP 500)"),
    502: (ProviderDown, ErrorKind.UNAVAILABLE, "{label} is unavailable (HTTP 502)"),
    503: (ProviderDown, ErrorKind.UNAVAILABLE, "{label} is unavailable (HTTP 503)"),
}
COMMON_STATUSES = (400, 401, 402, 403, 429, 500, 502, 503)

PROVIDERS = pytest.mark.parametrize("contract", CONTRACTS, ids=[c.key for c in CONTRACTS])
ENDPOINTS = [(c, e) for c in CONTRACTS for e in c.endpoints]
EVERY_ENDPOINT = pytest.mark.parametrize(("contract", "endpoint"), ENDPOINTS, ids=[f"{c.key}-{e.name}" for c, e in ENDPOINTS])
JSON_ENDPOINTS = [(c, e) for c, e in ENDPOINTS if e.wrong_shape is not None]
EVERY_JSON_ENDPOINT = pytest.mark.parametrize(
    ("contract", "endpoint"), JSON_ENDPOINTS, ids=[f"{c.key}-{e.name}" for c, e in JSON_ENDPOINTS]
)
STATUS_CASES = [(c, e, s) for c, e in ENDPOINTS for s in COMMON_STATUSES + e.documented]


@pytest.fixture
def mocked():
    """Every route must be called: a test that mocks a request expects the adapter to make it."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
def made():
    """Adapters built in a test, closed after it."""
    adapters: list[Adapter] = []
    yield adapters
    for adapter in adapters:
        adapter.close()


def build(contract: Contract, made: list[Adapter]) -> Adapter:
    adapter = contract.adapter()
    made.append(adapter)
    return adapter


def failing_call(contract: Contract, endpoint: Endpoint, made: list[Adapter]) -> ProviderError:
    adapter = build(contract, made)
    with pytest.raises(ProviderError) as caught:
        endpoint.call(adapter)
    assert caught.value.provider == adapter.label
    return caught.value


# --- Every request ----------------------------------------------------------------------


@EVERY_ENDPOINT
def test_every_request_carries_the_api_key(mocked, made, contract, endpoint):
    route = mocked.route(**endpoint.route).respond(**endpoint.good_answer)

    endpoint.call(build(contract, made))

    header, value = contract.auth
    assert route.calls.last.request.headers[header] == value


@PROVIDERS
def test_the_client_waits_a_bounded_time_and_follows_no_redirects(made, contract):
    adapter = build(contract, made)
    timeout = adapter.client.timeout

    assert timeout.connect == 5.0
    assert timeout.read == timeout.write == timeout.pool == adapter.timeout
    assert 0 < adapter.timeout <= 300
    assert adapter.client.follow_redirects is False


# --- Error statuses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contract", "endpoint", "status"), STATUS_CASES, ids=[f"{c.key}-{e.name}-{s}" for c, e, s in STATUS_CASES]
)
def test_every_documented_error_status_maps_to_its_kind_and_a_plain_message(mocked, made, contract, endpoint, status):
    words = f"What the provider says about a {status}."
    mocked.route(**endpoint.route).respond(status, json=contract.error_body(status, words))

    error = failing_call(contract, endpoint, made)

    error_class, kind, plain = ERRORS[status]
    assert isinstance(error, error_class)
    assert error.kind is kind
    assert error.status_code == status
    assert error.retryable is (kind in (ErrorKind.RATE_LIMITED, ErrorKind.UNAVAILABLE))
    assert words in error.message  # the provider's own words, for the technical view
    assert error.user_message == plain.format(label=error.provider, message=error.message)
    if isinstance(error, RateLimited):
        assert error.retry_after is None  # no hint: the caller backs off on its own
    if isinstance(error, ProviderDown):
        assert error.maybe_accepted is False  # the provider answered: it did not take the job


@EVERY_ENDPOINT
def test_a_429_passes_on_the_retry_after_hint(mocked, made, contract, endpoint):
    body = contract.error_body(429, "Slow down.")
    mocked.route(**endpoint.route).respond(429, json=body, headers={"Retry-After": "7"})

    error = failing_call(contract, endpoint, made)

    assert error.kind is ErrorKind.RATE_LIMITED
    assert error.retry_after == 7.0


@EVERY_ENDPOINT
@pytest.mark.parametrize(("status", "kind"), [(401, ErrorKind.AUTH), (500, ErrorKind.UNAVAILABLE)])
def test_an_error_status_with_a_body_that_is_not_json_still_maps_by_status(
    mocked, made, contract, endpoint, status, kind
):
    mocked.route(**endpoint.route).respond(status, text="<html>upstream error</html>")

    error = failing_call(contract, endpoint, made)

    assert error.kind is kind
    assert error.status_code == status
    assert HTTPStatus(status).phrase in error.message


# --- Answers that cannot be read ------------------------------------------------------------


@EVERY_JSON_ENDPOINT
def test_a_2xx_answer_that_is_not_json_is_unreadable(mocked, made, contract, endpoint):
    status = endpoint.good_answer["status_code"]
    mocked.route(**endpoint.route).respond(status, text="<html>maintenance</html>")

    error = failing_call(contract, endpoint, made)

    assert isinstance(error, ProviderDown)
    assert error.kind is ErrorKind.UNREADABLE
    assert error.retryable is True
    assert error.user_message == f"{error.provider} answered with something unreadable"
    assert error.maybe_accepted is endpoint.sends_job  # a submit said yes: it must not be sent blindly again


@EVERY_JSON_ENDPOINT
def test_a_2xx_answer_of_the_wrong_shape_is_unreadable(mocked, made, contract, endpoint):
    status = endpoint.good_answer["status_code"]
    mocked.route(**endpoint.route).respond(status, json=endpoint.wrong_shape)

    error = failing_call(contract, endpoint, made)

    assert isinstance(error, ProviderDown)
    assert error.kind is ErrorKind.UNREADABLE
    assert error.user_message == f"{error.provider} answered with something unreadable"
    assert error.maybe_accepted is endpoint.sends_job


# --- Requests without an answer -------------------------------------------------------------


@EVERY_ENDPOINT
@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.ReadTimeout("read timed out"), ErrorKind.TIMEOUT),
        (httpx.RemoteProtocolError("peer closed connection"), ErrorKind.UNAVAILABLE),
    ],
    ids=["read-timeout", "connection-dropped"],
)
def test_a_request_that_failed_after_it_was_sent_may_have_been_accepted(
    mocked, made, contract, endpoint, failure, kind
):
    mocked.route(**endpoint.route).mock(side_effect=failure)

    error = failing_call(contract, endpoint, made)

    assert isinstance(error, ProviderDown)
    assert error.kind is kind
    assert error.maybe_accepted is True  # resubmitting blindly could pay twice
    assert error.retryable is True


@EVERY_ENDPOINT
@pytest.mark.parametrize(
    ("failure", "kind"),
    [
        (httpx.ConnectError("connection refused"), ErrorKind.UNAVAILABLE),
        (httpx.ConnectTimeout("connect timed out"), ErrorKind.TIMEOUT),
        (httpx.PoolTimeout("no free connection"), ErrorKind.TIMEOUT),
    ],
    ids=["connection-refused", "connect-timeout", "pool-timeout"],
)
def test_a_request_refused_before_it_was_sent_was_never_accepted(mocked, made, contract, endpoint, failure, kind):
    mocked.route(**endpoint.route).mock(side_effect=failure)

    error = failing_call(contract, endpoint, made)

    assert isinstance(error, ProviderDown)
    assert error.kind is kind
    assert error.maybe_accepted is False
    assert error.retryable is True


@PROVIDERS
def test_plain_messages_for_no_answer_say_what_happened(mocked, made, contract):
    endpoint = contract.endpoints[0]
    mocked.route(**endpoint.route).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.ConnectError("refused")])

    timed_out = failing_call(contract, endpoint, made)
    refused = failing_call(contract, endpoint, made)

    assert timed_out.user_message == f"{timed_out.provider} did not answer in time"
    assert refused.user_message == f"{refused.provider} is unavailable"


# --- What a job cost ----------------------------------------------------------------------


def speech_cost(adapter: Adapter) -> Cost | None:
    with adapter.generate_audio("text-to-speech", {"voice_id": "JBFqnCBsd6RMkjVDRZzb", "text": "Hi"}) as audio:
        b"".join(audio.chunks)
        return audio.cost


def status_cost(adapter: Adapter) -> Cost | None:
    return adapter.status(JOB_ID).cost


# Per provider: the call that reads a finished job, an answer to it that carries the job's cost,
# and the amount that answer reports (None: the API reports no cost).
COST_REPORTS = {
    "pixazo": ("status", status_cost, {"json": {"request_id": JOB_ID, "status": "COMPLETED", "output": {"media_url": ["https://cdn.pixazo.test/a.mp3"]}}}, None),
    "aimlapi": ("status", status_cost, {"json": {"id": JOB_ID, "status": "completed", "audio_file": {"url": "https://cdn.aimlapi.test/a.wav"}, "meta": {"usage": {"credits_used": 25200}}}}, Decimal(25200)),
    "elevenlabs": ("generate", speech_cost, {"content": MP3, "headers": {"Content-Type": "audio/mpeg", "character-cost": "2"}}, Decimal(2)),
    "apiframe": ("status", status_cost, {"json": {"id": JOB_ID, "status": "COMPLETED", "result": {"tracks": [{"audioUrl": "https://cdn.apiframe.test/a.mp3"}]}, "creditCost": 40}}, Decimal(40)),
    "runware": ("status", status_cost, {"json": {"data": [{"taskUUID": JOB_ID, "status": "success", "audioURL": "https://cdn.runware.test/a.mp3", "cost": 0.075}]}}, Decimal("0.075")),
}  # fmt: skip


@PROVIDERS
def test_a_reported_cost_is_in_the_unit_the_adapter_declares(mocked, made, contract):
    endpoint_name, read, answer, amount = COST_REPORTS[contract.key]
    endpoint = next(e for e in contract.endpoints if e.name == endpoint_name)
    mocked.route(**endpoint.route).respond(status_code=200, **answer)
    adapter = build(contract, made)

    cost = read(adapter)

    assert cost == (None if amount is None else Cost(amount, adapter.cost_unit))
    assert (adapter.cost_unit is None) == (amount is None)  # an API that reports a cost names its unit


@PROVIDERS
@pytest.mark.parametrize("figure", [None, "", "a lot", "NaN", "Infinity", -1, True, [3]])
def test_a_figure_that_is_not_an_amount_of_at_least_zero_is_no_cost(made, contract, figure):
    assert build(contract, made).reported_cost(figure) is None
