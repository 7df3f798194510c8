"""The emulator speaks Runware as specs/004 and the fuller docs describe it, over real HTTP on
loopback: task arrays, async acknowledgements, getResponse, one result per numberResults,
audio in every output format, documented errors, webhooks per result, idempotent taskUUIDs."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
import wave
from decimal import Decimal

import httpx
import mutagen.flac
import mutagen.mp3
import mutagen.oggvorbis
import pytest

from providers.base import State
from providers.emulator.encoders import sndfile
from providers.runware import Runware
from providers.runware.emulator import PRICE_PER_SECOND
from studio.jobs.services import start_generation
from studio.catalog import BY_KEY
from studio.models import Generation

from ...conftest import wait_for
from ..emulator.callbacks import receiver_fixture

ENDPOINT = "/runware"
AUTH_HEADERS = KEY = {"Authorization": "Bearer test-key"}
MODEL = "elevenlabs:1@1"
FAST = {
    "queued_seconds": 0.03,
    "job_seconds": 0.2,
    "music_seconds": 1.0,
    "webhook_retry_delay": 0.02,
}
needs_sndfile = pytest.mark.skipif(sndfile() is None, reason="libsndfile is not installed: no OGG Vorbis encoder")


@pytest.fixture
def emu(emulator):
    return emulator


receiver = receiver_fixture("/hooks/runware/7/secret-token/")

def inference(task_uuid: str | None = None, prompt: str | None = "Warm lo-fi beat with vinyl crackle", **fields) -> dict:
    task = {
        "taskType": "audioInference",
        "taskUUID": task_uuid or str(uuid.uuid4()),
        "model": MODEL,
        "deliveryMethod": "async",
        "includeCost": True,
        **fields,
    }
    if prompt is not None:
        task["positivePrompt"] = prompt
    return task


def post(client, *tasks, headers=None) -> httpx.Response:
    return client.post(ENDPOINT, json=list(tasks), headers=headers or {})


def submit(client, **fields) -> str:
    task = inference(**fields)
    response = post(client, task)
    assert response.status_code == 200, response.text
    return task["taskUUID"]


def get_response(client, task_uuid: str) -> dict:
    response = post(client, {"taskType": "getResponse", "taskUUID": task_uuid})
    assert response.status_code == 200, response.text
    return response.json()


def wait_until_done(client, task_uuid: str, timeout: float = 5.0) -> list[dict]:
    """Poll like the studio does; every answer seen, the one with no result processing last."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = get_response(client, task_uuid)
        seen.append(answer)
        if answer["data"] + answer.get("errors", []) and all(i.get("status") != "processing" for i in answer["data"]):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"{task_uuid} never finished: {seen[-1]}")


def finished_audio(client, **fields) -> list[httpx.Response]:
    task_uuid = submit(client, **fields)
    done = wait_until_done(client, task_uuid)[-1]
    return [client.get(item["audioURL"]) for item in done["data"]]


def sample_plan() -> dict:
    return {
        "positiveGlobalStyles": ["lo-fi"],
        "negativeGlobalStyles": [],
        "sections": [
            {"sectionName": "Intro", "duration": 12, "lines": [], "positiveLocalStyles": [], "negativeLocalStyles": []},
            {
                "sectionName": "Hook",
                "duration": 30,
                "lines": ["Stay"],
                "positiveLocalStyles": [],
                "negativeLocalStyles": [],
            },
        ],
    }


# --- submit and lifecycle -------------------------------------------------------------------


def test_async_submit_is_acknowledged_with_the_task_uuid(client):
    task = inference()

    response = post(client, task)

    assert response.status_code == 200
    assert response.json() == {"data": [{"taskType": "audioInference", "taskUUID": task["taskUUID"]}]}


