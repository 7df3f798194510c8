"""What the usage page shows: a month's jobs, seconds of audio and cost, in all and by member,
provider, model and day (and by project, for staff), read from the per-day totals the ledger
keeps, so a handful of small queries serve a project of any size."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from providers.registry import PROVIDERS
from studio.catalog import BY_KEY
from studio.models import DailySpend
from studio.spend import budgets

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
SUMS = ("jobs", "failed", "unknown", "reported", "estimated", "failed_spend", "audio_seconds")


@dataclass
class Figures:
    """One line of a usage table."""

    label: str = ""
    key: object = None
    jobs: int = 0
    failed: int = 0
    unknown: int = 0  # jobs whose cost is unknown
    reported: Decimal = Decimal(0)  # reported, set prices, nothing charged
    estimated: Decimal = Decimal(0)
    failed_spend: Decimal = Decimal(0)
    audio_seconds: float = 0.0

    @property
    def total(self) -> Decimal:
        return self.reported + self.estimated

    def add(self, other: Figures) -> None:
        for name in SUMS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Usage:
    month: date
    total: Figures
    by_member: list[Figures]
    by_provider: list[Figures]
    by_model: list[Figures]
    by_day: list[Figures]  # every day of the month, quiet ones at zero
    by_project: list[Figures] = field(default_factory=list)  # staff only

    @property
    def next_month(self) -> date:
        return (self.month + timedelta(days=32)).replace(day=1)

    @property
    def previous_month(self) -> date:
        return (self.month - timedelta(days=1)).replace(day=1)


def parse_month(text: str | None) -> date | None:
    """"2026-03" → 1 March 2026; None for anything else (an empty value means this month)."""
    match = MONTH.match(text or "")
    if not match or not 2000 <= int(match[1]) <= 2999 or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


def this_month() -> date:
    return budgets.month_start(timezone.now())


def months_with_jobs(project_ids: list[int] | None) -> list[date]:
    rows = _rows(project_ids)
    return list(rows.dates("day", "month", order="DESC"))


def usage(project_ids: list[int] | None, month: date) -> Usage:
    """The month's figures for these projects (None: every project)."""
    end = (month + timedelta(days=32)).replace(day=1)
    rows = _rows(project_ids).filter(day__gte=month, day__lt=end)
    totals = {name: Sum(name) for name in SUMS}
    total = _figures(rows.aggregate(**totals), label="All jobs")
    by_member = [
        _figures(row, label=row["member__username"] or ("a former member" if row["member_id"] else "no one"), key=row["member_id"])
        for row in rows.values("member_id", "member__username").annotate(**totals).order_by("member__username")
    ]
    by_model = [
        _figures(row, label=BY_KEY[row["model_key"]].label if row["model_key"] in BY_KEY else row["model_key"], key=row["model_key"])
        for row in rows.values("model_key").annotate(**totals).order_by("model_key")
    ]
    days = {row["day"]: _figures(row, key=row["day"]) for row in rows.values("day").annotate(**totals).order_by("day")}
    by_day = [days.get(day) or Figures(key=day) for day in _days(month, end)]
    by_project = []
    if project_ids is None or len(project_ids) > 1:
        by_project = [
            _figures(row, label=row["project__name"], key=row["project_id"])
            for row in rows.values("project_id", "project__name").annotate(**totals).order_by("project__name")
        ]
    return Usage(month, total, by_member, _by_provider(by_model), by_model, by_day, by_project)


def _rows(project_ids):
    rows = DailySpend.objects.order_by()
    return rows if project_ids is None else rows.filter(project_id__in=project_ids)


def _figures(row: dict, *, label: str = "", key=None) -> Figures:
    values = {name: row.get(name) for name in SUMS if row.get(name) is not None}
    return Figures(label=label, key=key, **values)


def _by_provider(by_model: list[Figures]) -> list[Figures]:
    grouped: dict[str, Figures] = defaultdict(Figures)
    for figures in by_model:
        model = BY_KEY.get(figures.key)
        # A routed model's jobs went through several gateways: they stand together, as routed.
        key = (model.provider or "any gateway") if model else ""
        grouped[key].add(figures)
        grouped[key].label = PROVIDERS[key].label if key in PROVIDERS else (key or "models no longer offered")
        grouped[key].key = key
    return sorted(grouped.values(), key=lambda f: f.label)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days)]


