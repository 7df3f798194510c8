"""The usage page, its CSV export, the owner's budget and limits, the cost estimate on the
generate form and the owner's budget notice: what each shows, and to whom (two users every time)."""

from __future__ import annotations

import calendar
import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from providers.base import Cost, CostUnit, JobState, Media, State
from studio.errors import ErrorKind
from studio.jobs import pipeline, transitions
from studio.models import BudgetNotice, Generation, Membership, Role, Track
from studio.rules import StartRequest
from studio.spend import budgets, estimates, ledger
from tests.conftest import make_user

S = Generation.State
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def rates(settings):
    settings.SPEND_USD_PER_UNIT = {**settings.SPEND_USD_PER_UNIT, "aimlapi": Decimal("0.000001")}
    settings.SPEND_MODEL_USD_PRICES = {"pixazo-eleven-music": Decimal("0.50")}


@pytest.fixture
def editor(project):
    user = make_user("eddie")
    Membership.objects.create(project=project, user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def viewer(project):
    user = make_user("vera")
    Membership.objects.create(project=project, user=user, role=Role.VIEWER)
    return user


def client_for(client, user):
    client.force_login(user)
    return client


def job(project, user, model_key, **fields):
    return Generation.objects.create(project=project, created_by=user, model_key=model_key, params={"prompt": "Rain"}, **fields)


def finish(gen, cost=None, seconds=None):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id=f"x-{gen.pk}")
    pipeline.apply_job_state(gen.pk, JobState(State.SUCCEEDED, media=(Media(url="https://cdn.test/a.mp3"),), cost=cost))
    if seconds:
        Track.objects.create(generation=gen, project=gen.project, title="t", file="tracks/a.mp3", duration_seconds=seconds)
    return gen


@pytest.fixture
def month_of_jobs(project, alice, editor, rates):
    """Alice: a Stable Audio job reported at 25,200 credits (0.0252 USD) with 30 s of audio, and a
    Pixazo job at its set price (0.50 USD); the editor: a job refused at submit (nothing) and one
    still running at its estimate."""
    finish(job(project, alice, "aimlapi-stable-audio"), Cost(Decimal(25200), CostUnit.CREDITS), seconds=30)
    finish(job(project, alice, "pixazo-eleven-music"), seconds=95.5)
    refused = job(project, editor, "aimlapi-stable-audio")
    transitions.move(refused.pk, S.SUBMITTING)
    transitions.move(refused.pk, S.FAILED, error_kind=ErrorKind.INVALID)
    running = job(project, editor, "aimlapi-stable-audio")
    transitions.move(running.pk, S.SUBMITTING)
    return project


def test_the_usage_page_shows_the_month_by_member_provider_and_model(client, alice, month_of_jobs):
    html = client_for(client, alice).get(f"/projects/{month_of_jobs.pk}/usage/").content.decode()

    summary = html[html.index('data-testid="usage-summary"'):html.index("</dl>")]
    for text in ("<dd>4</dd>", "<dd>1 <span", "2 min 6 s", "0.5252 USD", "≈ 0.0252 USD", "<dd>0 jobs</dd>"):
        assert text in summary, text
    for heading in ("By member", "By provider", "By model"):
        assert f">{heading}</h2>" in html
    for label in ("alice", "eddie", "AI/ML API", "Pixazo", "Stable Audio (AI/ML API)", "ElevenLabs Music (Pixazo)"):
        assert f'<th scope="row">{label}</th>' in html, label
    today = timezone.now()
    assert html.count('<g class="day">') == calendar.monthrange(today.year, today.month)[1]
    assert f"Spend per day, {timezone.now():%B %Y}" in html


def test_the_chart_has_a_bar_for_every_day_of_the_month(client, alice, month_of_jobs):
    html = client_for(client, alice).get(f"/projects/{month_of_jobs.pk}/usage/", {"month": "2026-02"}).content.decode()

    assert html.count('<g class="day">') == 28 and "nothing was spent this month" in html


