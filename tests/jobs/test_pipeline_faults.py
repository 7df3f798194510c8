"""The pipeline's answers to transient and hostile provider behaviour, one step at a time
(provider HTTP mocked by respx, actor messages read back from the broker)."""

import json

import httpx
import pytest
import respx

from studio.audio.store import store_stream
from providers.registry import PROVIDERS
from studio.jobs import pipeline, transitions
from studio.jobs.cards import Card
from studio.models import Generation

from tests.conftest import PIXAZO_TEST_URL
from tests.jobs.test_pipeline_steps import empty_broker, run, sent  # noqa: F401  (the recording broker fixture)

S = Generation.State
APIFRAME_SUBMIT = "https://apiframe.test/v2/music/generate"
RUNWARE = "https://runware.test"


@pytest.fixture
def named_gen(project, alice):
    """A job at a provider that lets the studio name it (Runware's taskUUID is the studio's id)."""
    return Generation.objects.create(
        project=project, created_by=alice, model_key="runware-eleven-music", params={"positivePrompt": "Calm piano"}
    )


@pytest.fixture
def apiframe_gen(project, alice):
    return Generation.objects.create(
        project=project, created_by=alice, model_key="apiframe-eleven-music", params={"prompt": "Calm piano"}
    )


def acknowledged(gen) -> httpx.Response:
    return httpx.Response(200, json={"data": [{"taskType": "audioInference", "taskUUID": str(gen.client_ref)}]})


def task_uuids(route) -> set[str]:
    return {task["taskUUID"] for call in route.calls for task in json.loads(call.request.content)}


@pytest.fixture
def fetching(project, alice):
    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music")
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    transitions.move(gen.pk, S.FETCHING, media=[{"url": "https://10.0.0.1/a.wav", "content_type": "audio/wav"}])
    return gen


@pytest.mark.parametrize(
    "answer",
    [
        {"side_effect": httpx.ReadTimeout("slow")},
        {"return_value": httpx.Response(200, content=b'{"data": [{"taskUUID": <html>')},
    ],
    ids=["read-timeout", "malformed-answer"],
)
def test_an_unknown_submit_outcome_is_resent_under_the_same_id_where_the_client_names_the_job(
    named_gen, empty_broker, answer
):
    route = respx.mock(assert_all_called=False)
    with route:
        route.post(RUNWARE).mock(**answer)
        run(pipeline.submit, named_gen.pk)

    named_gen.refresh_from_db()
    assert named_gen.state == S.QUEUED  # not NEEDS_ATTENTION: the same task id cannot pay twice
    assert "trying again" in Card(named_gen).detail
    assert [m.args for m in sent(empty_broker, "submit_generation")] == [(named_gen.pk, 1)]


@respx.mock
def test_the_resent_submit_carries_the_same_task_id(named_gen, empty_broker):
    route = respx.post(RUNWARE).mock(side_effect=[httpx.ReadTimeout("slow"), acknowledged(named_gen)])
    run(pipeline.submit, named_gen.pk)
    run(pipeline.submit, named_gen.pk, 1)

    assert route.call_count == 2 and task_uuids(route) == {str(named_gen.client_ref)}
    named_gen.refresh_from_db()
    assert (named_gen.state, named_gen.external_id) == (S.RUNNING, str(named_gen.client_ref))


@respx.mock
def test_an_apiframe_submit_with_no_clear_answer_goes_to_the_user_not_back_to_apiframe(apiframe_gen, empty_broker):
    """Apiframe's docs promise idempotency without naming the mechanism: nothing proves a resend
    safe, so the user decides (the Idempotency-Key still goes out, in case it helps)."""
    route = respx.post(APIFRAME_SUBMIT).mock(side_effect=httpx.ReadTimeout("slow"))
    run(pipeline.submit, apiframe_gen.pk)
    run(pipeline.submit, apiframe_gen.pk, 1)

    assert route.call_count == 1
    assert route.calls[0].request.headers["Idempotency-Key"] == str(apiframe_gen.client_ref)
    apiframe_gen.refresh_from_db()
    assert apiframe_gen.state == S.NEEDS_ATTENTION
    assert sent(empty_broker, "submit_generation") == []


