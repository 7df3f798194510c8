"""At 80 % and 100 % of a project's monthly budget its owner is told: a notice in the studio (the
project page and the usage page) and one e-mail, once per threshold per month.

"Spent" counts running jobs at their estimate, as the budget check does. A threshold is crossed
when a start is let through (rules.check_start knows the figures) or when a report raises a job's
cost (the ledger asks here). The unique row per project, month and threshold is what makes it once:
of two transactions crossing it together, one creates the row and mails; the other finds it.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from studio.models import BudgetNotice, Project
from studio.spend import budgets
from studio.spend.wording import moment, money

PERCENTS = (80, 100)
log = logging.getLogger(__name__)


def crossed(before: Decimal, after: Decimal, budget: Decimal | None) -> list[int]:
    """The thresholds that `after` reaches and `before` did not."""
    if budget is None or after <= before:
        return []
    return [p for p in PERCENTS if after * 100 >= budget * p and not before * 100 >= budget * p]


def note(project: Project, *, before: Decimal, after: Decimal, now: datetime) -> None:
    """Record (and mail, once the transaction commits) each threshold newly reached."""
    budget = budgets.project_budget(project)
    for percent in crossed(before, after, budget):
        _record(project, budgets.month_start(now), percent, after, budget, now)


def check_project(project: Project, now: datetime) -> None:
    """After a job's cost went up: compare the month so far with the budget (one query, and only
    when there is a budget)."""
    budget = budgets.project_budget(project)
    if budget is None:
        return
    spent = budgets.spent_this_month(project.pk, now)
    for percent in crossed(Decimal(-1), spent, budget):
        _record(project, budgets.month_start(now), percent, spent, budget, now)


def _record(project: Project, month: date, percent: int, spent: Decimal, budget: Decimal, now: datetime) -> None:
    if BudgetNotice.objects.filter(project=project, month=month, percent=percent).exists():
        return
    try:
        with transaction.atomic():  # a savepoint: a concurrent transaction may record it first
            BudgetNotice.objects.create(project=project, month=month, percent=percent, spent=spent, budget=budget, created_at=now)
    except IntegrityError:
        return
    transaction.on_commit(lambda: _mail_owner(project.pk, percent, spent, budget, now))


def current(project: Project, now: datetime) -> BudgetNotice | None:
    """The highest threshold reached this month, if any."""
    return BudgetNotice.objects.filter(project=project, month=budgets.month_start(now)).order_by("-percent").first()


def _mail_owner(project_id: int, percent: int, spent: Decimal, budget: Decimal, now: datetime) -> None:
    project = Project.objects.select_related("owner").filter(pk=project_id).first()
    if project is None or not project.owner.email:
        return
    usage = reverse("project_usage", args=[project.pk])
    where = f"{settings.PUBLIC_BASE_URL}{usage}" if settings.PUBLIC_BASE_URL else "the project's Usage and budget page"
    subject = " ".join(f"“{project.name}” has used {percent} % of its monthly budget".split())
    body = (
        f"The project “{project.name}” on Audio Studio has used {money(spent)} of its monthly budget of "
        f"{money(budget)} ({percent} %), counting jobs still running at their estimated cost.\n\n"
        + ("New jobs that would pass the budget are refused until it resets" if percent >= 100 else
           "Jobs that would pass the budget will be refused until it resets")
        + f" {moment(budgets.next_month(now))}, or until you raise it on {where}.\n"
    )  # fmt: skip
    try:
        send_mail(subject, body, None, [project.owner.email])
    except (smtplib.SMTPException, OSError) as exc:  # the notice in the studio still shows
        log.warning("budget notice mail for project %s failed: %s", project_id, exc)