def test_results_go_from_processing_to_success_one_by_one(running, client, emu):
    emu.configure(job_seconds=1.2)  # results ~0.4 s apart: a busy machine still sees each step
    task_uuid = submit(client, numberResults=3, duration=20)

    seen = wait_until_done(client, task_uuid)

    first, done = seen[0]["data"], seen[-1]["data"]
    assert [i["status"] for i in first] == ["processing"] * 3
    assert any(sorted(i["status"] for i in a["data"]) == ["processing", "processing", "success"] for a in seen)
    assert [i["status"] for i in done] == ["success"] * 3
    assert len({i["audioUUID"] for i in done}) == 3
    for item in done:
        assert item["taskUUID"] == task_uuid and item["taskType"] == "audioInference"
        assert item["audioURL"] == f"{running.base_url}/runware/media/{task_uuid}/{item['audioUUID']}.mp3"
        assert item["cost"] == pytest.approx(PRICE_PER_SECOND * 20)
    assert len({hashlib.sha256(r.content).hexdigest() for r in (client.get(i["audioURL"]) for i in done)}) == 3


def test_cost_is_only_reported_when_asked_for(client):
    task_uuid = submit(client, includeCost=False)

    done = wait_until_done(client, task_uuid)[-1]["data"][0]

    assert "cost" not in done


def test_a_composition_plan_prices_the_sum_of_its_sections(client):
    task_uuid = submit(client, prompt=None, providerSettings={"elevenlabs": {"music": {"compositionPlan": sample_plan()}}})

    done = wait_until_done(client, task_uuid)[-1]["data"][0]

    assert done["cost"] == pytest.approx(PRICE_PER_SECOND * 42)


def test_resubmitting_a_task_uuid_is_the_same_task_not_a_second_job(client, emu):
    task = inference(numberResults=2)
    first = post(client, task)
    second = post(client, {**task, "positivePrompt": "Something else entirely"})

    assert first.json() == second.json()
    assert len(emu.jobs()) == 1
    assert emu.stats()["submissions"] == {"total": 1, "by_request_id": {task["taskUUID"]: 1}}
    assert emu.job(task["taskUUID"]).params["positivePrompt"] == "Warm lo-fi beat with vinyl crackle"


def test_the_adapter_resubmitting_after_a_lost_answer_does_not_pay_twice(running, emu):
    adapter = Runware(api_key="test-key", base_url=running.url("runware"))
    ref = str(uuid.uuid4())

    first = adapter.submit(MODEL, {"positivePrompt": "Calm piano"}, client_ref=ref)
    again = adapter.submit(MODEL, {"positivePrompt": "Calm piano"}, client_ref=ref)
    adapter.close()

    assert first.external_id == again.external_id == ref
    assert emu.stats()["submissions"]["total"] == 1


def test_sync_delivery_answers_with_the_results_once_they_are_in(client):
    task = inference(deliveryMethod="sync", numberResults=2)

    started = time.monotonic()
    response = post(client, task)

    assert time.monotonic() - started >= FAST["job_seconds"] - 0.05
    assert [i["status"] for i in response.json()["data"]] == ["success", "success"]


def test_unknown_task_uuid_is_404_task_not_found(client):
    response = post(client, {"taskType": "getResponse", "taskUUID": str(uuid.uuid4())})

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "taskNotFound"


def test_media_url_follows_the_host_the_client_used(client):
    task_uuid = submit(client, numberResults=1)
    time.sleep(FAST["job_seconds"])

    response = post(client, {"taskType": "getResponse", "taskUUID": task_uuid}, headers={"Host": "emu.test:9"})

    assert response.json()["data"][0]["audioURL"].startswith("http://emu.test:9/runware/media/")


# --- audio ---------------------------------------------------------------------------------


def test_default_output_is_a_stereo_mp3_at_44100_hz(client):
    (response,) = finished_audio(client)

    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    info = mutagen.mp3.MP3(io.BytesIO(response.content)).info
    assert (info.sample_rate, info.bitrate, info.channels) == (44100, 128000, 2)
    assert info.length == pytest.approx(1.0, abs=0.1)


def test_mp3_follows_the_audio_settings(client):
    settings = {"sampleRate": 22050, "bitrate": 64, "channels": 1}
    (response,) = finished_audio(client, outputFormat="MP3", audioSettings=settings)

    info = mutagen.mp3.MP3(io.BytesIO(response.content)).info
    assert (info.sample_rate, info.bitrate, info.channels) == (22050, 64000, 1)