@pytest.mark.parametrize("status", [400, 401, 402, 403, 422])
@respx.mock
def test_permanent_submit_errors_fail_at_once_with_the_providers_words(apiframe_gen, empty_broker, status):
    named_gen = apiframe_gen
    respx.post(APIFRAME_SUBMIT).respond(status, json={"error": f"refused with {status}"})

    run(pipeline.submit, named_gen.pk)

    named_gen.refresh_from_db()
    assert named_gen.state == S.FAILED
    assert f"refused with {status}" in named_gen.error or status in (401, 402)
    assert named_gen.error
    assert sent(empty_broker, "submit_generation") == []


def test_a_refused_media_url_fails_the_job_at_once_without_connecting(fetching, empty_broker):
    with respx.mock(assert_all_called=False) as mock:
        run(pipeline.fetch, fetching.pk)
        assert not mock.calls

    fetching.refresh_from_db()
    assert fetching.state == S.FAILED
    assert "private address" in fetching.error
    assert sent(empty_broker, "poll_generation") == []


def test_an_expired_media_link_asks_the_provider_again_several_times(fetching, empty_broker, settings):
    media_url = f"{PIXAZO_TEST_URL}/media/m_1/output.wav"  # the configured host: nothing is resolved
    Generation.objects.filter(pk=fetching.pk).update(media=[{"url": media_url}])
    with respx.mock:
        respx.get(media_url).respond(403, text="Request has expired")
        for attempt in range(pipeline.MAX_FETCH_ATTEMPTS - 1):
            run(pipeline.fetch, fetching.pk)
            fetching.refresh_from_db()
            assert fetching.state == S.RUNNING, attempt  # a fresh status request brings new links
            transitions.move(fetching.pk, S.FETCHING)
        run(pipeline.fetch, fetching.pk)

    fetching.refresh_from_db()
    assert pipeline.MAX_FETCH_ATTEMPTS >= 4
    assert fetching.state == S.FAILED
    assert len(sent(empty_broker, "poll_generation")) == pipeline.MAX_FETCH_ATTEMPTS - 1


@pytest.mark.parametrize("declared", ["audio/../../../etc/x", "audio/x y;z", "audio/"])
def test_a_provider_supplied_type_never_shapes_the_stored_name(project, declared):
    stored = store_stream([b"\x00\x01" * 100], project_id=project.pk, declared_type=declared)
    stem, _, extension = stored.name.rpartition(".")
    assert stem.startswith(f"tracks/{project.pk}/") and "/.." not in stored.name
    assert extension.isalnum() and extension.islower()


def test_callbacks_go_to_https_or_a_loopback_address_only(named_gen, settings):
    named_gen = Generation.objects.create(project=named_gen.project, model_key="apiframe-eleven-music", params={})
    settings.PUBLIC_BASE_URL = "http://studio.example"
    assert pipeline.callback_url(named_gen) is None
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:18123"  # the local emulator calls back over loopback
    assert pipeline.callback_url(named_gen).startswith("http://127.0.0.1:18123/hooks/apiframe/")
    settings.PUBLIC_BASE_URL = "https://studio.example"
    assert pipeline.callback_url(named_gen) == (
        f"https://studio.example/hooks/apiframe/{named_gen.pk}/{named_gen.callback_token}/"
    )
    # AI/ML API never calls back: its jobs are polled exactly as when callbacks are off.
    aimlapi_job = Generation.objects.create(project=named_gen.project, model_key="aimlapi-stable-audio", params={})
    assert pipeline.callback_url(aimlapi_job) is None


def test_the_provider_timeout_is_a_setting(settings):
    from studio.jobs.adapters import get_adapter

    settings.PROVIDER_TIMEOUT_SECONDS = 2.5
    settings.PROVIDERS = {**settings.PROVIDERS}  # forget the cached adapters
    assert get_adapter("apiframe").client.timeout.read == 2.5


