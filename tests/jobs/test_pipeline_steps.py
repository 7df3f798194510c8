"""Each pipeline step on its own, with provider HTTP mocked by respx and the actor messages
it sends read back from the broker."""

import httpx
import pytest
import respx
from django.db import connection
from django.utils import timezone

from studio.catalog import BY_KEY
from studio.errors import ErrorKind
from studio.jobs import actors, pipeline, transitions
from studio.jobs.cards import Card
from studio.models import Generation

from tests.conftest import PIXAZO_TEST_URL

S = Generation.State
SUBMIT_URL = f"{PIXAZO_TEST_URL}/elevenlabs-music-api-368/v1/elevenlabs-music-api-request"


@pytest.fixture
def gen(project, alice):
    return Generation.objects.create(
        project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "Calm piano"}
    )


@pytest.fixture
def empty_broker(empty_broker, monkeypatch):
    """Record the messages each step sends instead of delivering them (any broker)."""
    empty_broker.sent_messages = []

    def record(message, *, delay=None):
        empty_broker.sent_messages.append((message, delay))
        return message

    monkeypatch.setattr(empty_broker, "enqueue", record)
    return empty_broker


def sent(broker, actor_name):
    return [m for m, _ in broker.sent_messages if m.actor_name == actor_name]


def delays(broker, actor_name):
    return [d for m, d in broker.sent_messages if m.actor_name == actor_name]


def run(step, *args, **kwargs):
    """A pipeline step as its actor runs it: the step it answers is sent."""
    next_step = step(*args, **kwargs)
    if next_step is not None:
        actors.send(next_step)
    return next_step


@respx.mock
def test_submit_stores_the_external_id_and_schedules_a_poll(gen, empty_broker):
    respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})

    run(pipeline.submit, gen.pk)

    gen.refresh_from_db()
    assert (gen.state, gen.external_id, gen.provider_status, gen.attempt) == (S.RUNNING, "m_1", "queued", 1)
    assert Card(gen).label == "Queued"
    polls = sent(empty_broker, "poll_generation")
    assert [p.args for p in polls] == [(gen.pk, 0)]
    assert delays(empty_broker, "poll_generation") == [50]  # POLL_FIRST_DELAY in tests


@respx.mock
def test_submit_twice_calls_the_provider_once(gen, empty_broker):
    route = respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})

    pipeline.submit(gen.pk)
    pipeline.submit(gen.pk)

    assert route.call_count == 1
    gen.refresh_from_db()
    assert gen.state == S.RUNNING


@respx.mock
def test_rate_limited_submit_goes_back_to_the_queue_honouring_retry_after(gen, empty_broker):
    respx.post(SUBMIT_URL).respond(429, headers={"Retry-After": "7"}, json={"error": "Too Many Requests"})

    run(pipeline.submit, gen.pk)

    gen.refresh_from_db()
    assert (gen.state, gen.error_kind, gen.waiting_for) == (S.QUEUED, ErrorKind.RATE_LIMITED, "retry")
    assert "Pixazo is limiting requests (429). Attempt 1 did not go through" in Card(gen).detail
    assert (gen.next_check_at - gen.updated_at).total_seconds() == pytest.approx(7, abs=0.5)
    retry = sent(empty_broker, "submit_generation")
    assert [m.args for m in retry] == [(gen.pk, 1)]  # the next turn
    assert delays(empty_broker, "submit_generation") == [7000]


@respx.mock
def test_submit_gives_up_after_bounded_retries(gen):
    respx.post(SUBMIT_URL).respond(500, json={"error": "boom"})

    Generation.objects.filter(pk=gen.pk).update(attempt=pipeline.MAX_SUBMIT_RETRIES)

    run(pipeline.submit, gen.pk)

    gen.refresh_from_db()
    assert (gen.state, gen.error_kind) == (S.FAILED, ErrorKind.UNAVAILABLE)
    assert Card(gen).problem.startswith("Pixazo was unavailable")
    assert not Card(gen).problem.count("retrying")


@respx.mock
def test_a_submit_that_timed_out_after_sending_needs_attention_not_a_blind_resubmit(gen):
    route = respx.post(SUBMIT_URL).mock(side_effect=httpx.ReadTimeout("slow"))

    run(pipeline.submit, gen.pk)
    run(pipeline.submit, gen.pk)

    assert route.call_count == 1
    gen.refresh_from_db()
    assert (gen.state, gen.error_kind) == (S.NEEDS_ATTENTION, ErrorKind.TIMEOUT)
    assert "may have been accepted" in Card(gen).problem