def test_wav_output_is_a_16_bit_stereo_wav(client):
    (response,) = finished_audio(client, outputFormat="WAV")

    assert response.headers["content-type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth(), audio.getframerate()) == (2, 2, 44100)
        assert audio.getnframes() == 44100


def test_flac_output_is_real_flac_holding_the_same_samples(client):
    (response,) = finished_audio(client, outputFormat="flac")

    assert response.headers["content-type"] == "audio/flac"
    assert response.url.path.endswith(".flac")
    info = mutagen.flac.FLAC(io.BytesIO(response.content)).info
    assert (info.sample_rate, info.channels, info.bits_per_sample, info.total_samples) == (44100, 2, 16, 44100)


@needs_sndfile
def test_ogg_output_is_ogg_vorbis_at_the_asked_rate_and_channels(client):
    settings = {"sampleRate": 24000, "channels": 1, "bitrate": 48}
    (response,) = finished_audio(client, outputFormat="OGG", audioSettings=settings)

    assert response.headers["content-type"] == "audio/ogg"
    info = mutagen.oggvorbis.OggVorbis(io.BytesIO(response.content)).info
    assert (info.sample_rate, info.channels) == (24000, 1)
    assert info.length == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("output_type, field", [("base64Data", "audioBase64Data"), ("dataURI", "audioDataURI")])
def test_inline_output_types_carry_the_audio_instead_of_a_url(client, output_type, field):
    task_uuid = submit(client, outputType=output_type, outputFormat="WAV")

    item = wait_until_done(client, task_uuid)[-1]["data"][0]

    assert "audioURL" not in item
    encoded = item[field].removeprefix("data:audio/wav;base64,")
    assert base64.b64decode(encoded)[:4] == b"RIFF"


def test_media_is_not_served_before_the_result_is_done_nor_with_a_wrong_extension(running, client):
    task_uuid = submit(client)
    audio_uuid = None
    for _ in range(50):
        done = get_response(client, task_uuid)["data"][0]
        if done["status"] == "success":
            audio_uuid = done["audioUUID"]
            break
        time.sleep(0.02)
    base = f"/runware/media/{task_uuid}/{audio_uuid}"

    assert client.get(base + ".wav").status_code == 404
    assert httpx.get(running.base_url + base + ".mp3").status_code == 200  # no key needed, like a CDN


def test_media_is_served_before_but_not_after_its_ttl(client, emu):
    task_uuid = submit(client, ttl=60)
    url = wait_until_done(client, task_uuid)[-1]["data"][0]["audioURL"]

    assert client.get(url).status_code == 200
    emu.job(task_uuid).created_wall -= 61
    assert client.get(url).status_code == 404


# --- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": "Basic abc"}]
)
def test_a_missing_key_is_401_invalid_api_key(running, headers):
    response = httpx.post(running.base_url + ENDPOINT, json=[inference()], headers=headers)

    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert (error["code"], error["parameter"], error["taskType"]) == ("invalidApiKey", "apiKey", "authentication")


def test_an_authentication_task_in_the_array_also_authenticates(running, emu):
    task = inference()

    response = httpx.post(running.base_url + ENDPOINT, json=[{"taskType": "authentication", "apiKey": "k"}, task])

    assert response.status_code == 200
    assert response.json()["data"] == [{"taskType": "audioInference", "taskUUID": task["taskUUID"]}]


