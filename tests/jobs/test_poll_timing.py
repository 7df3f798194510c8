"""Polls are timed by what a model's jobs usually take, learnt from the ones seen finishing."""

from datetime import timedelta

import pytest
import respx
from django.utils import timezone

from studio.jobs import poll_timing

MODEL = "pixazo-eleven-music"


@pytest.fixture
def production_delays(settings):
    settings.POLL_FIRST_DELAY = 2.0
    settings.POLL_MAX_DELAY = 30.0


def seen_finishing(seconds_ago: list[float]) -> None:
    for seconds in seconds_ago:
        poll_timing.learn(MODEL, timezone.now() - timedelta(seconds=seconds))


def polls_for(job_seconds: float) -> list[float]:
    """The moments (seconds after submit) a job of this length is checked, up to its finish."""
    at = poll_timing.first_delay(MODEL)
    moments = [at]
    checks = 0
    while at < job_seconds and len(moments) < 50:
        submitted = timezone.now() - timedelta(seconds=at)
        at += poll_timing.next_delay(MODEL, submitted, checks)
        checks += 1
        moments.append(at)
    return moments


def test_without_history_the_backoff_grows_by_half_from_the_first_delay(production_delays):
    assert poll_timing.typical_seconds(MODEL) is None
    assert polls_for(5.0) == [2.0, 4.0, 7.0]  # a 5 s job: three status calls
    assert poll_timing.next_delay(MODEL, timezone.now(), 20) == 30.0


def test_a_learnt_duration_times_the_checks_around_it(production_delays):
    seen_finishing([5.1, 5.0, 5.3, 5.2, 9.0])
    assert poll_timing.typical_seconds(MODEL) == pytest.approx(5.1, abs=0.05)  # lower quartile
    moments = polls_for(5.0)
    assert moments[0] == pytest.approx(4.08, abs=0.05)  # a little before the usual moment
    assert len(moments) <= 3 and moments[-1] - 5.0 <= 1.0  # seen finished within a second


def test_an_overdue_job_is_checked_after_a_fifth_of_its_age(production_delays):
    seen_finishing([10.0, 10.0, 10.0])
    assert poll_timing.next_delay(MODEL, timezone.now() - timedelta(seconds=20), 3) == pytest.approx(4.0, abs=0.05)
    assert poll_timing.next_delay(MODEL, timezone.now() - timedelta(seconds=9), 1) == pytest.approx(1.0)


def test_an_estimate_too_high_comes_down_as_jobs_are_seen_finishing(production_delays):
    seen_finishing([11.5] * 5)  # learnt from blind backoff, which saw 8 s jobs late
    for _ in range(30):
        found = polls_for(8.0)[-1]
        seen_finishing([found])
    assert poll_timing.typical_seconds(MODEL) < 9.1


def run_job(job_seconds: float) -> tuple[float, int]:
    """One job checked as the worker checks it, teaching what the worker learns; answers when its
    finish was seen (seconds after submit) and the status calls it took."""
    at, checks, running_at = poll_timing.first_delay(MODEL), 0, None
    while at < job_seconds and checks < 50:
        submitted = timezone.now() - timedelta(seconds=at)
        running_at = at
        at += poll_timing.next_delay(MODEL, submitted, checks)
        checks += 1
    poll_timing.learn(MODEL, timezone.now() - timedelta(seconds=at), still_running_at=running_at)
    return at, checks + 1


def test_steady_jobs_are_seen_finished_within_a_fraction_of_a_second(production_delays):
    seen_finishing([8.45] * 4)  # what checks a second apart first learn of 8 s jobs
    runs = [run_job(8.0) for _ in range(40)]
    late = [found - 8.0 for found, _ in runs[-20:]]
    assert max(late) < 0.25, late  # it was up to a second with checks a tenth of the duration apart
    assert max(calls for _, calls in runs) <= 4


@pytest.mark.parametrize(("shortest", "longest"), [(5.0, 15.0), (5.0, 6.0), (20.0, 60.0)])
def test_jobs_that_vary_cost_about_the_calls_they_did_without_the_bracket(production_delays, monkeypatch, shortest, longest):
    import random

    def mean_calls() -> float:
        poll_timing.forget()
        rng = random.Random(7)
        runs = [run_job(rng.uniform(shortest, longest)) for _ in range(80)]
        return sum(calls for _, calls in runs[-40:]) / 40

    narrowing = mean_calls()
    monkeypatch.setattr(poll_timing, "_aim", lambda *args: None)
    assert narrowing <= mean_calls() + 0.5


def test_few_samples_are_not_a_history(production_delays):
    seen_finishing([5.0, 5.0])
    assert poll_timing.first_delay(MODEL) == 2.0
    poll_timing.learn(MODEL, None)
    assert poll_timing.typical_seconds(MODEL) is None


@respx.mock
def test_a_poll_that_finds_the_job_done_teaches_the_next_first_delay(project, alice, production_delays):
    from studio.jobs import pipeline, transitions
    from studio.models import Generation

    from tests.conftest import PIXAZO_TEST_URL

    S = Generation.State
    respx.get(f"{PIXAZO_TEST_URL}/v2/requests/status/m_1").respond(
        200,
        json={"request_id": "m_1", "status": "COMPLETED",
              "output": {"media_url": [f"{PIXAZO_TEST_URL}/media/m_1/output.mp3"], "media_type": "audio/mpeg"}},
    )  # fmt: skip
    for _ in range(3):
        gen = Generation.objects.create(project=project, created_by=alice, model_key=MODEL, params={"prompt": "p"})
        transitions.move(gen.pk, S.SUBMITTING)
        transitions.move(gen.pk, S.RUNNING, external_id="m_1", submitted_at=timezone.now() - timedelta(seconds=12))
        pipeline.poll(gen.pk, 0)
        assert Generation.objects.get(pk=gen.pk).state == S.FETCHING
    assert poll_timing.typical_seconds(MODEL) == pytest.approx(12.0, abs=0.5)
