"""The Runware adapter against a mocked API (spec 004 and the fuller Runware docs): the exact
task arrays it sends, every status, the error answers and envelopes peculiar to it, callbacks.
The key on every request, the common error statuses, unreadable answers and timeouts are the
same for every adapter: tests/providers/test_contract.py.

No test touches the network: respx answers every request and fails on any it does not know.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import httpx
import pytest
import respx

from providers.base import (
    AuthFailed,
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
)
from providers.registry import PROVIDERS
from providers.runware import Runware

BASE_URL = "https://runware.test/v1"
API_KEY = "rw-key-123"
MODEL = "elevenlabs:1@1"
TASK = "6f1c8a4e-2b7d-4c1e-9a3f-0d5e7b9c1a2f"
OTHER_TASK = "0b9e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
AUDIO_URL = "https://im.runware.ai/audio/ws/0.5/ai/b7db282d-2943-4f12-992f-77df3ad3ec71.mp3"

PLAN = {
    "positiveGlobalStyles": ["cinematic", "orchestral"],
    "negativeGlobalStyles": ["lo-fi"],
    "sections": [
        {
            "sectionName": "Intro",
            "positiveLocalStyles": ["soft strings"],
            "negativeLocalStyles": [],
            "duration": 20,
            "lines": [],
        },
        {
            "sectionName": "Chorus",
            "positiveLocalStyles": ["full choir"],
            "negativeLocalStyles": ["drums"],
            "duration": 40,
            "lines": ["Rise above the northern sky", "Carry us home"],
        },
    ],
}
ALL_PARAMS = {
    "positivePrompt": "Epic orchestral theme with a choir",
    "duration": 95,
    "numberResults": 3,
    "outputFormat": "OGG",
    "sampleRate": 24000,
    "bitrate": 96,
    "channels": 1,
    "compositionPlan": PLAN,
    "forceInstrumental": False,
    "respectSectionsDurations": True,
}


def ack(task_uuid: str = TASK) -> dict:
    return {"data": [{"taskType": "audioInference", "taskUUID": task_uuid}]}


def processing(task_uuid: str = TASK) -> dict:
    return {"taskType": "audioInference", "taskUUID": task_uuid, "status": "processing"}


def success(url: str = AUDIO_URL, cost: float | None = 0.18, task_uuid: str = TASK) -> dict:
    item = {
        "taskType": "audioInference",
        "taskUUID": task_uuid,
        "status": "success",
        "audioUUID": "b7db282d-2943-4f12-992f-77df3ad3ec71",
        "audioURL": url,
    }
    return item if cost is None else {**item, "cost": cost}


def generation_error(message: str = "The external provider did not respond within the timeout window.") -> dict:
    return {
        "code": "timeoutProvider",
        "status": "error",
        "message": message,
        "documentation": "https://runware.ai/docs/en/audio-inference/api-reference",
        "taskUUID": TASK,
    }


def request_error(code: str, message: str, parameter: str = "", task_type: str = "audioInference") -> dict:
    return {"errors": [{"code": code, "message": message, "parameter": parameter, "taskType": task_type, "taskUUID": TASK}]}


@pytest.fixture
def adapter():
    runware = Runware(api_key=API_KEY, base_url=BASE_URL)
    yield runware
    runware.close()


@pytest.fixture
def api():
    """Every route must be called: a test that mocks a request expects the adapter to make it."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


def answer(api, status_code: int = 200, **response):
    return api.post(BASE_URL).mock(return_value=httpx.Response(status_code, **response))


def sent_tasks(route) -> list[dict]:
    return json.loads(route.calls.last.request.content)


def submit(adapter, params=None, **kwargs):
    return adapter.submit(MODEL, {"positivePrompt": "Calm piano"} if params is None else params, client_ref=TASK, **kwargs)


# --- The outgoing request ----------------------------------------------------------------


def test_submit_posts_one_async_audio_inference_task_with_every_setting_nested_where_runware_expects_it(
    adapter, api
):
    route = answer(api, json=ack())

    submitted = adapter.submit(MODEL, ALL_PARAMS, client_ref=TASK)

    assert route.call_count == 1
    request = route.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == BASE_URL  # the base URL itself is the endpoint: no trailing slash
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["Content-Type"] == "application/json"
    assert sent_tasks(route) == [
        {
            "taskType": "audioInference",
            "taskUUID": TASK,
            "model": MODEL,
            "deliveryMethod": "async",
            "outputType": "URL",
            "includeCost": True,
            "positivePrompt": "Epic orchestral theme with a choir",
            "duration": 95,
            "numberResults": 3,
            "outputFormat": "OGG",
            "audioSettings": {"sampleRate": 24000, "bitrate": 96, "channels": 1},
            "providerSettings": {
                "elevenlabs": {
                    "music": {"compositionPlan": PLAN, "forceInstrumental": False, "respectSectionsDurations": True}
                }
            },
        }
    ]
    assert submitted.external_id == TASK
    assert submitted.state is None