def test_the_configured_key_must_match(client, emu):
    emu.configure(api_key="right-key")

    assert post(client, inference(), headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert post(client, inference(), headers={"Authorization": "Bearer right-key"}).status_code == 200


def test_the_forbidden_key_is_403(client):
    response = post(client, inference(), headers={"Authorization": "Bearer forbidden"})

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "accessDenied"


# --- validation ----------------------------------------------------------------------------

PLAN_PATH = "providerSettings.elevenlabs.music.compositionPlan"


def with_plan(**changes) -> dict:
    plan = {**sample_plan(), **changes}
    return {"providerSettings": {"elevenlabs": {"music": {"compositionPlan": plan}}}}


def with_section(**changes) -> dict:
    section = {**sample_plan()["sections"][0], **changes}
    return with_plan(sections=[{k: v for k, v in section.items() if v is not None}])


@pytest.mark.parametrize(
    "fields, parameter",
    [
        ({"model": "elevenlabs:2@1"}, "model"),
        ({"taskUUID": "not-a-uuid"}, "taskUUID"),
        ({"taskUUID": "0190c7a0-0000-7000-8000-000000000000"}, "taskUUID"),  # a v7 UUID: the spec says v4
        ({"positivePrompt": ""}, "positivePrompt"),
        ({"positivePrompt": "a" * 2001}, "positivePrompt"),
        ({"duration": 9}, "duration"),
        ({"duration": 301}, "duration"),
        ({"duration": 30.5}, "duration"),
        ({"numberResults": 0}, "numberResults"),
        ({"numberResults": 5}, "numberResults"),
        ({"outputFormat": "AAC"}, "outputFormat"),
        ({"outputType": "file"}, "outputType"),
        ({"deliveryMethod": "later"}, "deliveryMethod"),
        ({"ttl": 59}, "ttl"),
        ({"includeCost": "yes"}, "includeCost"),
        ({"webhookURL": "not a url"}, "webhookURL"),
        ({"outputFormat": "WAV", "audioSettings": {"sampleRate": 44100}}, "audioSettings"),
        ({"outputFormat": "FLAC", "audioSettings": {"bitrate": 128}}, "audioSettings"),
        ({"audioSettings": {"sampleRate": 44000}}, "audioSettings.sampleRate"),
        ({"outputFormat": "OGG", "audioSettings": {"sampleRate": 44100}}, "audioSettings.sampleRate"),
        ({"audioSettings": {"sampleRate": 44100, "bitrate": 321}}, "audioSettings.bitrate"),
        ({"audioSettings": {"sampleRate": 8000, "bitrate": 65}}, "audioSettings.bitrate"),
        ({"outputFormat": "OGG", "audioSettings": {"sampleRate": 48000, "bitrate": 40}}, "audioSettings.bitrate"),
        (
            {"outputFormat": "OGG", "audioSettings": {"sampleRate": 48000, "channels": 1, "bitrate": 225}},
            "audioSettings.bitrate",
        ),
        ({"audioSettings": {"channels": 3}}, "audioSettings.channels"),
        ({"audioSettings": {"quality": 3}}, "audioSettings"),
        ({"positivePrompt": None}, "positivePrompt"),
        ({"providerSettings": {"elevenlabs": {}}}, "providerSettings.elevenlabs.music"),
        (
            {"providerSettings": {"elevenlabs": {"music": {"forceInstrumental": "yes"}}}},
            "providerSettings.elevenlabs.music.forceInstrumental",
        ),
        (with_plan(sections=[]), f"{PLAN_PATH}.sections"),
        (with_plan(positiveGlobalStyles=None), f"{PLAN_PATH}.positiveGlobalStyles"),
        (with_section(duration=2), f"{PLAN_PATH}.sections[0].duration"),
        (with_section(duration=121), f"{PLAN_PATH}.sections[0].duration"),
        (with_section(sectionName=""), f"{PLAN_PATH}.sections[0].sectionName"),
        (with_section(sectionName="n" * 101), f"{PLAN_PATH}.sections[0].sectionName"),
        (with_section(lines=None), f"{PLAN_PATH}.sections[0].lines"),
        ({"seed": 42}, "seed"),
    ],
)
def test_invalid_tasks_are_400_naming_the_parameter(client, emu, fields, parameter):
    task = {**inference(), **fields}
    task = {k: v for k, v in task.items() if v is not None}

    response = post(client, task)

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["parameter"] == parameter
    assert error["message"] and error["code"]
    assert error["taskType"] == "audioInference"
    assert emu.stats()["submissions"]["total"] == 0


def test_a_valid_composition_plan_is_accepted(client):
    response = post(client, inference(prompt=None, **with_plan()))

    assert response.status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", b"[]", json.dumps({"taskType": "getResponse"}).encode()],
    ids=["not-json", "an-object", "empty-array", "one-task-not-in-an-array"],
)
def test_a_body_that_is_no_task_array_is_400(client, body):
    response = client.post(ENDPOINT, content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalidRequestBody"


def test_an_unknown_task_type_is_400(client):
    response = post(client, {"taskType": "imageInference", "taskUUID": str(uuid.uuid4())})

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalidTaskType"


# --- forced outcomes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, error_code",
    [
        (400, "invalidPositivePrompt"),
        (401, "invalidApiKey"),
        (402, "insufficientCredits"),
        (403, "accessDenied"),
        (429, "tooManyRequests"),
        (500, "internalServerError"),
    ],
)
def test_a_marker_forces_the_documented_error(client, emu, code, error_code):
    task = inference(prompt=f"Calm piano [emulate:{code}]")

    response = post(client, task)

    assert response.status_code == code
    error = response.json()["errors"][0]
    assert (error["code"], error["taskUUID"], error["taskType"]) == (error_code, task["taskUUID"], "audioInference")
    assert emu.stats()["submissions"]["total"] == 0
    assert emu.stats()["rejected_submissions"]["by_status"] == {str(code): 1}