def test_a_redelivered_submit_after_a_crash_needs_attention(gen):
    transitions.move(gen.pk, S.SUBMITTING, reason="worker died mid-call")

    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(SUBMIT_URL)
        pipeline.submit(gen.pk)
        assert not route.called

    gen.refresh_from_db()
    assert gen.state == S.NEEDS_ATTENTION


@respx.mock
def test_poll_reschedules_itself_with_a_growing_delay_until_done(gen, empty_broker):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(
        200, json={"request_id": "m_1", "status": "PROCESSING"}
    )

    run(pipeline.poll, gen.pk, 0)

    gen.refresh_from_db()
    assert Card(gen).label == "Generating"
    assert gen.status_checks == 1
    (next_poll,) = sent(empty_broker, "poll_generation")
    assert next_poll.args == (gen.pk, 1)
    assert pipeline.backoff(0) < pipeline.backoff(3) <= pipeline.backoff(30)


@respx.mock
def test_a_stale_poll_chain_stops_without_calling_the_provider(gen):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", status_checks=3)
    route = respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1")

    run(pipeline.poll, gen.pk, 1)

    assert not route.called


def test_poll_ends_a_job_past_its_deadline(gen):
    from datetime import timedelta

    from django.utils import timezone

    transitions.move(gen.pk, S.SUBMITTING)
    long_ago = timezone.now() - timedelta(minutes=BY_KEY["pixazo-eleven-music"].deadline_minutes + 1)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", submitted_at=long_ago)

    run(pipeline.poll, gen.pk, 0)

    gen.refresh_from_db()
    assert (gen.state, gen.error_kind) == (S.FAILED, ErrorKind.DEADLINE)
    assert Card(gen).problem == "Pixazo did not finish it in time (not finished after 20 minutes)."


@respx.mock
def test_a_completed_poll_claims_the_fetch_once(gen, empty_broker):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    done = {"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": ["https://cdn.test/a.wav"]}}

    first = pipeline.apply_job_state(gen.pk, pipeline_state(done))
    second = pipeline.apply_job_state(gen.pk, pipeline_state(done))

    gen.refresh_from_db()
    assert gen.state == S.FETCHING
    assert gen.media[0]["url"] == "https://cdn.test/a.wav"
    assert first == (True, pipeline.Next("fetch", gen.pk))
    assert second == (True, None)


def pipeline_state(body):
    from providers.pixazo import Pixazo

    return Pixazo(api_key="k", base_url=PIXAZO_TEST_URL)._job_state(body)


def test_finished_jobs_never_move_backwards(gen):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING)
    transitions.move(gen.pk, S.FETCHING)
    assert transitions.move(gen.pk, S.SUCCEEDED)

    for target in (S.RUNNING, S.QUEUED, S.FAILED, S.FETCHING):
        assert not transitions.move(gen.pk, target)
    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED
    assert list(gen.transitions.values_list("to_state", flat=True)) == ["submitting", "running", "fetching", "succeeded"]


def test_sweep_re_drives_quiet_jobs(gen, empty_broker):
    assert actors.send_all(pipeline.sweep(quiet_seconds=0)) == 1
    assert [m.args for m in sent(empty_broker, "submit_generation")] == [(gen.pk, 0)]


@respx.mock
def test_a_status_check_that_finds_the_job_done_saves_the_audio_in_the_same_step(gen, empty_broker):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(
        200, json={"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": [f"{PIXAZO_TEST_URL}/media/a.wav"]}}
    )
    respx.get(f"{PIXAZO_TEST_URL}/media/a.wav").respond(200, content=b"RIFF" + b"\0" * 60, headers={"Content-Type": "audio/wav"})

    run(pipeline.poll, gen.pk, 0)

    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED
    assert gen.tracks.count() == 1
    assert sent(empty_broker, "fetch_audio") == []  # no extra hop through the queue


@respx.mock
def test_a_status_check_that_finds_the_job_done_reads_the_row_once(gen, empty_broker, django_assert_num_queries):
    """A worker's CPU per job is mostly statements: the turn is claimed and the row read in one,
    each move is one on PostgreSQL (three in a transaction elsewhere), the track one."""
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(
        200, json={"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": [f"{PIXAZO_TEST_URL}/media/a.wav"]}}
    )
    respx.get(f"{PIXAZO_TEST_URL}/media/a.wav").respond(200, content=b"RIFF" + b"\0" * 60, headers={"Content-Type": "audio/wav"})
    per_move = 1 if connection.vendor == "postgresql" else 3
    track = 4  # its insert and the project's library version (open pages follow), in a savepoint

    with django_assert_num_queries(1 + 2 * per_move + track):
        pipeline.poll(gen.pk, 0)

    gen.refresh_from_db()
    assert (gen.state, gen.tracks.count(), gen.lease_holder) == (S.SUCCEEDED, 1, "")
    assert list(gen.transitions.values_list("from_state", "to_state"))[-2:] == [("running", "fetching"), ("fetching", "succeeded")]


