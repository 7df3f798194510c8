"""Each pipeline step on its own, with provider HTTP mocked by respx and the actor messages
it sends read back from the broker."""

import httpx
import pytest
import respx

from studio import pipeline, transitions
from studio.catalog import BY_KEY
from studio.models import Generation

from .conftest import PIXAZO_TEST_URL

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


@respx.mock
def test_submit_stores_the_external_id_and_schedules_a_poll(gen, empty_broker):
    respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})

    pipeline.submit(gen.pk)

    gen.refresh_from_db()
    assert (gen.state, gen.external_id, gen.provider_status) == (S.RUNNING, "m_1", "queued")
    assert gen.card_label == "Queued"
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

    pipeline.submit(gen.pk)

    gen.refresh_from_db()
    assert gen.state == S.QUEUED
    assert "retrying in 7 s" in gen.status_detail
    retry = sent(empty_broker, "submit_generation")
    assert [m.args for m in retry] == [(gen.pk, 1)]


@respx.mock
def test_submit_gives_up_after_bounded_retries(gen):
    respx.post(SUBMIT_URL).respond(500, json={"error": "boom"})

    pipeline.submit(gen.pk, attempt=pipeline.MAX_SUBMIT_RETRIES)

    gen.refresh_from_db()
    assert gen.state == S.FAILED
    assert gen.error.startswith("Pixazo is unavailable")


@respx.mock
def test_a_submit_that_timed_out_after_sending_needs_attention_not_a_blind_resubmit(gen):
    route = respx.post(SUBMIT_URL).mock(side_effect=httpx.ReadTimeout("slow"))

    pipeline.submit(gen.pk)
    pipeline.submit(gen.pk)

    assert route.call_count == 1
    gen.refresh_from_db()
    assert gen.state == S.NEEDS_ATTENTION
    assert "may have been accepted" in gen.status_detail


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

    pipeline.poll(gen.pk, 0)

    gen.refresh_from_db()
    assert gen.card_label == "Generating"
    assert gen.status_checks == 1
    (next_poll,) = sent(empty_broker, "poll_generation")
    assert next_poll.args == (gen.pk, 1)
    assert pipeline.backoff(0) < pipeline.backoff(3) <= pipeline.backoff(30)


@respx.mock
def test_a_stale_poll_chain_stops_without_calling_the_provider(gen):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", status_checks=3)
    route = respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1")

    pipeline.poll(gen.pk, 1)

    assert not route.called


def test_poll_ends_a_job_past_its_deadline(gen):
    from datetime import timedelta

    from django.utils import timezone

    transitions.move(gen.pk, S.SUBMITTING)
    long_ago = timezone.now() - timedelta(minutes=BY_KEY["pixazo-eleven-music"].deadline_minutes + 1)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", submitted_at=long_ago)

    pipeline.poll(gen.pk, 0)

    gen.refresh_from_db()
    assert gen.state == S.FAILED
    assert gen.error == "Pixazo did not finish within 20 minutes"


@respx.mock
def test_a_completed_poll_claims_the_fetch_once(gen, empty_broker):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    done = {"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": ["https://cdn.test/a.wav"]}}

    assert pipeline.apply_job_state(gen.pk, pipeline_state(done))
    assert pipeline.apply_job_state(gen.pk, pipeline_state(done))

    gen.refresh_from_db()
    assert gen.state == S.FETCHING
    assert gen.media[0]["url"] == "https://cdn.test/a.wav"
    assert len(sent(empty_broker, "fetch_audio")) == 1


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
    assert pipeline.sweep(quiet_seconds=0) == 1
    assert [m.args for m in sent(empty_broker, "submit_generation")] == [(gen.pk,)]


@respx.mock
def test_a_status_check_that_finds_the_job_done_saves_the_audio_in_the_same_step(gen, empty_broker):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(
        200, json={"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": [f"{PIXAZO_TEST_URL}/media/a.wav"]}}
    )
    respx.get(f"{PIXAZO_TEST_URL}/media/a.wav").respond(200, content=b"RIFF" + b"\0" * 60, headers={"Content-Type": "audio/wav"})

    pipeline.poll(gen.pk, 0)

    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED
    assert gen.tracks.count() == 1
    assert sent(empty_broker, "fetch_audio") == []  # no extra hop through the queue