def test_a_marker_in_a_composition_plan_counts_too(client):
    plan = sample_plan()
    plan["sections"][0]["sectionName"] = "Intro [emulate:402]"

    response = post(client, inference(prompt=None, providerSettings={"elevenlabs": {"music": {"compositionPlan": plan}}}))

    assert response.status_code == 402


@pytest.mark.parametrize("marker, code", [("failed", "providerError"), ("error", "timeoutProvider")])
def test_a_marker_makes_every_result_fail_into_the_errors_array(client, marker, code):
    task_uuid = submit(client, prompt=f"Calm piano [emulate:{marker}]", numberResults=2)

    done = wait_until_done(client, task_uuid)[-1]

    assert done["data"] == []
    assert [(e["code"], e["status"], e["taskUUID"]) for e in done["errors"]] == [(code, "error", task_uuid)] * 2


def test_the_slow_marker_stretches_the_job(client, emu):
    task_uuid = submit(client, prompt="Calm piano [emulate:slow]")

    assert emu.job(task_uuid).total_seconds == pytest.approx(5 * FAST["job_seconds"])
    time.sleep(FAST["job_seconds"] + 0.05)
    assert get_response(client, task_uuid)["data"][0]["status"] == "processing"


def test_an_unknown_marker_is_400(client):
    response = post(client, inference(prompt="Calm piano [emulate:fail]"))

    assert response.status_code == 400
    assert "emulate:fail" in response.json()["errors"][0]["message"]


# --- webhooks ------------------------------------------------------------------------------


def test_an_http_webhook_is_refused_unless_allowed(client, emu, receiver):
    refused = post(client, inference(webhookURL=receiver.url))
    emu.configure(allow_http_webhooks=True)
    accepted = post(client, inference(webhookURL=receiver.url))

    assert refused.status_code == 400
    assert refused.json()["errors"][0]["parameter"] == "webhookURL"
    assert accepted.status_code == 200


def test_each_result_is_posted_to_the_webhook_as_it_becomes_available(client, emu, receiver):
    emu.configure(allow_http_webhooks=True)
    task_uuid = submit(client, webhookURL=receiver.url, numberResults=2)

    received = receiver.wait_for(2)
    wait_for(lambda: emu.stats()["callbacks_sent"]["total"] == 2)
    time.sleep(0.1)  # and no third one follows

    assert len(receiver.received) == 2
    assert {c["path"] for c in received} == {"/hooks/runware/7/secret-token/"}
    assert all(c["headers"]["Content-Type"] == "application/json" for c in received)
    items = [c["json"]["data"][0] for c in received]
    assert [i["status"] for i in items] == ["success", "success"]
    assert sorted(i["audioUUID"] for i in items) == sorted(i["audioUUID"] for i in get_response(client, task_uuid)["data"])
    assert emu.stats()["callbacks_sent"]["by_request_id"] == {task_uuid: 2}