def test_prompt_only_submit_sends_no_audio_or_provider_settings(adapter, api):
    route = answer(api, json=ack())

    submit(adapter, {"positivePrompt": "Calm piano", "duration": 30, "outputFormat": "WAV"})

    assert sent_tasks(route) == [
        {
            "taskType": "audioInference",
            "taskUUID": TASK,
            "model": MODEL,
            "deliveryMethod": "async",
            "outputType": "URL",
            "includeCost": True,
            "positivePrompt": "Calm piano",
            "duration": 30,
            "outputFormat": "WAV",
        }
    ]


def test_numbers_stored_as_text_and_empty_values_are_cleaned_before_sending(adapter, api):
    route = answer(api, json=ack())

    stored = {"positivePrompt": "Calm piano", "sampleRate": "44100", "bitrate": "192", "duration": "", "channels": None}
    submit(adapter, stored)

    task = sent_tasks(route)[0]
    assert task["audioSettings"] == {"sampleRate": 44100, "bitrate": 192}
    assert "duration" not in task


def test_callback_url_is_sent_as_the_webhook_url(adapter, api):
    route = answer(api, json=ack())

    submit(adapter, callback_url="https://studio.example.com/hooks/runware/42/secret/")

    assert sent_tasks(route)[0]["webhookURL"] == "https://studio.example.com/hooks/runware/42/secret/"


def test_no_callback_url_sends_no_webhook_url(adapter, api):
    route = answer(api, json=ack())

    submit(adapter, callback_url=None)

    assert "webhookURL" not in sent_tasks(route)[0]


def test_a_repeated_submit_names_the_same_task_so_it_is_never_paid_twice(adapter, api):
    route = answer(api, json=ack())

    first = submit(adapter)
    second = submit(adapter)

    assert [sent["taskUUID"] for sent in (json.loads(c.request.content)[0] for c in route.calls)] == [TASK, TASK]
    assert first.external_id == second.external_id == TASK


def test_submit_without_a_client_ref_names_the_task_with_a_fresh_uuid4(adapter, api):
    route = answer(api, json={"data": [{"taskType": "audioInference"}]})

    submitted = adapter.submit(MODEL, {"positivePrompt": "Calm piano"})

    task_uuid = sent_tasks(route)[0]["taskUUID"]
    assert uuid.UUID(task_uuid).version == 4
    assert submitted.external_id == task_uuid


def test_status_posts_a_get_response_task_for_the_task_uuid(adapter, api):
    route = answer(api, json={"data": [processing()]})

    adapter.status(TASK)

    request = route.calls.last.request
    assert str(request.url) == BASE_URL
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert sent_tasks(route) == [{"taskType": "getResponse", "taskUUID": TASK}]


# --- Status values -------------------------------------------------------------------------


def test_an_accepted_task_not_yet_listed_is_queued(adapter, api):
    answer(api, json={"data": []})

    job = adapter.status(TASK)

    assert job.state is State.QUEUED
    assert job.external_id == TASK
    assert not job.finished


@pytest.mark.parametrize("status", ["processing", "pending"], ids=["processing", "older-docs-pending"])
def test_processing_and_pending_map_to_running(adapter, api, status):
    answer(api, json={"data": [{**processing(), "status": status}]})

    job = adapter.status(TASK)

    assert job.state is State.RUNNING
    assert job.media == ()
    assert not job.finished


def test_success_maps_to_succeeded_with_the_audio_url_and_cost(adapter, api):
    answer(api, json={"data": [success(cost=0.18)]})

    job = adapter.status(TASK)

    assert job.state is State.SUCCEEDED
    assert job.finished
    assert job.external_id == TASK
    assert job.media == (Media(url=AUDIO_URL, content_type="audio/mpeg"),)
    assert job.cost == Cost(Decimal("0.18"), CostUnit.USD)
    assert job.error == ""


def test_several_results_make_several_media_in_one_job_with_the_costs_summed(adapter, api):
    urls = [f"https://im.runware.ai/audio/{n}.mp3" for n in range(3)]
    answer(api, json={"data": [success(u, cost=0.1) for u in urls]})

    job = adapter.status(TASK)

    assert job.state is State.SUCCEEDED
    assert [m.url for m in job.media] == urls
    assert job.cost == Cost(Decimal("0.3"), CostUnit.USD)