@respx.mock
def test_an_unexpected_error_while_fetching_inline_hands_the_job_to_the_fetch_actor(gen, empty_broker, monkeypatch):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    done = {"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": ["https://cdn.test/a.wav"]}}

    def broken(generation_id):
        raise RuntimeError("database went away")

    monkeypatch.setattr(pipeline, "fetch", broken)
    assert pipeline.apply_job_state(gen.pk, pipeline_state(done), fetch_now=True)

    gen.refresh_from_db()
    assert gen.state == S.FETCHING
    assert [m.args for m in sent(empty_broker, "fetch_audio")] == [(gen.pk,)]


def test_a_poll_wanted_now_goes_straight_to_the_queue(gen, empty_broker):
    pipeline.schedule_poll(gen.pk, checks_done=2, delay=0)
    pipeline.schedule_poll(gen.pk, checks_done=3, delay=1.5)

    assert [m.args for m in sent(empty_broker, "poll_generation")] == [(gen.pk, 2), (gen.pk, 3)]
    assert delays(empty_broker, "poll_generation") == [None, 1500]


def test_an_unsigned_finished_callback_shows_on_the_card_and_asks_the_provider_at_once(gen, empty_broker):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", status_checks=1)
    done = {"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": ["https://cdn.test/a.wav"]}}

    pipeline.handle_callback(gen.pk, pipeline_state(done), trusted=False)

    gen.refresh_from_db()
    assert (gen.state, gen.provider_status, gen.status_detail) == (S.RUNNING, "succeeded", "Finished; checking")
    assert [m.args for m in sent(empty_broker, "poll_generation")] == [(gen.pk, 1)]
    assert delays(empty_broker, "poll_generation") == [None]


@respx.mock
def test_a_check_that_finds_the_job_running_tells_the_next_check_how_old_it_was(gen, empty_broker):
    from datetime import timedelta

    from django.utils import timezone

    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1", submitted_at=timezone.now() - timedelta(seconds=6))
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(200, json={"request_id": "m_1", "status": "PROCESSING"})

    pipeline.poll(gen.pk, 0)

    (next_poll,) = sent(empty_broker, "poll_generation")
    assert next_poll.kwargs["running_at"] == pytest.approx(6.0, abs=0.5)


@respx.mock
def test_the_card_knows_when_the_provider_is_next_asked(gen, empty_broker):
    from django.utils import timezone

    respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(200, json={"request_id": "m_1", "status": "PROCESSING"})

    def planned_in() -> float:
        gen.refresh_from_db()
        return (gen.news_due_at - timezone.now()).total_seconds()

    pipeline.submit(gen.pk)
    assert planned_in() == pytest.approx(delays(empty_broker, "poll_generation")[-1] / 1000, abs=0.5)
    pipeline.poll(gen.pk, 0)
    assert planned_in() == pytest.approx(delays(empty_broker, "poll_generation")[-1] / 1000, abs=0.5)


@respx.mock
def test_with_a_callback_news_is_due_when_the_models_jobs_usually_finish(gen, empty_broker, settings):
    from datetime import timedelta

    from django.utils import timezone

    from studio import poll_timing

    settings.PUBLIC_BASE_URL = "https://studio.test"
    respx.post(SUBMIT_URL).respond(202, json={"request_id": "m_1", "status": "QUEUED"})
    for seconds in (6.0, 6.2, 6.1, 9.0):
        poll_timing.learn(gen.model_key, timezone.now() - timedelta(seconds=seconds))

    pipeline.submit(gen.pk)

    gen.refresh_from_db()
    assert (gen.news_due_at - gen.submitted_at).total_seconds() == pytest.approx(6.1, abs=0.05)
    assert delays(empty_broker, "poll_generation") == [int(settings.POLL_FIRST_DELAY_WITH_CALLBACK * 1000)]  # the safety net