def test_editors_see_usage_viewers_only_when_the_owner_allows_and_outsiders_never(client, project, editor, viewer, bob):
    url = f"/projects/{project.pk}/usage/"
    assert client_for(client, editor).get(url).status_code == 200
    assert client_for(client, viewer).get(url).status_code == 404
    assert client_for(client, viewer).get(f"/projects/{project.pk}/usage.csv").status_code == 404
    project.usage_for_viewers = True
    project.save()
    assert client_for(client, viewer).get(url).status_code == 200
    assert client_for(client, bob).get(url).status_code == 404
    assert client_for(client, bob).get(f"/projects/{project.pk}/usage.csv").status_code == 404


def test_only_the_owner_sees_and_changes_the_budget_and_limits(client, project, alice, editor):
    editor_page = client_for(client, editor).get(f"/projects/{project.pk}/usage/").content.decode()
    assert "Save budget" not in editor_page
    assert client.post(f"/projects/{project.pk}/usage/budget/", {"monthly_budget": "1"}).status_code == 404
    member = Membership.objects.get(user=editor)
    assert client.post(f"/projects/{project.pk}/usage/members/{member.pk}/", {f"m{member.pk}-daily_limit": "1"}).status_code == 404

    owner = client_for(client, alice)
    assert "Save budget" in owner.get(f"/projects/{project.pk}/usage/").content.decode()
    owner.post(f"/projects/{project.pk}/usage/budget/", {"monthly_budget": "25.50", "usage_for_viewers": "on"})
    owner.post(f"/projects/{project.pk}/usage/members/{member.pk}/", {f"m{member.pk}-daily_limit": "2", f"m{member.pk}-jobs_per_minute": "5"})

    project.refresh_from_db()
    member.refresh_from_db()
    assert (project.monthly_budget, project.usage_for_viewers) == (Decimal("25.50"), True)
    assert (member.daily_limit, member.monthly_limit, member.jobs_per_minute) == (Decimal(2), None, 5)


@pytest.mark.parametrize("value", ["-1", "lots", "1e9999", "12345678901234"])
def test_a_budget_that_is_not_an_amount_is_refused_plainly_and_changes_nothing(client, project, alice, value):
    response = client_for(client, alice).post(f"/projects/{project.pk}/usage/budget/", {"monthly_budget": value})

    assert response.status_code == 400
    assert 'class="errors" role="alert"' in response.content.decode()
    project.refresh_from_db()
    assert project.monthly_budget is None


def test_limits_of_a_member_of_another_project_cannot_be_reached(client, project, alice, bob):
    from studio.teams.services import create_project

    elsewhere = create_project(owner=bob, name="Bob's")
    bobs = Membership.objects.get(project=elsewhere, user=bob)

    response = client_for(client, alice).post(f"/projects/{project.pk}/usage/members/{bobs.pk}/", {f"m{bobs.pk}-daily_limit": "1"})

    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.daily_limit is None


def test_a_month_that_is_not_one_is_a_clear_400(client, project, alice):
    client = client_for(client, alice)
    response = client.get(f"/projects/{project.pk}/usage/", {"month": "2026-13"})
    assert response.status_code == 400 and "Choose a month as YYYY-MM" in response.content.decode()
    assert client.get(f"/projects/{project.pk}/usage.csv", {"month": "soon"}).status_code == 400


# --- The ledger as CSV ------------------------------------------------------------------


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_has_one_row_per_job_of_the_month_and_project(client, alice, bob, month_of_jobs, rates):
    from studio.teams.services import create_project

    other = create_project(owner=bob, name="Not hers")
    job(other, bob, "pixazo-eleven-music")
    job(month_of_jobs, alice, "pixazo-eleven-music", created_at=timezone.now() - timedelta(days=45))

    response = client_for(client, alice).get(f"/projects/{month_of_jobs.pk}/usage.csv")

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert len(rows) == 4
    first = rows[0]
    assert (first["provider"], first["model"], first["reported_amount"], first["reported_unit"]) == ("AI/ML API", "Stable Audio (AI/ML API)", "25200", "credits")
    assert (first["cost"], first["currency"], first["cost_basis"], first["audio_seconds"]) == ("0.025200", "USD", "reported", "30.0")
    assert [r["cost_basis"] for r in rows] == ["reported", "set price", "not charged", "estimate"]