@respx.mock
def test_an_unexpected_error_while_fetching_inline_hands_the_job_to_the_fetch_actor(gen, empty_broker, monkeypatch):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    done = {"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": ["https://cdn.test/a.wav"]}}

    def broken(gen, holder, lease, *, saved_before):
        raise RuntimeError("database went away")

    monkeypatch.setattr(pipeline, "_download_all", broken)
    finished, then = pipeline.apply_job_state(gen.pk, pipeline_state(done), fetch_now=True)

    gen.refresh_from_db()
    assert finished and then == pipeline.Next("fetch", gen.pk)
    assert (gen.state, gen.step_failures) == (S.FETCHING, 1)
    assert (gen.lease_holder, gen.lease_expires_at) == ("", None)  # the fetch step may claim it at once


def test_a_poll_wanted_now_goes_straight_to_the_queue(gen, empty_broker):
    actors.send(pipeline.Next("poll", gen.pk, turn=2))
    actors.send(pipeline.Next("poll", gen.pk, turn=3, delay=1.5))

    assert [m.args for m in sent(empty_broker, "poll_generation")] == [(gen.pk, 2), (gen.pk, 3)]
    assert delays(empty_broker, "poll_generation") == [None, 1500]


def test_an_unsigned_finished_callback_shows_on_the_card_and_asks_the_provider_at_once(gen, empty_broker):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", status_checks=1)
    done = {"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": ["https://cdn.test/a.wav"]}}

    run(pipeline.handle_callback, gen.pk, pipeline_state(done), trusted=False)

    gen.refresh_from_db()
    assert (gen.state, gen.provider_status, Card(gen).detail) == (S.RUNNING, "succeeded", "Finished; checking")
    assert [m.args for m in sent(empty_broker, "poll_generation")] == [(gen.pk, 1)]
    assert delays(empty_broker, "poll_generation") == [None]


@respx.mock
def test_a_check_that_finds_the_job_running_tells_the_next_check_how_old_it_was(gen, empty_broker):
    from datetime import timedelta

    from django.utils import timezone

    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", submitted_at=timezone.now() - timedelta(seconds=6))
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(200, json={"request_id": "m_1", "status": "PROCESSING"})

    run(pipeline.poll, gen.pk, 0)

    (next_poll,) = sent(empty_broker, "poll_generation")
    assert next_poll.kwargs["running_at"] == pytest.approx(6.0, abs=0.5)


@respx.mock
def test_the_card_knows_when_the_provider_is_next_asked(gen, empty_broker):
    from django.utils import timezone

    respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(200, json={"request_id": "m_1", "status": "PROCESSING"})

    def planned_in() -> float:
        gen.refresh_from_db()
        return (gen.next_check_at - timezone.now()).total_seconds()

    run(pipeline.submit, gen.pk)
    assert planned_in() == pytest.approx(delays(empty_broker, "poll_generation")[-1] / 1000, abs=0.5)
    run(pipeline.poll, gen.pk, 0)
    assert planned_in() == pytest.approx(delays(empty_broker, "poll_generation")[-1] / 1000, abs=0.5)


@respx.mock
def test_with_a_callback_news_is_due_when_the_models_jobs_usually_finish(gen, empty_broker, settings):
    from datetime import timedelta

    from django.utils import timezone

    from studio.jobs import poll_timing

    settings.PUBLIC_BASE_URL = "https://studio.test"
    respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})
    for seconds in (6.0, 6.2, 6.1, 9.0):
        poll_timing.learn(gen.model_key, timezone.now() - timedelta(seconds=seconds))

    run(pipeline.submit, gen.pk)

    gen.refresh_from_db()
    assert (gen.next_check_at - gen.submitted_at).total_seconds() == pytest.approx(6.1, abs=0.05)
    # The safety net: a little after the usual finish, not a fixed half minute.
    assert delays(empty_broker, "poll_generation") == [int((6.1 + 6.1 * 0.25) * 1000)]


def test_a_move_holds_to_the_values_it_expects_an_empty_one_included(gen):
    assert not transitions.move(gen.pk, S.SUBMITTING, expect={"submit_turn": 1})
    assert not transitions.move(gen.pk, S.SUBMITTING, expect={"lease_expires_at": timezone.now()})
    assert transitions.move(gen.pk, S.SUBMITTING, expect={"submit_turn": 0, "lease_expires_at": None})
    assert list(gen.transitions.values_list("from_state", "to_state")) == [("queued", "submitting")]
