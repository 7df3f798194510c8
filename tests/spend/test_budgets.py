"""Budgets and limits are rules checked where every start is (rules.check_start), in its
transaction and locks: a refused start says which limit, how much is left and when it resets,
and creates and sends nothing. They hold under parallel requests too (threads with their own
database connections; PostgreSQL in CI), and the check costs one query."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from providers.base import Cost, CostUnit, JobState, State
from studio import rules
from studio.catalog import BY_KEY
from studio.errors import Refused
from studio.jobs import pipeline, transitions
from studio.jobs.services import start_generation
from studio.models import BudgetNotice, DailySpend, Generation, Membership, Role
from studio.spend import budgets, ledger, notices

MUSIC = BY_KEY["pixazo-eleven-music"]
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def priced(settings):
    """Every Pixazo music job costs 1.00 USD (its provider reports nothing)."""
    settings.SPEND_MODEL_USD_PRICES = {MUSIC.key: Decimal("1.00")}


def start(project, user, prompt="Rain"):
    return start_generation(project=project, user=user, model=MUSIC, params={"prompt": prompt})


def refusal(project, user) -> Refused:
    with pytest.raises(Refused) as refused:
        start(project, user)
    return refused.value


def test_the_project_budget_refuses_the_job_that_would_pass_it_saying_what_is_left_and_when(
    project, alice, priced, django_capture_on_commit_callbacks
):
    project.monthly_budget = Decimal("2.50")
    project.save()
    start(project, alice)
    start(project, alice)

    with django_capture_on_commit_callbacks() as sends:
        refused = refusal(project, alice)

    assert refused.rule == "budget"
    resets = budgets.next_month(timezone.now())
    assert refused.message == (
        "This job would cost 1.00 USD, and the project's monthly budget has 0.50 USD left of 2.50 USD "
        f"(running jobs counted at their estimate). It resets on 1 {resets:%B %Y} at 00:00 UTC."
    )
    assert Generation.objects.count() == 2
    assert sends == []  # nothing for a worker to send to the provider


def test_jobs_still_running_count_at_their_estimate(project, alice, priced):
    project.monthly_budget = Decimal("1.00")
    project.save()
    gen = start(project, alice)
    assert gen.is_pending and gen.spend == Decimal("1.00")

    assert refusal(project, alice).rule == "budget"


def test_a_members_daily_and_monthly_limits_are_theirs_alone(project, alice, bob, priced):
    Membership.objects.create(project=project, user=bob, role=Role.EDITOR, daily_limit=Decimal("1"))
    start(project, bob)

    refused = refusal(project, bob)
    assert refused.rule == "member_daily" and "your daily limit in this project has 0.00 USD left of 1.00 USD" in refused.message
    assert "It resets on " in refused.message
    start(project, alice)  # the owner has no limit of her own

    bob_membership = Membership.objects.get(user=bob)
    bob_membership.daily_limit, bob_membership.monthly_limit = None, Decimal("1.5")
    bob_membership.save()
    assert refusal(project, bob).rule == "member_monthly"


def test_deployment_defaults_apply_where_the_owner_set_nothing(project, alice, priced, settings):
    settings.SPEND_PROJECT_MONTHLY_BUDGET = Decimal("1")
    start(project, alice)
    assert refusal(project, alice).rule == "budget"

    project.monthly_budget = Decimal("5")
    project.save()
    start(project, alice)  # the owner's budget wins over the default


def test_last_months_spend_does_not_count_against_this_months_budget(project, alice, priced):
    old = start(project, alice)
    Generation.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    ledger.rebuild([project.pk])
    project.monthly_budget = Decimal("1")
    project.save()

    start(project, alice)


def test_a_job_that_cannot_be_priced_passes_while_anything_is_left(project, alice, priced, settings):
    project.monthly_budget = Decimal("1.5")
    project.save()
    start(project, alice)
    settings.SPEND_MODEL_USD_PRICES = {}
    start(project, alice)  # unknown, 0.50 left

    settings.SPEND_MODEL_USD_PRICES = {MUSIC.key: Decimal("0.5")}
    start(project, alice)  # exactly fits
    settings.SPEND_MODEL_USD_PRICES = {}
    refused = refusal(project, alice)
    assert refused.rule == "budget" and "cannot be priced yet" in refused.message


def test_the_jobs_per_minute_rate_counts_this_members_recent_starts(project, alice, bob):
    Membership.objects.create(project=project, user=bob, role=Role.EDITOR, jobs_per_minute=2)
    start(project, bob)
    start(project, bob)

    refused = refusal(project, bob)
    assert refused.rule == "rate"
    assert "You may start 2 jobs a minute in this project and have started 2 in the last minute: try again in" in refused.message
    start(project, alice)

    Generation.objects.filter(created_by=bob).update(created_at=timezone.now() - timedelta(seconds=61))
    start(project, bob)


def test_several_jobs_asked_together_are_counted_together(project, alice, priced):
    project.monthly_budget = Decimal("2")
    project.save()
    with pytest.raises(Refused) as refused, transaction.atomic():
        rules.check_start(user=alice, project_id=project.pk, requests=[rules.StartRequest(MUSIC.key, {"prompt": "x"})] * 3)
    assert "These 3 jobs would cost 3.00 USD" in refused.value.message


def test_a_refused_generate_form_shows_the_reason_and_starts_nothing(alice_client, project, priced):
    project.monthly_budget = Decimal("0.50")
    project.save()

    response = alice_client.post(f"/projects/{project.pk}/generate/", {"model": MUSIC.key, "prompt": "Rain"}, **HTMX)

    assert response.status_code == 200
    assert "This job would cost 1.00 USD, and the project&#x27;s monthly budget has 0.50 USD left" in response.content.decode()
    assert not Generation.objects.exists()


def test_retry_is_held_to_the_budget_like_the_form(alice_client, project, alice, priced):
    gen = start(project, alice)
    project.monthly_budget = Decimal("1")
    project.save()
    Generation.objects.filter(pk=gen.pk).update(state=Generation.State.FAILED)

    response = alice_client.post(f"/generations/{gen.pk}/retry/", **HTMX)

    assert "monthly budget" in response.content.decode()
    assert Generation.objects.count() == 1


def test_the_spend_check_adds_one_query_and_none_without_limits(project, alice, priced):
    start(project, alice)  # warm: the estimate

    def queries_of_a_check() -> list[str]:
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            rules.check_start(user=alice, project_id=project.pk, requests=[rules.StartRequest(MUSIC.key, {"prompt": "x"})])
        return [q["sql"] for q in queries.captured_queries]

    without = queries_of_a_check()
    project.monthly_budget = Decimal("100")
    project.save()
    Membership.objects.filter(user=alice).update(daily_limit=50, monthly_limit=80, jobs_per_minute=30)
    with_limits = queries_of_a_check()

    assert len(with_limits) == len(without) + 1
    assert not any("daily_spend" in sql for sql in without)


# --- Notices ---------------------------------------------------------------------------


def test_the_owner_is_told_once_at_80_and_once_at_100_percent(project, alice, bob, priced, django_capture_on_commit_callbacks):
    Membership.objects.create(project=project, user=bob, role=Role.EDITOR)
    project.monthly_budget = Decimal("5")
    project.save()
    for _ in range(3):
        start(project, bob)
    assert not mail.outbox and notices.current(project, timezone.now()) is None

    with django_capture_on_commit_callbacks(execute=True):
        start(project, bob)  # 4.00 of 5.00: 80 %
        start(project, bob)  # 5.00: 100 %

    assert [n.percent for n in BudgetNotice.objects.all()] == [100, 80]
    assert len(mail.outbox) == 2 and all(m.to == ["alice@example.com"] for m in mail.outbox)
    assert "has used 80 % of its monthly budget" in mail.outbox[0].subject
    assert "4.00 USD of its monthly budget of 5.00 USD" in mail.outbox[0].body
    assert notices.current(project, timezone.now()).percent == 100


def test_a_report_that_raises_the_cost_can_cross_a_threshold(project, alice, settings, django_capture_on_commit_callbacks):
    settings.SPEND_USD_PER_UNIT = {**settings.SPEND_USD_PER_UNIT, "aimlapi": Decimal("0.001")}
    project.monthly_budget = Decimal("10")
    project.save()
    gen = start_generation(project=project, user=alice, model=BY_KEY["aimlapi-stable-audio"], params={"prompt": "x"})
    transitions.move(gen.pk, Generation.State.SUBMITTING)
    transitions.move(gen.pk, Generation.State.RUNNING, external_id="g-1")

    with django_capture_on_commit_callbacks(execute=True):
        pipeline.apply_job_state(gen.pk, JobState(State.FAILED, error="x", cost=Cost(Decimal(9000), CostUnit.CREDITS)))

    assert [n.percent for n in BudgetNotice.objects.all()] == [80]
    assert len(mail.outbox) == 1


# --- Under load ------------------------------------------------------------------------


def parallel_generate(project, users, count: int) -> list[int]:
    barrier, statuses = threading.Barrier(count), []

    def generate(user):
        client = Client()
        client.force_login(user)
        barrier.wait()
        try:
            statuses.append(client.post(f"/projects/{project.pk}/generate/", {"model": MUSIC.key, "prompt": "Rain"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=generate, args=(users[i % len(users)],)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_sixty_parallel_requests_against_a_budget_for_ten_jobs_start_exactly_ten(project, alice, bob, priced, settings):
    settings.MAX_PENDING_PER_USER = 100
    Membership.objects.create(project=project, user=bob, role=Role.EDITOR)
    project.monthly_budget = Decimal("10.00")
    project.save()

    statuses = parallel_generate(project, [alice, bob], 60)

    assert len(statuses) == 60
    assert Generation.objects.filter(project=project).count() == 10
    assert statuses.count(302) == 10 and statuses.count(400) == 50
    assert budgets.standing(project.pk, alice.pk, timezone.now()).project_month == Decimal("10.00")


@pytest.mark.django_db(transaction=True)
def test_sixty_parallel_requests_against_a_rate_of_ten_a_minute_start_exactly_ten(project, alice, settings):
    settings.MAX_PENDING_PER_USER = 100
    Membership.objects.filter(project=project, user=alice).update(jobs_per_minute=10)

    statuses = parallel_generate(project, [alice], 60)

    assert len(statuses) == 60
    assert Generation.objects.filter(project=project).count() == 10
    assert statuses.count(302) == 10 and statuses.count(400) == 50


@pytest.mark.django_db(transaction=True)
def test_a_start_and_a_worker_counting_the_first_job_of_a_day_together_do_not_deadlock(project, alice, priced):
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    running = start(project, alice)
    transitions.move(running.pk, Generation.State.SUBMITTING)
    transitions.move(running.pk, Generation.State.RUNNING, external_id="r-1")
    DailySpend.objects.all().delete()  # the day's row is yet to be made: by whichever comes first
    locked, counted, failures = threading.Event(), threading.Event(), []

    def starting():  # holds the start's locks while the worker counts its job, then makes the row too
        try:
            with transaction.atomic():
                rules.check_start(user=alice, project_id=project.pk, requests=[rules.StartRequest(MUSIC.key, {"prompt": "x"})])
                locked.set()
                counted.wait(timeout=3)
                Generation.objects.create(project=project, created_by=alice, model_key=MUSIC.key, params={"prompt": "x"})
        except Exception as exc:  # noqa: BLE001  (whatever it is, the test reports it)
            failures.append(exc)
        finally:
            connection.close()

    def working():
        try:
            locked.wait(timeout=3)
            pipeline.apply_job_state(running.pk, JobState(State.FAILED, error="x"))
            counted.set()
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=starting), threading.Thread(target=working)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert failures == []
    # Both counted in the one row: the new job (1 job at 1.00) and the worker's failure (1 failed).
    assert list(DailySpend.objects.values_list("jobs", "failed", "reported")) == [(1, 1, Decimal("1.00"))]