def test_text_a_spreadsheet_would_run_is_quoted_in_the_csv(client, alice):
    from studio.teams.services import create_project

    project = create_project(owner=alice, name="=HYPERLINK(\"http://evil.test\")")
    job(project, alice, "pixazo-eleven-music")

    rows = read_csv(client_for(client, alice).get(f"/projects/{project.pk}/usage.csv"))

    assert rows[0]["project"].startswith("'=")


# --- Staff ------------------------------------------------------------------------------


def test_staff_see_every_project_and_others_do_not(client, alice, bob, month_of_jobs):
    from studio.teams.services import create_project

    job(create_project(owner=bob, name="Bob's"), bob, "pixazo-eleven-music")
    assert client_for(client, alice).get("/usage/").status_code == 404
    assert client.get("/usage.csv").status_code == 404
    bob.is_staff = True
    bob.save()

    html = client_for(client, bob).get("/usage/").content.decode()

    assert ">By project</h2>" in html and '<th scope="row">Bob&#x27;s</th>' in html and '<th scope="row">Alice&#x27;s game</th>' in html
    assert len(read_csv(client.get("/usage.csv"))) == 5


def test_the_usage_page_costs_the_same_queries_for_few_jobs_or_many(client, alice, project, rates, django_assert_num_queries):
    client = client_for(client, alice)
    job(project, alice, "pixazo-eleven-music")
    client.get(f"/projects/{project.pk}/usage/")
    with django_assert_num_queries(10) as few:  # session, user, membership, 5 of figures, months, budget, members
        client.get(f"/projects/{project.pk}/usage/")
    for day in range(20):
        for model_key in ("pixazo-eleven-music", "aimlapi-stable-audio", "runware-eleven-music"):
            job(project, make_user(f"u{day}-{model_key}"), model_key, created_at=timezone.now() - timedelta(hours=day))
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(f"/projects/{project.pk}/usage/")


# --- On the project page ----------------------------------------------------------------


def test_the_estimate_follows_the_length_asked_for(client, project, alice, settings):
    settings.SPEND_USD_PER_UNIT = {**settings.SPEND_USD_PER_UNIT, "runware": Decimal(1)}
    for seconds in (30, 30, 60):
        gen = Generation.objects.create(project=project, created_by=alice, model_key="runware-eleven-music", params={"positivePrompt": "x", "duration": seconds})
        finish(gen, Cost(Decimal("0.0025") * seconds, CostUnit.USD))
    client = client_for(client, alice)
    url = f"/projects/{project.pk}/estimate/"

    short = client.get(url, {"model": "runware-eleven-music", "positivePrompt": "x", "duration": "30"}, **HTMX).content.decode()
    long = client.get(url, {"model": "runware-eleven-music", "positivePrompt": "x", "duration": "120", "numberResults": "2"}, **HTMX).content.decode()

    assert "≈ 0.075 USD" in short and "from 3 recent jobs" in short
    assert "≈ 0.60 USD" in long


def test_the_estimate_says_what_is_left_and_warns_before_a_refusal(client, project, alice, settings):
    settings.SPEND_MODEL_USD_PRICES = {"pixazo-eleven-music": Decimal("2.00")}
    project.monthly_budget = Decimal("3")
    project.save()
    job(project, alice, "pixazo-eleven-music")

    html = client_for(client, alice).get(f"/projects/{project.pk}/estimate/", {"model": "pixazo-eleven-music", "prompt": "x"}).content.decode()

    assert "<strong>2.00 USD</strong>" in html and "the model's set price" in html
    assert "The project&#x27;s monthly budget: 1.00 USD left of 3.00 USD" in html
    assert "This job would pass the project&#x27;s monthly budget: it would be refused." in html


def test_an_unknown_cost_is_said_to_be_unknown_never_zero(client, project, alice):
    html = client_for(client, alice).get(f"/projects/{project.pk}/estimate/", {"model": "pixazo-eleven-music"}).content.decode()
    assert "<strong>unknown</strong>" in html and "0.00" not in html


def test_only_those_who_may_generate_get_an_estimate(client, project, viewer, bob):
    url = f"/projects/{project.pk}/estimate/"
    assert client_for(client, viewer).get(url, {"model": "pixazo-eleven-music"}).status_code == 404
    assert client_for(client, bob).get(url, {"model": "pixazo-eleven-music"}).status_code == 404