def test_failed_results_are_posted_as_errors(client, emu, receiver):
    emu.configure(allow_http_webhooks=True)
    submit(client, prompt="x [emulate:error]", webhookURL=receiver.url)

    callback = receiver.wait_for(1)[0]["json"]

    assert callback["errors"][0]["code"] == "timeoutProvider" and callback["errors"][0]["status"] == "error"


def test_a_webhook_answered_with_an_error_is_retried(client, emu, receiver):
    emu.configure(allow_http_webhooks=True)
    receiver.answers = [500]
    task_uuid = submit(client, webhookURL=receiver.url)

    receiver.wait_for(2)
    wait_for(lambda: emu.stats()["callbacks_sent"]["total"] == 1)

    stats = emu.stats()
    assert stats["callback_attempts"]["by_request_id"] == {task_uuid: 2}
    assert stats["callbacks_sent"]["by_request_id"] == {task_uuid: 1}


def test_webhooks_to_hosts_off_this_machine_are_not_sent(client, emu):
    task_uuid = submit(client, webhookURL="https://studio.example.com/hooks/runware/1/t/")

    wait_until_done(client, task_uuid)
    wait_for(lambda: emu.stats()["callbacks_skipped"]["total"] == 1)

    stats = emu.stats()
    assert stats["callbacks_skipped"]["by_request_id"] == {task_uuid: 1}
    assert stats["callback_attempts"]["total"] == 0


def test_the_adapter_reads_a_webhook_the_emulator_sent(client, emu, receiver):
    emu.configure(allow_http_webhooks=True)
    task_uuid = submit(client, webhookURL=receiver.url)

    body = json.dumps(receiver.wait_for(1)[0]["json"]).encode()
    job = Runware(api_key="k", base_url="https://unused.test").parse_callback({}, body)

    assert job.state is State.SUCCEEDED and job.external_id == task_uuid
    assert job.media[0].url.endswith(".mp3")


# --- counters --------------------------------------------------------------------------------


def test_counters_tell_submissions_polls_media_fetches_and_refusals(client, emu):
    task_uuid = submit(client, numberResults=2)
    done = wait_until_done(client, task_uuid)[-1]
    for item in done["data"]:
        client.get(item["audioURL"])
    post(client, inference(prompt="x [emulate:402]"))

    stats = emu.stats()

    assert stats["submissions"] == {"total": 1, "by_request_id": {task_uuid: 1}}
    assert stats["status_calls"]["by_request_id"][task_uuid] >= 2
    assert stats["media_fetches"] == {"total": 2, "by_request_id": {task_uuid: 2}}
    assert stats["rejected_submissions"]["by_status"] == {"402": 1}


# --- the studio against the emulator --------------------------------------------------------


def test_a_studio_generation_with_two_flac_results_stores_two_tracks_and_the_cost(
    project, alice, running, emulator, worker, settings
):
    settings.PROVIDERS = {**settings.PROVIDERS, "runware": {"api_key": "emulator-key", "base_url": f"{running.base_url}/runware"}}
    model = BY_KEY["runware-eleven-music"]
    params = {"positivePrompt": "Warm lo-fi beat", "numberResults": 2, "outputFormat": "FLAC", "duration": 40}
    gen = start_generation(project=project, user=alice, model=model, params=params)

    def finished():
        gen.refresh_from_db()
        return gen.state in Generation.TERMINAL_STATES or gen.state == Generation.State.NEEDS_ATTENTION

    wait_for(finished)

    assert gen.state == Generation.State.SUCCEEDED, gen.error
    assert gen.external_id == str(gen.client_ref)
    assert gen.cost == Decimal(str(round(2 * PRICE_PER_SECOND * 40, 4)))
    tracks = list(gen.tracks.order_by("position"))
    assert [(t.extension, t.content_type) for t in tracks] == [("flac", "audio/flac")] * 2
    assert tracks[0].sha256 != tracks[1].sha256
    assert all(t.duration_seconds == pytest.approx(1.0, abs=0.05) for t in tracks)
    assert emulator.stats()["submissions"]["by_request_id"] == {gen.external_id: 1}
