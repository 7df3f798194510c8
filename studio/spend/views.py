"""The usage page (per project, and every project for staff), its CSV export, the owner's budget
and limits, the cost estimate on the generate form and the budget notice on the project page."""

from __future__ import annotations

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from studio import rules
from studio.access import get_membership, get_project_for_user
from studio.catalog import get_model
from studio.http import HtmxHttpRequest
from studio.jobs.forms import GenerateForm
from studio.models import Generation, Membership, Role
from studio.spend import budgets, estimates, notices, rates, usage
from studio.spend.chart import spend_chart
from studio.spend.forms import BudgetForm, MemberLimitsForm
from studio.spend.ledger_csv import ledger_rows
from studio.spend.services import set_budget, set_member_limits


def _usage_membership(user, project_id: int) -> Membership:
    membership = get_membership(user, project_id)
    if not rules.may_see_usage(membership):
        raise Http404("No such page")
    return membership


def _month(request) -> tuple[date, str]:
    """The asked-for month (this one when none is asked for), and what was wrong with the asking."""
    asked = request.GET.get("month", "")
    month = usage.parse_month(asked)
    if month is None:
        return usage.this_month(), ("Choose a month as YYYY-MM, e.g. 2026-03." if asked else "")
    return month, ""


@login_required
@require_GET
def project_usage(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = _usage_membership(request.user, project_id)
    return _project_page(request, membership)


def _project_page(request, membership: Membership, *, budget_form=None, limits_forms=None, status=200) -> HttpResponse:
    project, now = membership.project, timezone.now()
    month, problem = _month(request)
    figures = usage.usage([project.pk], month)
    context = {
        "project": project,
        "membership": membership,
        "usage": figures,
        "chart": spend_chart(figures.by_day),
        "months": usage.months_with_jobs([project.pk]),
        "month_problem": problem,
        "csv_url": reverse("project_usage_csv", args=[project.pk]) + f"?month={month:%Y-%m}",
        "currency": rates.currency(),
        "budget": budgets.project_budget(project),
        "budget_room": _budget_room(project, now) if month == usage.this_month() else None,
        "notice": notices.current(project, now) if membership.role == Role.OWNER else None,
        "resets_at": budgets.next_month(now),
        "is_owner": membership.role == Role.OWNER,
    }
    if context["is_owner"]:
        members = project.memberships.select_related("user").order_by("user__username")
        limits_forms = limits_forms or {}
        context["budget_form"] = budget_form or BudgetForm(instance=project)
        context["limits_forms"] = [limits_forms.get(m.pk) or MemberLimitsForm(instance=m, prefix=f"m{m.pk}") for m in members]
    return render(request, "spend/usage.html", context, status=400 if problem else status)


def _budget_room(project, now) -> budgets.Headroom | None:
    budget = budgets.project_budget(project)
    if budget is None:
        return None
    spent = budgets.spent_this_month(project.pk, now)
    return budgets.Headroom("budget", "the project's monthly budget", budget, spent, budgets.next_month(now))


@login_required
@require_GET
def project_usage_csv(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = _usage_membership(request.user, project_id)
    month, problem = _month(request)
    if problem:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    jobs = Generation.objects.filter(project_id=membership.project_id)
    return _csv_response(jobs, month, f"usage-{membership.project_id}-{month:%Y-%m}.csv")


@login_required
@require_POST
def project_budget(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = get_membership(request.user, project_id, Role.OWNER)
    form = BudgetForm(request.POST, instance=membership.project)
    if not form.is_valid():
        return _project_page(request, membership, budget_form=form, status=400)
    set_budget(project=membership.project, **form.cleaned_data)
    messages.success(request, "Budget saved.")
    return redirect("project_usage", project_id)


@login_required
@require_POST
def member_limits(request: HtmxHttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    owner = get_membership(request.user, project_id, Role.OWNER)
    member = get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, project_id=project_id)
    form = MemberLimitsForm(request.POST, instance=member, prefix=f"m{member.pk}")
    if not form.is_valid():
        return _project_page(request, owner, limits_forms={member.pk: form}, status=400)
    set_member_limits(membership=member, **form.cleaned_data)
    messages.success(request, f"Limits for {member.user.get_username()} saved.")
    return redirect("project_usage", project_id)


# --- Staff: every project ----------------------------------------------------------------


def _staff(request) -> None:
    if not request.user.is_staff:
        raise Http404("No such page")


@login_required
@require_GET
def all_usage(request: HtmxHttpRequest) -> HttpResponse:
    _staff(request)
    month, problem = _month(request)
    figures = usage.usage(None, month)
    context = {
        "usage": figures,
        "chart": spend_chart(figures.by_day),
        "months": usage.months_with_jobs(None),
        "month_problem": problem,
        "csv_url": reverse("all_usage_csv") + f"?month={month:%Y-%m}",
        "currency": rates.currency(),
    }
    return render(request, "spend/usage.html", context, status=400 if problem else 200)


@login_required
@require_GET
def all_usage_csv(request: HtmxHttpRequest) -> HttpResponse:
    _staff(request)
    month, problem = _month(request)
    if problem:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    return _csv_response(Generation.objects.all(), month, f"usage-{month:%Y-%m}.csv")


def _csv_response(jobs, month: date, filename: str) -> StreamingHttpResponse:
    start, end = budgets.midnight(month), budgets.midnight(budgets.following_month(month))
    writer = csv.writer(_Echo())
    rows = ledger_rows(jobs.filter(created_at__gte=start, created_at__lt=end))
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class _Echo:
    """A file-like object csv.writer writes one row to, which answers it (rows streamed, none kept)."""

    def write(self, value: str) -> str:
        return value


# --- On the project page -----------------------------------------------------------------


@login_required
@require_GET
def estimate(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """What the job the generate form describes would cost, and what is left of the budgets that
    apply to this member; asked for again (htmx) whenever a field changes."""
    membership = get_membership(request.user, project_id, Role.EDITOR)
    model = get_model(request.GET.get("model", ""))
    if model is None:
        return HttpResponse("")
    form = GenerateForm(request.GET, catalog_model=model)
    if form.is_valid():
        params = form.parameters()
    else:  # half-typed: what can be read of it (a length that is out of range still says something)
        names = {param.name for param in model.spec.params}
        params = {name: value for name, value in request.GET.items() if name in names and value != ""}
    return estimate_response(request, membership, [rules.StartRequest(model.key, params)])


def estimate_response(request, membership, requests: list[rules.StartRequest]) -> HttpResponse:
    """What these jobs would cost and what is left of each budget that applies to the member:
    for the generate form here, and for any page that starts several jobs at once (a set)."""
    cost = estimates.estimate(requests)
    limits = budgets.limits_for(membership.project, membership)
    now = timezone.now()
    rooms = budgets.headrooms(limits, budgets.standing(membership.project_id, membership.user_id, now), now) if limits.any else []
    context = {"cost": cost, "rooms": rooms, "too_much": [r for r in rooms if r.refuses(cost)]}
    return render(request, "spend/estimate.html", context)


@login_required
@require_GET
def budget_notice(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The owner's notice that the project has used 80 % or all of this month's budget."""
    project = get_project_for_user(request.user, project_id, Role.OWNER)
    notice = notices.current(project, timezone.now())
    if notice is None:
        return HttpResponse("")
    return render(request, "spend/notice.html", {"notice": notice, "project": project, "resets_at": budgets.next_month(timezone.now())})