def test_some_results_still_processing_keep_the_job_running_with_progress(adapter, api):
    answer(api, json={"data": [success(), processing()]})

    job = adapter.status(TASK)

    assert job.state is State.RUNNING
    assert job.progress == 50
    assert job.media == ()


def test_one_early_result_does_not_pass_for_the_whole_task_when_more_were_asked_for(adapter, api):
    route = api.post(BASE_URL).mock(
        side_effect=[httpx.Response(200, json=ack()), httpx.Response(200, json={"data": [success()]})]
    )

    submit(adapter, {"positivePrompt": "Calm piano", "numberResults": 2})
    job = adapter.status(TASK)

    assert route.call_count == 2
    assert job.state is State.RUNNING
    assert job.progress == 50


def test_a_failed_generation_moved_to_errors_maps_to_failed_with_its_message(adapter, api):
    answer(api, json={"data": [], "errors": [generation_error()]})

    job = adapter.status(TASK)

    assert job.state is State.FAILED
    assert job.finished
    assert job.error == "The external provider did not respond within the timeout window."
    assert job.media == ()


def test_a_failed_generation_reported_with_an_error_http_status_is_still_a_failed_job(adapter, api):
    answer(api, 500, json={"errors": [generation_error("Provider crashed")]})

    job = adapter.status(TASK)

    assert job.state is State.FAILED
    assert job.error == "Provider crashed"


def test_an_error_status_item_in_data_maps_to_failed(adapter, api):
    answer(api, json={"data": [{**processing(), "status": "error", "message": "Content policy"}]})

    job = adapter.status(TASK)

    assert job.state is State.FAILED
    assert job.error == "Content policy"


def test_results_that_partly_failed_keep_the_audio_that_succeeded(adapter, api):
    answer(api, json={"data": [success()], "errors": [generation_error()]})

    job = adapter.status(TASK)

    assert job.state is State.SUCCEEDED
    assert job.media == (Media(url=AUDIO_URL, content_type="audio/mpeg"),)


@pytest.mark.parametrize(
    "extension, content_type",
    [("wav", "audio/wav"), ("flac", "audio/flac"), ("ogg", "audio/ogg"), ("bin", "")],
)
def test_media_content_type_follows_the_file_extension(adapter, api, extension, content_type):
    answer(api, json={"data": [success(f"https://im.runware.ai/audio/x.{extension}")]})

    job = adapter.status(TASK)

    assert job.media[0].content_type == content_type


def test_a_result_without_cost_leaves_the_cost_unknown(adapter, api):
    answer(api, json={"data": [success(cost=None)]})

    assert adapter.status(TASK).cost is None


def test_items_of_other_tasks_are_ignored(adapter, api):
    answer(api, json={"data": [success(task_uuid=OTHER_TASK)]})

    job = adapter.status(TASK)

    assert job.state is State.QUEUED
    assert job.media == ()


def test_unknown_status_is_provider_down(adapter, api):
    answer(api, json={"data": [{**processing(), "status": "exploded"}]})

    with pytest.raises(ProviderDown) as caught:
        adapter.status(TASK)

    assert "exploded" in caught.value.message
    assert caught.value.retryable is True


@pytest.mark.parametrize("url", [None, ""], ids=["missing", "empty"])
def test_success_without_an_audio_url_is_provider_down(adapter, api, url):
    answer(api, json={"data": [{**success(), "audioURL": url}]})

    with pytest.raises(ProviderDown) as caught:
        adapter.status(TASK)

    assert "audioURL" in caught.value.message


# --- Error answers peculiar to Runware --------------------------------------------------------

CALLS = {
    "submit": lambda adapter: submit(adapter),
    "status": lambda adapter: adapter.status(TASK),
}
ENDPOINTS = pytest.mark.parametrize("endpoint", list(CALLS))


@ENDPOINTS
def test_a_504_capacity_error_is_provider_down_and_retryable(adapter, api, endpoint):
    answer(api, 504, json=request_error("internalServerError", "Temporary capacity constraint."))

    with pytest.raises(ProviderDown) as caught:
        CALLS[endpoint](adapter)

    assert caught.value.status_code == 504
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.retryable is True
    assert caught.value.user_message == "Runware is unavailable (HTTP 504)"


def test_a_400_whose_code_says_invalid_api_key_is_auth_failed(adapter, api):
    answer(api, 400, json=request_error("invalidApiKey", "Invalid API key.", "apiKey", "authentication"))

    with pytest.raises(AuthFailed) as caught:
        submit(adapter)

    assert caught.value.kind is ErrorKind.AUTH


