"""Budgets and limits: which apply to a member's start, what has been spent against them (read in
one query, from the per-day totals the ledger keeps), and when each resets.

The rules decide (studio/rules.py, inside check_start's transaction and locks); this module
gives them the figures. "Spent" always includes the estimates of jobs still running: a job
counts from the moment it starts, in the day it started. Days and months are those of TIME_ZONE
(UTC by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from studio.models import DailySpend, Generation, Membership, Project

RATE_WINDOW = timedelta(minutes=1)  # the jobs-per-minute rate counts starts this far back
ZERO = Decimal(0)


@dataclass(frozen=True)
class Limits:
    """What applies to one member's starts in one project (the owner's setting, else the
    deployment's default; None: no limit)."""

    project_monthly: Decimal | None = None
    member_daily: Decimal | None = None
    member_monthly: Decimal | None = None
    jobs_per_minute: int | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.project_monthly, self.member_daily, self.member_monthly, self.jobs_per_minute))


def project_budget(project: Project) -> Decimal | None:
    return project.monthly_budget if project.monthly_budget is not None else settings.SPEND_PROJECT_MONTHLY_BUDGET


def limits_for(project: Project, membership: Membership) -> Limits:
    return Limits(
        project_monthly=project_budget(project),
        member_daily=_or_default(membership.daily_limit, settings.SPEND_MEMBER_DAILY_LIMIT),
        member_monthly=_or_default(membership.monthly_limit, settings.SPEND_MEMBER_MONTHLY_LIMIT),
        jobs_per_minute=_or_default(membership.jobs_per_minute, settings.SPEND_MEMBER_JOBS_PER_MINUTE),
    )


def _or_default(value, default):
    return value if value is not None else default


# --- Periods ---------------------------------------------------------------------------


def today(now: datetime) -> date:
    return timezone.localdate(now)


def month_start(now: datetime) -> date:
    return today(now).replace(day=1)


def following_month(month: date) -> date:
    return (month.replace(day=1) + timedelta(days=32)).replace(day=1)


def next_day(now: datetime) -> datetime:
    """When today's limits reset: the coming midnight."""
    return midnight(today(now) + timedelta(days=1))


def next_month(now: datetime) -> datetime:
    """When this month's budget and limits reset: midnight on the first of the next month."""
    return midnight(following_month(month_start(now)))


def midnight(day: date) -> datetime:
    """The moment `day` begins, in TIME_ZONE."""
    return timezone.make_aware(datetime(day.year, day.month, day.day))


# --- What has been spent -----------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    """What one member's start is measured against, as it stands now."""

    project_month: Decimal = ZERO  # the project's jobs this month, running ones at their estimate
    member_month: Decimal = ZERO  # the member's in this project this month
    member_day: Decimal = ZERO  # ... and today
    recent_starts: int = 0  # the member's jobs started here within the rate window
    oldest_recent_start: datetime | None = None


# Four sums and the member's recent starts, in one statement, each an index lookup whatever the
# number of jobs. Written out rather than built with the ORM: this runs inside every start, and
# compiling five nested subqueries costs the ORM several times what the database takes to answer.
STANDING_SQL = """
SELECT
  COALESCE((SELECT SUM(reported + estimated) FROM {spend} WHERE project_id = %s AND day >= %s), 0),
  COALESCE((SELECT SUM(reported + estimated) FROM {spend} WHERE project_id = %s AND day >= %s AND member_id = %s), 0),
  COALESCE((SELECT SUM(reported + estimated) FROM {spend} WHERE project_id = %s AND day = %s AND member_id = %s), 0),
  (SELECT COUNT(*) FROM {jobs} WHERE project_id = %s AND created_by_id = %s AND created_at > %s),
  (SELECT MIN(created_at) FROM {jobs} WHERE project_id = %s AND created_by_id = %s AND created_at > %s)
""".format(spend=DailySpend._meta.db_table, jobs=Generation._meta.db_table)


def standing(project_id: int, user_id: int, now: datetime) -> Standing:
    """What has been spent in the project this month (and by the member, this month and today),
    and the member's starts within the rate window: one query."""
    ops = connection.ops
    month, day = ops.adapt_datefield_value(month_start(now)), ops.adapt_datefield_value(today(now))
    since = ops.adapt_datetimefield_value(now - RATE_WINDOW)
    params = [
        project_id, month,
        project_id, month, user_id,
        project_id, day, user_id,
        project_id, user_id, since,
        project_id, user_id, since,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(STANDING_SQL, params)
        project_month, member_month, member_day, recent, oldest = cursor.fetchone()
    return Standing(_amount(project_month), _amount(member_month), _amount(member_day), recent or 0, _moment(oldest))


def _amount(value) -> Decimal:
    """A sum as the database answers it (SQLite: a float) in the ledger's places."""
    return Decimal(str(value or 0)).quantize(Decimal("0.000001"))


def _moment(value) -> datetime | None:
    if isinstance(value, str):  # SQLite answers text
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def spent_this_month(project_id: int, now: datetime) -> Decimal:
    """The project's jobs this month, running ones at their estimate."""
    rows = DailySpend.objects.filter(project_id=project_id, day__gte=month_start(now))
    return rows.aggregate(total=Sum(F("reported") + F("estimated")))["total"] or ZERO


@dataclass(frozen=True)
class Headroom:
    """One spend limit as it stands for a member: how much of it is used and when it resets."""

    rule: str  # the Refused rule: "budget", "member_monthly", "member_daily"
    name: str  # "the project's monthly budget", ...
    limit: Decimal
    used: Decimal
    resets_at: datetime

    @property
    def left(self) -> Decimal:
        return max(self.limit - self.used, ZERO)

    def refuses(self, cost) -> bool:
        """Whether this limit stops jobs costing `cost` (an estimates.Estimate): more than is left,
        or a cost unknown once nothing is left. The start's check and the form's estimate both ask."""
        return cost.total > self.left or (cost.unknown and self.left <= 0)

    @property
    def warn_at(self) -> Decimal:
        """Where a gauge of it turns to a warning: the first notice's threshold."""
        return self.limit * Decimal("0.8")

    @property
    def percent_used(self) -> int:
        return 100 if not self.limit else min(999, int(self.used * 100 / self.limit))


def headrooms(limits: Limits, now_standing: Standing, now: datetime) -> list[Headroom]:
    """Every spend limit that applies, tightest first."""
    found = []
    if limits.project_monthly is not None:
        found.append(Headroom("budget", "the project's monthly budget", limits.project_monthly, now_standing.project_month, next_month(now)))
    if limits.member_monthly is not None:
        found.append(Headroom("member_monthly", "your monthly limit in this project", limits.member_monthly, now_standing.member_month, next_month(now)))
    if limits.member_daily is not None:
        found.append(Headroom("member_daily", "your daily limit in this project", limits.member_daily, now_standing.member_day, next_day(now)))
    return sorted(found, key=lambda h: h.left)


def rate_resets_at(now_standing: Standing, now: datetime) -> datetime:
    """When the oldest start in the rate window leaves it."""
    return (now_standing.oldest_recent_start or now) + RATE_WINDOW
