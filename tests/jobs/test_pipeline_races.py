"""Races a worker meets: a repeated message, a sweep while a long call runs, a late answer after
the job was handed to the user, a step that keeps failing. Provider HTTP is mocked with respx;
"at once" means two threads released together against the test database."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import respx
from django.utils import timezone

from studio.errors import ErrorKind
from studio.jobs import actors, pipeline, transitions
from studio.jobs.cards import Card
from studio.models import Generation

from tests.conftest import PIXAZO_TEST_URL, at_once
from tests.jobs.test_pipeline_steps import SUBMIT_URL, run

S = Generation.State
STATUS_URL = f"{PIXAZO_TEST_URL}/v2/requests/status/m_1"
MEDIA_URL = f"{PIXAZO_TEST_URL}/media/m_1/output.wav"
SPEECH_URL = "https://elevenlabs.test/v1/text-to-speech/voice-1"
WAV = b"RIFF" + b"\x00" * 200


def make(project, alice, model_key="pixazo-eleven-music", **params):
    params = params or {"prompt": "Calm piano"}
    return Generation.objects.create(project=project, created_by=alice, model_key=model_key, params=params)


def both_at_once(step, *args) -> list:
    """`step(*args)` in two threads released together; both results."""
    return at_once(lambda: step(*args))


def long_ago(minutes=10):
    return timezone.now() - timedelta(minutes=minutes)


# --- Leases ------------------------------------------------------------------------------


def test_the_sweep_leaves_a_job_alone_while_its_worker_holds_a_live_lease(project, alice):
    gen = make(project, alice)
    transitions.move(gen.pk, S.SUBMITTING, lease_holder="w1", lease_expires_at=timezone.now() + timedelta(minutes=5))
    Generation.objects.filter(pk=gen.pk).update(updated_at=long_ago())  # quiet far longer than the sweep waits

    assert pipeline.sweep(quiet_seconds=0) == []
    assert pipeline.submit(gen.pk) is None  # a repeated message meanwhile does nothing either
    gen.refresh_from_db()
    assert gen.state == S.SUBMITTING


def test_an_expired_lease_means_the_worker_died_and_the_job_goes_to_the_user(project, alice):
    gen = make(project, alice)
    transitions.move(gen.pk, S.SUBMITTING, lease_holder="w1", lease_expires_at=timezone.now() - timedelta(seconds=1))
    Generation.objects.filter(pk=gen.pk).update(updated_at=long_ago())

    (step,) = pipeline.sweep(quiet_seconds=0)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SUBMIT_URL)
        run(pipeline.submit, step.generation_id, step.turn)
        assert not route.called  # Pixazo may have taken it: never sent twice without the user

    gen.refresh_from_db()
    assert (gen.state, gen.error_kind) == (S.NEEDS_ATTENTION, ErrorKind.INTERRUPTED)
    assert Card(gen).problem.startswith("Interrupted while sending to Pixazo. It may have been accepted")


@respx.mock
def test_a_submit_holds_a_lease_for_longer_than_its_call_may_take(project, alice, settings):
    from studio.jobs.adapters import get_adapter

    gen = make(project, alice)
    seen = {}

    def accept(request):
        row = Generation.objects.get(pk=gen.pk)
        seen["lease"] = (row.lease_expires_at - timezone.now()).total_seconds()
        return httpx.Response(202, json={"request_id": "m_1", "status": "QUEUED"})

    respx.post(SUBMIT_URL).mock(side_effect=accept)
    pipeline.submit(gen.pk)

    timeout = get_adapter("pixazo").client.timeout.read
    assert timeout < seen["lease"] <= timeout + settings.LEASE_MARGIN_SECONDS + 1
    gen.refresh_from_db()
    assert (gen.state, gen.lease_holder, gen.lease_expires_at) == (S.RUNNING, "", None)  # released on leaving


# --- Late answers --------------------------------------------------------------------------


@respx.mock
def test_audio_saved_after_the_job_was_handed_to_the_user_makes_it_ready(project, alice):
    gen = make(project, alice, "elevenlabs-speech", text="Hello", voice_id="voice-1")

    def render_slowly(request):
        # Meanwhile the lease ran out (the worker was frozen) and the sweep asked the user.
        transitions.move(gen.pk, S.NEEDS_ATTENTION, error_kind=ErrorKind.INTERRUPTED)
        return httpx.Response(200, content=WAV, headers={"Content-Type": "audio/wav"})

    respx.post(url__startswith=SPEECH_URL).mock(side_effect=render_slowly)
    run(pipeline.submit, gen.pk)

    gen.refresh_from_db()
    assert (gen.state, gen.error_kind) == (S.SUCCEEDED, "")
    assert gen.tracks.count() == 1


@respx.mock
def test_a_late_accepted_id_after_needs_attention_is_kept_and_the_job_is_followed(project, alice):
    gen = make(project, alice)

    def accept_late(request):
        transitions.move(gen.pk, S.NEEDS_ATTENTION, error_kind=ErrorKind.INTERRUPTED)
        return httpx.Response(202, json={"request_id": "m_1", "status": "QUEUED"})

    respx.post(SUBMIT_URL).mock(side_effect=accept_late)
    step = run(pipeline.submit, gen.pk)

    gen.refresh_from_db()
    assert (gen.state, gen.external_id, gen.error_kind) == (S.RUNNING, "m_1", "")
    assert step.step == "poll"


@respx.mock
def test_a_job_cancelled_while_it_was_sent_keeps_the_providers_id_on_record(project, alice):
    gen = make(project, alice)

    def accept_after_cancel(request):
        transitions.move(gen.pk, S.CANCELLED)
        return httpx.Response(202, json={"request_id": "m_1", "status": "QUEUED"})

    respx.post(SUBMIT_URL).mock(side_effect=accept_after_cancel)
    assert pipeline.submit(gen.pk) is None

    gen.refresh_from_db()
    assert (gen.state, gen.external_id) == (S.CANCELLED, "m_1")
    assert "may still charge" in Card(gen).problem


# --- Every message twice at once ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@respx.mock
def test_a_submit_message_twice_at_once_sends_the_job_once(project, alice):
    gen = make(project, alice)
    route = respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})

    results = both_at_once(pipeline.submit, gen.pk, 0)

    assert route.call_count == 1
    assert sorted(r is None for r in results) == [False, True]  # one goes on to poll, the other stops
    assert Generation.objects.get(pk=gen.pk).transitions.filter(to_state=S.SUBMITTING).count() == 1


@pytest.mark.django_db(transaction=True)
@respx.mock
def test_a_synchronous_render_twice_at_once_is_rendered_once(project, alice):
    gen = make(project, alice, "elevenlabs-speech", text="Hello", voice_id="voice-1")
    route = respx.post(url__startswith=SPEECH_URL).respond(200, content=WAV, headers={"Content-Type": "audio/wav"})

    both_at_once(pipeline.submit, gen.pk, 0)

    assert route.call_count == 1
    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED and gen.tracks.count() == 1


@pytest.mark.django_db(transaction=True)
@respx.mock
def test_a_status_check_message_twice_at_once_asks_the_provider_once(project, alice):
    gen = make(project, alice)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", status_checks=4)
    route = respx.get(STATUS_URL).respond(200, json={"request_id": "m_1", "status": "PROCESSING"})

    results = both_at_once(pipeline.poll, gen.pk, 4)

    assert route.call_count == 1
    assert [r.turn for r in results if r is not None] == [5]  # one chain goes on


@pytest.mark.django_db(transaction=True)
@respx.mock
def test_a_fetch_message_twice_at_once_downloads_once(project, alice):
    gen = make(project, alice)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    transitions.move(gen.pk, S.FETCHING, media=[{"url": MEDIA_URL, "content_type": "audio/wav"}])
    route = respx.get(MEDIA_URL).respond(200, content=WAV, headers={"Content-Type": "audio/wav"})

    both_at_once(pipeline.fetch, gen.pk)

    assert route.call_count == 1
    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED and gen.tracks.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_only_nudge(project, alice):
    gen = make(project, alice)
    Generation.objects.filter(pk=gen.pk).update(updated_at=long_ago())

    results = both_at_once(pipeline.sweep)

    # Both ask for the same turn: whichever message runs first takes it, the other does nothing.
    assert results == [[pipeline.Next("submit", gen.pk, turn=0)]] * 2


def test_every_actor_message_twice_through_a_real_worker_pays_once(project, alice, emulator, worker):
    from studio.catalog import BY_KEY

    from tests.conftest import wait_for

    gens = [make(project, alice, key, **{BY_KEY[key].spec.prompt_param: "Twice", **extra}) for key, extra in (
        ("apiframe-eleven-music", {}), ("pixazo-eleven-music", {}), ("elevenlabs-speech", {"voice_id": "21m00Tcm4TlvDq8ikWAM"}),
    )]  # fmt: skip
    for gen in gens:
        actors.submit_generation.send(gen.pk, 0)
        actors.submit_generation.send(gen.pk, 0)
    wait_for(lambda: all(Generation.objects.get(pk=g.pk).state == S.SUCCEEDED for g in gens), timeout=30)
    for gen in gens:  # a finished job's repeated status check and fetch change nothing
        actors.poll_generation.send(gen.pk, 0)
        actors.fetch_audio.send(gen.pk)
        actors.fetch_audio.send(gen.pk)

    stats = emulator.emulator.stats()
    for gen in Generation.objects.filter(pk__in=[g.pk for g in gens]):
        assert gen.state == S.SUCCEEDED and gen.tracks.count() == 1
        assert gen.transitions.filter(to_state=S.SUBMITTING).count() == 1
        if gen.model_key != "elevenlabs-speech":
            assert stats["submissions"]["by_request_id"][gen.external_id] == 1
            assert stats["media_fetches"]["by_request_id"][gen.external_id] == 1


# --- A step that keeps failing ----------------------------------------------------------------


def test_a_step_that_keeps_failing_ends_the_job_failed_in_plain_words(project, alice, monkeypatch):
    gen = make(project, alice)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    transitions.move(gen.pk, S.FETCHING, media=[{"url": MEDIA_URL}])

    def broken(*args, **kwargs):
        raise ValueError("Port out of range 0-65535")

    monkeypatch.setattr(pipeline, "download", broken)
    for attempt in range(pipeline.MAX_STEP_FAILURES):
        assert Generation.objects.get(pk=gen.pk).state == S.FETCHING, attempt
        with pytest.raises(ValueError):
            actors.fetch_audio(gen.pk)  # as the worker runs it (and Dramatiq retries it, or the sweep re-drives it)

    gen.refresh_from_db()
    assert (gen.state, gen.error_kind) == (S.FAILED, ErrorKind.INTERNAL)
    assert "Traceback" not in Card(gen).problem and Card(gen).problem.startswith("Something went wrong in the studio")
    assert pipeline.sweep(quiet_seconds=0) == []  # no longer re-driven


@pytest.mark.parametrize("media_url", ["https://a.example:99999/x.mp3", "https://[::1/x"])
def test_a_media_link_that_cannot_be_parsed_fails_the_job_at_once_in_plain_words(project, alice, media_url):
    gen = make(project, alice)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    transitions.move(gen.pk, S.FETCHING, media=[{"url": media_url}])

    actors.fetch_audio(gen.pk)  # no exception for Dramatiq to retry

    gen.refresh_from_db()
    assert (gen.state, gen.error_kind, gen.step_failures) == (S.FAILED, ErrorKind.DOWNLOAD, 0)
    assert "not a valid web address" in gen.error and "Traceback" not in Card(gen).problem
    assert pipeline.sweep(quiet_seconds=0) == []


@respx.mock
def test_a_submit_waits_its_turn_while_the_providers_slots_are_taken(project, alice, settings):
    from studio.jobs.provider_slots import slots

    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, "pixazo": 1}
    gen = make(project, alice)
    route = respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})
    assert slots().acquire("pixazo", "another-call", 30)
    try:
        step = pipeline.submit(gen.pk)
    finally:
        slots().release("pixazo", "another-call")

    assert not route.called
    gen.refresh_from_db()
    assert (gen.state, gen.waiting_for, step.step, step.turn) == (S.QUEUED, "slot", "submit", 1)
    assert pipeline.submit(gen.pk, 1).step == "poll" and route.call_count == 1  # the slot is free again