@pytest.mark.parametrize(
    "code, error_class, kind",
    [
        ("invalidPositivePrompt", InvalidRequest, ErrorKind.INVALID),
        ("insufficientCredits", OutOfCredit, ErrorKind.CREDIT),
        ("invalidApiKey", AuthFailed, ErrorKind.AUTH),
    ],
)
def test_a_2xx_submit_answer_with_only_errors_for_the_task_is_refused_by_code(adapter, api, code, error_class, kind):
    answer(api, json={"data": [], **request_error(code, "Refused for a reason.")})

    with pytest.raises(error_class) as caught:
        submit(adapter)

    assert caught.value.message == "Refused for a reason."
    assert caught.value.kind is kind


@pytest.mark.parametrize(
    "status_code, body",
    [
        (409, request_error("conflict", "Task already exists.", "taskUUID")),
        (400, request_error("duplicateTaskUUID", "This taskUUID was already used.", "taskUUID")),
    ],
    ids=["409", "duplicate-code"],
)
def test_a_submit_refused_as_a_duplicate_task_is_the_task_already_accepted(adapter, api, status_code, body):
    answer(api, status_code, json=body)

    submitted = submit(adapter)

    assert submitted.external_id == TASK
    assert submitted.state is None


def test_a_submit_answered_with_a_failed_generation_ends_the_job_at_once(adapter, api):
    answer(api, json={"data": [], "errors": [generation_error("Content policy")]})

    submitted = submit(adapter)

    assert submitted.external_id == TASK
    assert submitted.state.state is State.FAILED
    assert submitted.state.error == "Content policy"


# --- Malformed answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json="ok"),
        httpx.Response(200, json={"data": []}),
        httpx.Response(200, json={"data": "yes"}),
        httpx.Response(200, json=ack(OTHER_TASK)),
    ],
    ids=["json-string", "empty-data", "data-not-a-list", "another-task"],
)
def test_an_unreadable_2xx_submit_answer_may_have_been_accepted(adapter, api, response):
    api.post(BASE_URL).mock(return_value=response)

    with pytest.raises(ProviderDown) as caught:
        submit(adapter)

    assert caught.value.maybe_accepted is True
    assert caught.value.retryable is True


def test_a_bare_list_of_items_is_read_as_the_data_array(adapter, api):
    answer(api, json=[success()])

    job = adapter.status(TASK)

    assert job.state is State.SUCCEEDED


def test_an_ack_with_an_unknown_status_is_still_the_accepted_task(adapter, api):
    answer(api, json={"data": [{**processing(), "status": "brewing"}]})

    submitted = submit(adapter)

    assert submitted.external_id == TASK
    assert submitted.state is None


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, json=42),
    ],
    ids=["number"],
)
def test_an_unreadable_status_answer_is_provider_down(adapter, api, response):
    api.post(BASE_URL).mock(return_value=response)

    with pytest.raises(ProviderDown):
        adapter.status(TASK)


# --- Callbacks ---------------------------------------------------------------------------------


def test_runware_callbacks_are_accepted_but_only_as_hints():
    assert PROVIDERS["runware"].accepts_callbacks is True
    assert PROVIDERS["runware"].signs_callbacks is False  # unsigned: the studio confirms with getResponse


@pytest.mark.parametrize("body", [{"data": [success()]}, success()], ids=["envelope", "bare-item"])
def test_a_result_callback_parses_to_its_task_with_the_media(adapter, body):
    job = adapter.parse_callback({"Content-Type": "application/json"}, json.dumps(body).encode())

    assert isinstance(job, JobState)
    assert job.state is State.SUCCEEDED
    assert job.external_id == TASK
    assert job.media == (Media(url=AUDIO_URL, content_type="audio/mpeg"),)
    assert job.cost == Cost(Decimal("0.18"), CostUnit.USD)


def test_a_failed_result_callback_parses_to_failed(adapter):
    job = adapter.parse_callback({}, json.dumps({"errors": [generation_error("No luck")]}).encode())

    assert job.state is State.FAILED
    assert job.external_id == TASK
    assert job.error == "No luck"


@pytest.mark.parametrize("body", [b"not json", b"", b"\xff\xfe\x00garbage"], ids=["text", "empty", "bad-bytes"])
def test_a_non_json_callback_is_rejected(adapter, body):
    with pytest.raises(CallbackRejected):
        adapter.parse_callback({}, body)


def test_a_json_callback_that_is_no_task_answer_is_provider_down(adapter):
    with pytest.raises(ProviderDown):
        adapter.parse_callback({}, json.dumps({"hello": "world"}).encode())


def test_callbacks_never_touch_the_network(adapter):
    with respx.mock(assert_all_called=False) as mock:
        adapter.parse_callback({}, json.dumps({"data": [success()]}).encode())

    assert mock.calls.call_count == 0
