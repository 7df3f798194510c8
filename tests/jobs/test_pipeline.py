"""A generation's life on the real broker path: a Dramatiq worker, the configured broker and
the provider emulator over loopback HTTP."""

import hashlib

import pytest
from django.core.files.storage import default_storage

from studio.catalog import BY_KEY
from studio.errors import ErrorKind
from studio.jobs.cards import Card
from studio.jobs.services import start_generation
from studio.models import Generation, Track

from tests.conftest import wait_for

S = Generation.State
MUSIC = BY_KEY["pixazo-eleven-music"]
SPEECH = BY_KEY["pixazo-eleven-v3-speech"]


def start(project, user, prompt="Warm lo-fi beat with vinyl crackle", model=MUSIC, **params):
    key = model.spec.prompt_param
    return start_generation(project=project, user=user, model=model, params={key: prompt, **params})


def finished(gen):
    def check():
        gen.refresh_from_db()
        return gen.state in Generation.TERMINAL_STATES or gen.state == S.NEEDS_ATTENTION

    return check


def test_music_generation_goes_from_queued_to_ready_with_audio_in_our_storage(project, alice, emulator, worker):
    gen = start(project, alice, output_format="mp3_44100_128")
    wait_for(finished(gen))

    assert gen.state == S.SUCCEEDED, gen.error
    assert gen.external_id.startswith("elevenlabs-music-api-368_")
    track = Track.objects.get(generation=gen)
    with default_storage.open(track.file.name, "rb") as fh:
        stored = fh.read()
    assert track.sha256 == hashlib.sha256(stored).hexdigest() == emulator.emulator.media_sha256(gen.external_id)
    assert (track.extension, track.content_type) == ("mp3", "audio/mpeg")
    assert track.duration_seconds and track.duration_seconds > 0.5
    assert track.title == "Warm lo-fi beat with vinyl crackle"
    states = list(gen.transitions.values_list("to_state", flat=True))
    assert states == ["queued", "submitting", "running", "fetching", "succeeded"]
    assert gen.submitted_at and gen.finished_at and gen.finished_at >= gen.submitted_at
    stats = emulator.emulator.stats()
    assert stats["submissions"]["by_request_id"][gen.external_id] == 1


def test_speech_generation_stores_a_wav_track(project, alice, emulator, worker):
    gen = start(project, alice, "Hello from the studio.", model=SPEECH, voice="Rachel", stability=0.3, speed=1.2)
    wait_for(finished(gen))

    assert gen.state == S.SUCCEEDED, gen.error
    track = gen.tracks.get()
    assert (track.extension, track.content_type) == ("wav", "audio/wav")


def test_provider_failure_ends_the_job_failed_with_the_reason(project, alice, emulator, worker):
    gen = start(project, alice, "A song [emulate:failed]")
    wait_for(finished(gen))

    assert (gen.state, gen.error_kind) == (S.FAILED, ErrorKind.FAILED)
    assert Card(gen).problem.startswith("Pixazo could not generate this: Generation failed")
    assert not gen.tracks.exists()


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("[emulate:402]", "The Pixazo account is out of credit"),
        ("[emulate:400]", "Pixazo does not offer this model right now"),  # "Model '…' not found or is disabled"
    ],
)
def test_permanent_submit_errors_fail_at_once_with_a_plain_message(project, alice, emulator, worker, marker, message):
    gen = start(project, alice, f"A song {marker}")
    wait_for(finished(gen))

    assert gen.state == S.FAILED
    assert gen.attempt == 1
    assert Card(gen).problem.startswith(message)
    assert gen.external_id == ""


def test_a_rejected_key_says_so(project, alice, emulator, worker, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "pixazo": {**settings.PROVIDERS["pixazo"], "api_key": "forbidden"}}
    gen = start(project, alice)
    wait_for(finished(gen))

    assert (gen.state, gen.error_kind) == (S.FAILED, ErrorKind.AUTH)
    assert "Pixazo refused the studio's API key" in Card(gen).problem
    assert "have access" in gen.error  # the provider's own words, kept for whoever needs them


def test_duplicate_webhooks_fetch_the_audio_once(project, alice, emulator, worker, settings, client):
    settings.PUBLIC_BASE_URL = "https://studio.example"
    settings.POLL_FIRST_DELAY_WITH_CALLBACK = 60  # only the callbacks can finish it in time
    gen = start(project, alice)
    wait_for(lambda: Generation.objects.filter(pk=gen.pk, state=S.RUNNING).exists())
    gen.refresh_from_db()
    wait_for(lambda: emulator.emulator.job(gen.external_id).phase().value == "done")

    url = f"/hooks/pixazo/{gen.pk}/{gen.callback_token}/"
    body = {"request_id": gen.external_id, "status": "COMPLETED", "output": {"media_url": ["x"]}}
    for _ in range(3):
        assert client.post(url, body, content_type="application/json").status_code == 200
    wait_for(finished(gen))

    assert gen.state == S.SUCCEEDED
    assert gen.tracks.count() == 1
    stats = emulator.emulator.stats()
    assert stats["media_fetches"]["by_request_id"][gen.external_id] == 1
    assert gen.transitions.filter(to_state=S.FETCHING).count() == 1


def test_a_webhook_after_the_poll_finished_the_job_changes_nothing(project, alice, emulator, worker, client):
    gen = start(project, alice)
    wait_for(finished(gen))
    assert gen.state == S.SUCCEEDED
    transitions = gen.transitions.count()

    url = f"/hooks/pixazo/{gen.pk}/{gen.callback_token}/"
    for status in ("PROCESSING", "COMPLETED", "FAILED"):
        response = client.post(url, {"request_id": gen.external_id, "status": status}, content_type="application/json")
        assert response.status_code == 200

    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED
    assert gen.transitions.count() == transitions
    assert gen.tracks.count() == 1


def test_a_provider_that_never_calls_back_is_polled_as_if_callbacks_were_off(project, alice, emulator, worker, settings):
    settings.PUBLIC_BASE_URL = "https://studio.example"  # callbacks on for the providers that make them
    settings.POLL_FIRST_DELAY_WITH_CALLBACK = 60  # were AI/ML API jobs to wait for a callback, they would wait this
    gen = start(project, alice, "Rain on a tin roof", model=BY_KEY["aimlapi-stable-audio"])
    wait_for(finished(gen), timeout=15)

    assert gen.state == S.SUCCEEDED
    assert (gen.finished_at - gen.submitted_at).total_seconds() < 10


def test_a_failed_job_that_sends_no_callback_is_seen_soon_after_the_models_usual_finish(
    project, alice, emulator, worker, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from studio.jobs import poll_timing

    settings.PUBLIC_BASE_URL = "https://studio.example"
    settings.POLL_FIRST_DELAY_WITH_CALLBACK = 60
    runware = BY_KEY["runware-eleven-music"]
    for seconds in (1.0, 1.1, 1.2):  # the model's history: its jobs finish in about a second
        poll_timing.learn(runware.key, timezone.now() - timedelta(seconds=seconds))
    gen = start(project, alice, "A song [emulate:failed]", model=runware)  # a failed task sends no webhook
    wait_for(finished(gen), timeout=15)

    assert gen.state == S.FAILED
    assert (gen.finished_at - gen.submitted_at).total_seconds() < 5  # the safety net, not a fixed half minute
