"""The startup checks say which costs will stay unknown, and `manage.py spend_rebuild` prices
earlier reports again and rebuilds the per-day totals."""

from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from providers.base import Cost, CostUnit, JobState, Media, State
from studio.jobs import pipeline, transitions
from studio.models import DailySpend, Generation
from studio.spend.checks import check_spend


def ids(settings) -> dict[str, str]:
    return {message.id: message.msg for message in check_spend(None)}


def test_a_currency_without_its_dollar_rate_is_a_warning(settings):
    settings.SPEND_CURRENCY, settings.SPEND_PER_USD = "EUR", None
    assert "every cost in EUR stays unknown" in ids(settings)["studio.W010"]


def test_a_price_for_a_model_that_does_not_exist_is_a_warning(settings):
    settings.SPEND_MODEL_USD_PRICES = {"pixazo-eleven-musik": Decimal(1)}
    assert "pixazo-eleven-musik" in ids(settings)["studio.W011"]


def test_unpriced_models_and_missing_rates_are_named(settings):
    found = ids(settings)
    assert "pixazo-eleven-music, pixazo-eleven-v3-speech have no price" in found["studio.I010"]
    assert "No rate for the credits" in found["studio.I011"]

    settings.SPEND_MODEL_USD_PRICES = {"pixazo-eleven-music": Decimal(1), "pixazo-eleven-v3-speech": Decimal(1)}
    settings.SPEND_USD_PER_UNIT = {key: Decimal(1) for key in settings.SPEND_USD_PER_UNIT} | {"pixazo": None}
    assert ids(settings) == {}


def test_spend_rebuild_prices_earlier_reports_and_rebuilds_the_totals(project, alice, settings):
    gen = Generation.objects.create(project=project, created_by=alice, model_key="aimlapi-stable-audio", params={"prompt": "x"})
    transitions.move(gen.pk, Generation.State.SUBMITTING)
    transitions.move(gen.pk, Generation.State.RUNNING, external_id="g")
    pipeline.apply_job_state(gen.pk, JobState(State.SUCCEEDED, media=(Media(url="https://cdn.test/a.wav"),), cost=Cost(Decimal(1000), CostUnit.CREDITS)))
    DailySpend.objects.all().delete()
    settings.SPEND_USD_PER_UNIT = {**settings.SPEND_USD_PER_UNIT, "aimlapi": Decimal("0.001")}
    out = StringIO()

    call_command("spend_rebuild", "--reprice", stdout=out)

    assert "Re-priced 1 jobs" in out.getvalue() and "Rebuilt 1 rows" in out.getvalue()
    assert DailySpend.objects.get().reported == Decimal(1)