def test_the_generate_form_asks_for_the_estimate_and_the_nav_offers_usage(client, project, alice, viewer):
    html = client_for(client, alice).get(f"/projects/{project.pk}/").content.decode()
    assert f'hx-get="/projects/{project.pk}/estimate/"' in html and "Usage and budget" in html
    assert f'hx-get="/projects/{project.pk}/budget-notice/"' in html
    viewer_html = client_for(client, viewer).get(f"/projects/{project.pk}/").content.decode()
    assert "Usage and budget" not in viewer_html and "budget-notice" not in viewer_html


def test_the_owner_sees_the_notice_once_a_threshold_is_reached_and_editors_never(client, project, alice, editor):
    month = budgets.month_start(timezone.now())
    url = f"/projects/{project.pk}/budget-notice/"
    assert client_for(client, alice).get(url).content == b""
    BudgetNotice.objects.create(project=project, month=month, percent=80, spent=Decimal(8), budget=Decimal(10))

    html = client.get(url).content.decode()

    assert "This project has used 80 % of its monthly budget" in html and "8.00 USD of 10.00 USD" in html
    assert client_for(client, editor).get(url).status_code == 404


def test_the_card_and_the_track_show_the_cost_with_its_unit_once_per_job(client, project, alice, settings):
    settings.SPEND_USD_PER_UNIT = {**settings.SPEND_USD_PER_UNIT, "runware": Decimal(1)}
    gen = Generation.objects.create(project=project, created_by=alice, model_key="runware-eleven-music", params={"positivePrompt": "x", "numberResults": 4})
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="t-1")
    media = tuple(Media(url=f"https://cdn.test/{i}.mp3") for i in range(4))
    pipeline.apply_job_state(gen.pk, JobState(State.SUCCEEDED, media=media, cost=Cost(Decimal("0.6"), CostUnit.USD)))
    tracks = [Track.objects.create(generation=gen, project=project, position=i, title=f"Take {i}", file=f"tracks/{i}.mp3") for i in range(4)]
    client = client_for(client, alice)

    card = client.get(f"/generations/{gen.pk}/").content.decode()
    track_page = client.get(f"/tracks/{tracks[0].pk}/").content.decode()

    assert card.count("0.60 USD") == 1 and "Cost: 0.60 USD (as Runware reported it)" in card
    assert "0.15 USD, its share of the job&#x27;s 0.60 USD (4 tracks)" in track_page


def test_rebuilt_totals_show_on_the_page_like_kept_ones(client, alice, month_of_jobs):
    def figures() -> str:
        html = client.get(f"/projects/{month_of_jobs.pk}/usage/").content.decode()
        return html[html.index('data-testid="usage-summary"'):html.index('id="budget-heading"')]

    client_for(client, alice)
    kept = figures()
    ledger.rebuild([month_of_jobs.pk])
    assert figures() == kept


def test_the_estimate_of_several_jobs_counts_them_together(db, settings):
    settings.SPEND_MODEL_USD_PRICES = {"pixazo-eleven-music": Decimal("0.50")}
    asked = [StartRequest("pixazo-eleven-music"), StartRequest("pixazo-eleven-music"), StartRequest("aimlapi-stable-audio")]

    html = render_to_string("spend/estimate.html", {"cost": estimates.estimate(asked), "rooms": [], "too_much": []})

    assert "Estimated cost of these 3 jobs:" in html and "<strong>1.00 USD</strong>" in html
    assert "and 1 job that cannot be priced yet" in html


def test_every_field_on_the_usage_page_is_described_by_an_element_that_exists(client, alice, month_of_jobs):
    html = client_for(client, alice).get(f"/projects/{month_of_jobs.pk}/usage/").content.decode()

    described = set(re.findall(r'aria-describedby="([^"]+)"', html))
    assert {"month-help", "limits-help", "id_monthly_budget_helptext"} <= described
    for name in described:
        assert f'id="{name}"' in html, name
    for name in re.findall(r'<label for="([^"]+)"', html):
        assert f'id="{name}"' in html, name
