"""The owner's changes to what may be spent: the project's budget, a member's limits."""

from decimal import Decimal

from studio.models import Membership, Project


def set_budget(*, project: Project, monthly_budget: Decimal | None, usage_for_viewers: bool) -> None:
    project.monthly_budget, project.usage_for_viewers = monthly_budget, usage_for_viewers
    project.save(update_fields=["monthly_budget", "usage_for_viewers"])


def set_member_limits(
    *, membership: Membership, daily_limit: Decimal | None, monthly_limit: Decimal | None, jobs_per_minute: int | None
) -> None:
    membership.daily_limit, membership.monthly_limit = daily_limit, monthly_limit
    membership.jobs_per_minute = jobs_per_minute
    membership.save(update_fields=["daily_limit", "monthly_limit", "jobs_per_minute"])
