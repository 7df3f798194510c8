"""Spend in a real browser: the estimate follows the form as the length changes, a submit over
budget says why in the form, and the usage page draws its chart."""

import calendar
from decimal import Decimal

import pytest
from django.utils import timezone

from studio.models import Generation, SpendBasis
from studio.teams.services import create_project
from tests.browser.test_generate_in_browser import sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner(live_server):
    user = make_user("olga")
    return user, create_project(owner=user, name="Budgeted")


def reported_job(project, user, model_key, params, spend):
    Generation.objects.create(
        project=project, created_by=user, model_key=model_key, params=params, state=Generation.State.SUCCEEDED,
        cost=spend, cost_unit="usd", spend=spend, spend_basis=SpendBasis.REPORTED,
    )  # fmt: skip


def test_the_estimate_follows_the_length_as_it_changes(page, live_server, owner):
    user, project = owner
    for seconds in (30, 30, 40):  # 0.0025 USD a second, as Runware reported
        reported_job(project, user, "runware-eleven-music", {"positivePrompt": "x", "duration": seconds}, Decimal("0.0025") * seconds)
    sign_in(page, live_server, "olga", "pw-olga")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    form = page.locator("#generate-form")
    page.evaluate("window.__sameDocument = true")

    form.get_by_label("Model").select_option(label="Eleven Music v1 (Runware)")
    form.get_by_label("Length (seconds)").wait_for()
    form.get_by_label("Length (seconds)").fill("30")
    estimate = page.get_by_test_id("estimate")
    estimate.filter(has_text="≈ 0.075 USD").wait_for()

    form.get_by_label("Length (seconds)").fill("120")
    estimate.filter(has_text="≈ 0.30 USD").wait_for()
    form.get_by_label("Variations").fill("2")
    estimate.filter(has_text="≈ 0.60 USD").wait_for()
    assert page.evaluate("window.__sameDocument") is True  # no reload


def test_a_submit_over_budget_shows_why_and_starts_nothing(page, live_server, owner, settings):
    user, project = owner
    settings.SPEND_MODEL_USD_PRICES = {"pixazo-eleven-music": Decimal("1.00")}
    project.monthly_budget = Decimal("0.50")
    project.save()
    sign_in(page, live_server, "olga", "pw-olga")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    form = page.locator("#generate-form")

    form.get_by_label("Prompt", exact=True).fill("Forest theme")
    page.get_by_text("This job would pass the project's monthly budget: it would be refused.").wait_for()
    form.get_by_role("button", name="Generate").click()

    alert = form.locator(".errors[role=alert]")
    alert.wait_for()
    assert "This job would cost 1.00 USD, and the project's monthly budget has 0.50 USD left of 0.50 USD" in alert.inner_text()
    assert "It resets on 1 " in alert.inner_text()
    assert page.locator("#cards article").count() == 0
    assert not Generation.objects.exists()


def test_the_usage_page_draws_spend_per_day(page, live_server, owner):
    user, project = owner
    reported_job(project, user, "runware-eleven-music", {"positivePrompt": "x"}, Decimal("1.25"))
    sign_in(page, live_server, "olga", "pw-olga")
    page.goto(f"{live_server.url}/projects/{project.pk}/")

    page.get_by_role("link", name="Usage and budget").click()

    chart = page.get_by_test_id("usage-chart")
    chart.wait_for()
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    today = timezone.now()
    assert chart.locator("g.day").count() == calendar.monthrange(today.year, today.month)[1]
    bar = chart.locator("g.day").nth(today.day - 1).locator("rect.reported")
    assert bar.bounding_box()["height"] > 20
    assert f"{today.day} {today:%B}: 1.25 USD reported" in chart.locator("g.day").nth(today.day - 1).locator("title").text_content()
    assert "1.25 USD" in page.get_by_test_id("usage-summary").inner_text()