@respx.mock
def test_a_submit_interrupted_by_a_dead_worker_is_resent_at_once_where_the_client_names_the_job(
    named_gen, empty_broker
):
    transitions.move(named_gen.pk, S.SUBMITTING, reason="the worker died mid-call")
    route = respx.post(RUNWARE).mock(return_value=acknowledged(named_gen))

    run(pipeline.submit, named_gen.pk)
    run(pipeline.submit, named_gen.pk)

    assert route.call_count == 1 and task_uuids(route) == {str(named_gen.client_ref)}
    named_gen.refresh_from_db()
    assert (named_gen.state, named_gen.external_id) == (S.RUNNING, str(named_gen.client_ref))


def test_a_second_fetch_while_the_first_holds_the_job_downloads_nothing(fetching, empty_broker, monkeypatch):
    from studio.audio import store as audio_store

    media_url = f"{PIXAZO_TEST_URL}/media/m_1/output.wav"
    Generation.objects.filter(pk=fetching.pk).update(media=[{"url": media_url}])
    stored_names = []
    real_download = audio_store.download

    def download_then_lose_the_race(*args, **kwargs):
        stored = real_download(*args, **kwargs)
        stored_names.append(stored.name)
        if len(stored_names) == 1:
            assert pipeline.fetch(fetching.pk) is None  # the sweep's fetch meanwhile: the job is held
        return stored

    monkeypatch.setattr(pipeline, "download", download_then_lose_the_race)
    with respx.mock:
        respx.get(media_url).respond(200, content=b"RIFF" + b"\x00" * 100, headers={"Content-Type": "audio/wav"})
        pipeline.fetch(fetching.pk)

    fetching.refresh_from_db()
    assert fetching.state == S.SUCCEEDED
    track = fetching.tracks.get()
    from django.core.files.storage import default_storage

    assert stored_names == [track.file.name] and default_storage.exists(track.file.name)


@pytest.mark.parametrize(("provider", "named"), [("apiframe", False), ("runware", True), ("pixazo", False), ("aimlapi", False), ("elevenlabs", False)])
def test_which_adapters_name_their_jobs(provider, named):
    """Only APIs that take the studio's id for the job may be resent after an unknown outcome."""
    assert PROVIDERS[provider].client_names_job is named


@respx.mock
def test_a_runware_submit_that_timed_out_is_resent_under_the_same_task_uuid(project, alice, empty_broker):
    gen = Generation.objects.create(
        project=project, created_by=alice, model_key="runware-eleven-music", params={"positivePrompt": "Calm piano"}
    )
    route = respx.post("https://runware.test").mock(side_effect=httpx.ReadTimeout("slow"))

    run(pipeline.submit, gen.pk)

    gen.refresh_from_db()
    assert gen.state == S.QUEUED
    assert str(gen.client_ref) in route.calls[0].request.content.decode()
    assert [m.args for m in sent(empty_broker, "submit_generation")] == [(gen.pk, 1)]


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json", "application/xml"])
def test_a_page_served_instead_of_audio_is_not_stored_and_asks_for_fresh_links(fetching, empty_broker, content_type):
    media_url = f"{PIXAZO_TEST_URL}/media/m_1/output.wav"
    Generation.objects.filter(pk=fetching.pk).update(media=[{"url": media_url}])
    with respx.mock:
        respx.get(media_url).respond(200, content=b"RIFF" + b"\x00" * 100, headers={"Content-Type": content_type})
        run(pipeline.fetch, fetching.pk)

    fetching.refresh_from_db()
    assert fetching.state == S.RUNNING and not fetching.tracks.exists()
    assert "answered a page" in fetching.transitions.last().reason


def test_a_providers_own_timeout_wins_over_the_shared_one(settings):
    from studio.jobs.adapters import get_adapter

    settings.PROVIDER_TIMEOUT_SECONDS = 2.5
    settings.PROVIDERS = {**settings.PROVIDERS, "elevenlabs": {**settings.PROVIDERS["elevenlabs"], "timeout": 45.0}}
    assert get_adapter("elevenlabs").client.timeout.read == 45.0  # a render, which the shared one leaves alone
    assert get_adapter("pixazo").client.timeout.read == 2.5
