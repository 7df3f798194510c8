"""Whether a thing may happen, decided in one place for every path that does it.

Every start of a job (generate, retry, resubmit, generate again, and whatever starts jobs later)
calls `check_start` inside the transaction that creates the rows; every change to tracks (move,
tag, star, rename, delete, single or bulk) calls `check_tracks`. A view may check earlier to
answer 404 to outsiders, but these are the checks that hold.

Limits are checks-then-inserts, so `check_start` locks first: the project's row (what is shared
by its members) and then the user's row (what is theirs across projects), always in that order,
so concurrent starts queue behind each other instead of both passing the check. Budgets and spend
limits are per project (the project's, and each member's there), so the project's lock covers them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from studio.catalog import get_model
from studio.errors import Refused
from studio.models import Generation, Membership, Project, Role
from studio.spend import budgets, estimates, notices
from studio.spend.wording import moment, money


@dataclass(frozen=True)
class StartRequest:
    """One job someone asks to start: its model and its parameters (as stored)."""

    model_key: str
    params: dict = field(default_factory=dict)


def _no_key_lock() -> bool:
    """Lock "for no key update" where the database can (PostgreSQL): starts still queue behind
    each other, but a worker inserting a row that refers to the project or the user (a day's
    totals, a track) does not wait for a start, which may itself be waiting for that worker's
    row: the first job of a day at once in a start and in a worker would deadlock."""
    return transaction.get_connection().features.has_select_for_no_key_update


def _membership(user, project_id: int) -> Membership | None:
    return Membership.objects.filter(project_id=project_id, user=user).select_related("project").first()


def check_start(*, user, project_id: int, requests: Sequence[StartRequest]) -> Membership:
    """Refuse (Refused) unless `user` may start all these jobs in the project now, counted
    together. Must run inside the transaction that creates the jobs: the locks it takes are held
    until that transaction ends."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_start must run inside the transaction that starts the jobs")
    project = Project.objects.select_for_update(no_key=_no_key_lock()).filter(pk=project_id).first()
    membership = _membership(user, project_id) if project else None
    if membership is None or not membership.allows(Role.EDITOR):
        raise Refused("Only the project's owner and editors can generate here.", rule="role")
    if project.archived_at is not None:
        raise Refused("This project is archived: the owner can restore it to generate again.", rule="archived")
    for key in {request.model_key for request in requests}:
        if get_model(key) is None:
            raise Refused("That model is not offered any more: choose another one.", rule="model")
    _lock_user(user)
    pending = Generation.objects.filter(created_by=user, state__in=Generation.PENDING_STATES).count()
    if pending + len(requests) > settings.MAX_PENDING_PER_USER:
        raise Refused(
            f"You have {pending} jobs in progress and one person may run {settings.MAX_PENDING_PER_USER} "
            "at once. Generate again when some of them finish.",
            rule="pending",
        )
    _check_spend(project, membership, requests)
    membership.project = project
    return membership


def _check_spend(project: Project, membership: Membership, requests: Sequence[StartRequest]) -> None:
    """The project's monthly budget and the member's limits here (studio/spend/budgets.py): what is
    spent, with running jobs at their estimate, plus what these jobs are estimated to cost, must fit
    each; and the member's starts in the last minute must stay within their rate. One query, none
    when no limit applies. A job whose cost cannot be estimated yet passes while anything is left."""
    limits = budgets.limits_for(project, membership)
    if not limits.any:
        return
    now = timezone.now()
    standing = budgets.standing(project.pk, membership.user_id, now)
    rate = limits.jobs_per_minute
    if rate is not None and standing.recent_starts + len(requests) > rate:
        wait = max(1, math.ceil((budgets.rate_resets_at(standing, now) - now).total_seconds()))
        raise Refused(
            f"You may start {rate} job{'s' if rate != 1 else ''} a minute in this project and have started "
            f"{standing.recent_starts} in the last minute: try again in {wait} s.",
            rule="rate",
        )
    cost = estimates.estimate(requests)
    for room in budgets.headrooms(limits, standing, now):
        if room.refuses(cost):
            raise Refused(
                f"{_priced(cost, len(requests))}, and {room.name} has {money(room.left)} left of {money(room.limit)} "
                f"(running jobs counted at their estimate). It resets {moment(room.resets_at)}.",
                rule=room.rule,
            )
    notices.note(project, before=standing.project_month, after=standing.project_month + cost.total, now=now)


def _priced(cost: estimates.Estimate, count: int) -> str:
    these = "This job" if count == 1 else f"These {count} jobs"
    if cost.unknown == count:
        return f"{these} cannot be priced yet"
    about = "about " if cost.is_estimate else ""
    return f"{these} would cost {about}{money(cost.total)}" + (" and more (some cannot be priced yet)" if cost.unknown else "")


def _lock_user(user) -> None:
    list(get_user_model().objects.select_for_update(no_key=_no_key_lock()).filter(pk=user.pk).values_list("pk", flat=True))


def may_see_usage(membership: Membership) -> bool:
    """The usage page (spend by month, member, provider and model): the owner and editors, and
    viewers when the owner allows it."""
    return membership.allows(Role.EDITOR) or membership.project.usage_for_viewers


def check_tracks(*, user, project_ids: Iterable[int], into: Project | None = None) -> None:
    """Refuse unless `user` may change tracks of these projects (an editor in each), and, for a
    move or copy `into` a project, may add tracks there (an editor, and the project not archived)."""
    for project_id in set(project_ids):
        membership = _membership(user, project_id)
        if membership is None or not membership.allows(Role.EDITOR):
            raise Refused("Only the project's owner and editors can change its tracks.", rule="role")
    if into is not None:
        membership = _membership(user, into.pk)
        if membership is None or not membership.allows(Role.EDITOR):
            raise Refused("You can only move or copy tracks to a project where you are an editor.", rule="role")
        if membership.project.archived_at is not None:
            raise Refused(f"“{membership.project.name}” is archived: nothing can be added to it.", rule="archived")


def check_dismiss(*, user, project_id: int) -> None:
    """Refuse unless `user` may hide the project's finished cards (an editor there)."""
    membership = _membership(user, project_id)
    if membership is None or not membership.allows(Role.EDITOR):
        raise Refused("Only the project's owner and editors can hide its cards.", rule="role")
