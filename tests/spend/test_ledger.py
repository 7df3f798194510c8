"""The ledger: each job's cost as reported and in the studio's currency, estimates replaced by
reports, nothing for jobs the provider never took, and per-day totals that always equal what the
jobs themselves add up to."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from providers.base import Cost, CostUnit, JobState, Media, State
from studio.errors import ErrorKind
from studio.jobs import pipeline, transitions
from studio.models import DailySpend, Generation, SpendBasis, Track
from studio.spend import estimates, ledger

S = Generation.State
STABLE = "aimlapi-stable-audio"  # reports AI/ML API credits; its length is its steps
RUNWARE = "runware-eleven-music"  # reports US dollars, one cost for all its takes
PIXAZO = "pixazo-eleven-music"  # reports nothing


@pytest.fixture
def aimlapi_rate(settings):
    settings.SPEND_USD_PER_UNIT = {**settings.SPEND_USD_PER_UNIT, "aimlapi": Decimal("0.000001")}


def job(project, user, model_key=STABLE, params=None, **fields) -> Generation:
    return Generation.objects.create(project=project, created_by=user, model_key=model_key, params=params or {"prompt": "Rain"}, **fields)


def running(gen: Generation) -> Generation:
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="ext-1")
    return gen


def finished(gen: Generation, cost: Cost | None, *, media=1) -> Generation:
    done = JobState(State.SUCCEEDED, media=tuple(Media(url=f"https://cdn.test/{i}.mp3") for i in range(media)), cost=cost)
    pipeline.apply_job_state(gen.pk, done)
    gen.refresh_from_db()
    return gen


def totals(project) -> dict:
    rows = DailySpend.objects.filter(project=project)
    return {
        name: sum((getattr(row, name) for row in rows), type(getattr(DailySpend(), name))(0))
        for name in ("jobs", "failed", "unknown", "reported", "estimated", "failed_spend", "audio_seconds")
    }


def test_a_report_in_credits_is_kept_as_reported_and_converted_at_the_configured_rate(project, alice, aimlapi_rate):
    gen = finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))

    assert (gen.cost, gen.cost_unit) == (Decimal(25200), "credits")
    assert (gen.spend, gen.spend_basis) == (Decimal("0.0252"), SpendBasis.REPORTED)
    assert totals(project)["reported"] == Decimal("0.0252") and totals(project)["unknown"] == 0


def test_without_a_rate_the_report_is_kept_but_the_cost_in_the_currency_stays_unknown(project, alice):
    gen = finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))

    assert (gen.cost, gen.cost_unit, gen.spend, gen.spend_basis) == (Decimal(25200), "credits", None, "")
    assert totals(project)["unknown"] == 1 and totals(project)["reported"] == 0


def test_a_model_without_reports_or_a_price_starts_unknown_never_at_zero(project, alice):
    gen = job(project, alice, PIXAZO)

    assert (gen.spend, gen.spend_basis) == (None, SpendBasis.UNKNOWN)
    assert totals(project) | {"audio_seconds": 0} == {
        "jobs": 1, "failed": 0, "unknown": 1, "reported": 0, "estimated": 0, "failed_spend": 0, "audio_seconds": 0,
    }  # fmt: skip


def test_a_set_price_prices_a_model_whose_provider_reports_nothing(project, alice, settings):
    settings.SPEND_MODEL_USD_PRICES = {PIXAZO: Decimal("0.50")}
    gen = finished(running(job(project, alice, PIXAZO)), None)

    assert (gen.spend, gen.spend_basis) == (Decimal("0.50"), SpendBasis.PRICE)
    assert totals(project)["reported"] == Decimal("0.50")


def test_the_set_price_follows_the_currency_rate(project, alice, settings):
    settings.SPEND_CURRENCY, settings.SPEND_PER_USD = "EUR", Decimal("0.9")
    settings.SPEND_MODEL_USD_PRICES = {PIXAZO: Decimal("0.50")}

    assert job(project, alice, PIXAZO).spend == Decimal("0.45")


def test_an_estimate_from_recent_jobs_is_marked_and_replaced_when_the_report_arrives(project, alice, aimlapi_rate):
    for steps in (100, 100, 100):
        finished(running(job(project, alice, params={"prompt": "x", "steps": steps})), Cost(Decimal(25200), CostUnit.CREDITS))
    estimates.forget()

    pending = running(job(project, alice, params={"prompt": "y", "steps": 200}))
    pending.refresh_from_db()
    assert (pending.spend, pending.spend_basis) == (Decimal("0.0504"), SpendBasis.ESTIMATE)  # twice the steps
    assert totals(project)["estimated"] == Decimal("0.0504")

    gen = finished(pending, Cost(Decimal(50000), CostUnit.CREDITS))

    assert (gen.spend, gen.spend_basis) == (Decimal("0.05"), SpendBasis.REPORTED)
    assert totals(project)["estimated"] == 0 and totals(project)["reported"] == Decimal("0.0756") + Decimal("0.05")


def test_a_job_that_ends_without_a_report_keeps_its_estimate_marked_as_one(project, alice, aimlapi_rate):
    finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))
    gen = finished(running(job(project, alice)), None)

    assert (gen.spend, gen.spend_basis) == (Decimal("0.0252"), SpendBasis.ESTIMATE)


def test_a_job_refused_at_submit_cost_nothing(project, alice, aimlapi_rate):
    finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))
    gen = job(project, alice)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.FAILED, error_kind=ErrorKind.CREDIT, error="no balance")
    gen.refresh_from_db()

    assert (gen.spend, gen.spend_basis) == (Decimal(0), SpendBasis.NOT_CHARGED)
    assert totals(project)["failed"] == 1 and totals(project)["estimated"] == 0


@pytest.mark.parametrize("kind", [ErrorKind.TIMEOUT, ErrorKind.UNAVAILABLE, ErrorKind.STORAGE])
def test_a_job_whose_submit_outcome_is_unclear_keeps_its_estimate(project, alice, aimlapi_rate, kind):
    finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))
    gen = job(project, alice)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.FAILED, error_kind=kind)
    gen.refresh_from_db()

    assert (gen.spend, gen.spend_basis) == (Decimal("0.0252"), SpendBasis.ESTIMATE)
    assert totals(project)["failed_spend"] == Decimal("0.0252")


def test_a_refusal_after_an_unclear_first_attempt_is_not_taken_for_free(project, alice, aimlapi_rate):
    finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))
    gen = job(project, alice)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.NEEDS_ATTENTION, error_kind=ErrorKind.TIMEOUT)
    transitions.move(gen.pk, S.QUEUED)
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.FAILED, error_kind=ErrorKind.INVALID)
    gen.refresh_from_db()

    assert gen.spend_basis == SpendBasis.ESTIMATE


def test_cancelled_before_it_was_sent_costs_nothing_and_after_keeps_its_estimate(project, alice, aimlapi_rate):
    finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))
    unsent, sent = job(project, alice), running(job(project, alice))

    transitions.move(unsent.pk, S.CANCELLED)
    transitions.move(sent.pk, S.CANCELLED)
    unsent.refresh_from_db()
    sent.refresh_from_db()

    assert (unsent.spend, unsent.spend_basis) == (Decimal(0), SpendBasis.NOT_CHARGED)
    assert (sent.spend, sent.spend_basis) == (Decimal("0.0252"), SpendBasis.ESTIMATE)


def test_a_job_with_several_takes_has_one_cost_for_all(project, alice):
    gen = finished(running(job(project, alice, RUNWARE, {"positivePrompt": "x", "numberResults": 4})), Cost(Decimal("0.6"), CostUnit.USD), media=4)

    assert (gen.spend, gen.spend_basis) == (Decimal("0.6"), SpendBasis.REPORTED)
    assert totals(project)["reported"] == Decimal("0.6") and totals(project)["jobs"] == 1


def test_saved_tracks_add_their_seconds_to_the_job_and_its_day(project, alice):
    gen = job(project, alice, RUNWARE)
    for position, seconds in enumerate((30.0, 29.5)):
        Track.objects.create(generation=gen, project=project, position=position, title="t", file="tracks/x.mp3", duration_seconds=seconds)
    gen.refresh_from_db()

    assert gen.audio_seconds == 59.5
    assert totals(project)["audio_seconds"] == 59.5


def test_a_track_saved_after_its_days_row_went_missing_makes_the_row_again(project, alice):
    gen = job(project, alice, RUNWARE)
    DailySpend.objects.all().delete()  # e.g. a rebuild of other projects raced with it
    Track.objects.create(generation=gen, project=project, position=0, title="t", file="tracks/x.mp3", duration_seconds=12.5)
    gen.refresh_from_db()

    assert gen.audio_seconds == 12.5
    assert totals(project)["audio_seconds"] == 12.5


def test_a_job_counts_in_the_day_it_started(project, alice, aimlapi_rate):
    yesterday = timezone.now() - timedelta(days=1)
    gen = running(job(project, alice, created_at=yesterday))
    finished(gen, Cost(Decimal(1000000), CostUnit.CREDITS))

    row = DailySpend.objects.get(project=project)
    assert row.day == timezone.localdate(yesterday) and row.reported == Decimal(1)


def test_the_days_totals_always_equal_the_jobs_they_count(project, alice, bob, aimlapi_rate, settings):
    settings.SPEND_MODEL_USD_PRICES = {PIXAZO: Decimal("0.5")}
    finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))
    finished(running(job(project, bob, PIXAZO)), None)
    finished(running(job(project, alice, RUNWARE)), Cost(Decimal("0.3"), CostUnit.USD), media=2)
    failed = job(project, bob)
    transitions.move(failed.pk, S.SUBMITTING)
    transitions.move(failed.pk, S.FAILED, error_kind=ErrorKind.AUTH)
    late = running(job(project, alice, created_at=timezone.now() - timedelta(days=40)))
    pipeline.apply_job_state(late.pk, JobState(State.FAILED, error="boom", cost=Cost(Decimal(100), CostUnit.CREDITS)))
    running(job(project, alice))
    transitions.move(job(project, bob).pk, S.CANCELLED)
    Track.objects.create(generation=failed, project=project, title="t", file="tracks/y.mp3", duration_seconds=3.5)
    kept = sorted(DailySpend.objects.values_list("day", "member_id", "model_key", "jobs", "failed", "unknown", "reported", "estimated", "failed_spend", "audio_seconds"))

    ledger.rebuild([project.pk])

    rebuilt = sorted(DailySpend.objects.values_list("day", "member_id", "model_key", "jobs", "failed", "unknown", "reported", "estimated", "failed_spend", "audio_seconds"))
    assert kept == rebuilt and len(rebuilt) >= 5


def test_a_cost_reported_as_a_bare_number_is_refused(project, alice):
    gen = running(job(project, alice))
    with pytest.raises(TypeError):
        transitions.move(gen.pk, S.FETCHING, cost=Decimal(3))


def test_reprice_prices_earlier_reports_at_the_rates_set_now(project, alice, settings):
    gen = finished(running(job(project, alice)), Cost(Decimal(25200), CostUnit.CREDITS))
    assert gen.spend is None
    settings.SPEND_USD_PER_UNIT = {**settings.SPEND_USD_PER_UNIT, "aimlapi": Decimal("0.000002")}

    assert ledger.reprice([project.pk]) == 1
    ledger.rebuild([project.pk])

    gen.refresh_from_db()
    assert (gen.spend, gen.spend_basis) == (Decimal("0.0504"), SpendBasis.REPORTED)
    assert totals(project)["reported"] == Decimal("0.0504") and totals(project)["unknown"] == 0
