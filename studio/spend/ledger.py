"""The ledger: what each job costs, on its row, and the per-day totals kept with every change.

A job's cost is recorded as its provider reported it (`cost`, `cost_unit`) and in the studio's
currency (`spend`, with `spend_basis` saying how it is known):

- when it starts: the model's set price, or an estimate (estimates.py), or unknown;
- when the provider reports it: the report at the configured rate (a missing rate leaves the
  figure as it was; the report itself is kept);
- when the provider never took it (refused at submit, cancelled before it was sent): nothing;
- otherwise the estimate stands, marked as one.

Every job also counts in its project's DailySpend row for the day it started, its member and its
model (jobs, failed, unknown, reported and estimated amounts, seconds of audio). The row changes
in the same transaction as the job: when it is created (signals.py), when a state change carries a
report or ends it (settle, called by jobs/transitions.move) and when a track is saved. `rebuild`
recomputes the rows from the jobs themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from providers.base import Cost
from studio.errors import ErrorKind
from studio.models import (
    DailySpend,
    Generation,
    GenerationState,
    SpendBasis,
    Transition,
)
from studio.prepared_statements import prepared_cursor
from studio.spend import budgets, estimates, notices, rates

S = GenerationState
ZERO = Decimal(0)
FIRM = (SpendBasis.REPORTED, SpendBasis.PRICE, SpendBasis.NOT_CHARGED)
# Answers that say the provider did not take the job.
REFUSALS = (ErrorKind.INVALID, ErrorKind.AUTH, ErrorKind.CREDIT, ErrorKind.RATE_LIMITED)


@dataclass(frozen=True)
class Share:
    """What one job adds to its day's totals (or, as a difference, what a change adds)."""

    jobs: int = 0
    failed: int = 0
    unknown: int = 0
    reported: Decimal = ZERO
    estimated: Decimal = ZERO
    failed_spend: Decimal = ZERO

    def __sub__(self, other: Share) -> Share:
        return Share(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})

    def __add__(self, other: Share) -> Share:
        return Share(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def nonzero(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def share_of(*, failed: bool, spend: Decimal | None, basis: str) -> Share:
    known = spend is not None
    return Share(
        jobs=1,
        failed=int(failed),
        unknown=int(not known),
        reported=spend if known and basis in FIRM else ZERO,
        estimated=spend if known and basis == SpendBasis.ESTIMATE else ZERO,
        failed_spend=spend if known and failed else ZERO,
    )


# --- A job starts ----------------------------------------------------------------------


def opening(model_key: str, params: dict) -> dict:
    """The ledger's fields for a job about to start: its set price, its estimate, or unknown."""
    estimate = estimates.job_estimate(model_key, params)
    return {"spend": estimate.amount, "spend_basis": estimate.basis}


def record_start(gen: Generation) -> None:
    """A new job counts in its day's totals (signals.py: whichever path created it)."""
    record_starts([gen])


def record_starts(jobs) -> None:
    """New jobs count in their day's totals, summed per day, member and model first: a path that
    bulk-creates jobs (a set: bulk_create sends no signals) changes a few rows, not one per job."""
    totals: dict[tuple, Share] = {}
    for gen in jobs:
        key = (gen.project_id, gen.created_at, gen.created_by_id, gen.model_key)
        share = share_of(failed=gen.state == S.FAILED, spend=gen.spend, basis=gen.spend_basis)
        totals[key] = totals[key] + share if key in totals else share
    for (project_id, created_at, member_id, model_key), share in totals.items():
        _add(project_id, created_at, member_id, model_key, share.nonzero())


# --- A job changes ---------------------------------------------------------------------


@dataclass
class Settlement:
    """A state change's effect on the ledger, worked out before the change is written (its
    fields join the update) and recorded once it is."""

    gen: Generation
    change: Share
    learnt: Decimal | None = None  # a reported cost to learn estimates from

    def record(self) -> None:
        gen = self.gen
        _add(gen.project_id, gen.created_at, gen.created_by_id, gen.model_key, self.change.nonzero())
        if self.learnt is not None:
            estimates.learn(gen.model_key, gen.params, self.learnt)
        if self.change.reported + self.change.estimated > 0:
            notices.check_project(gen.project, timezone.now())


def settle(generation_id: int, *, from_state: str, to: str, fields: dict) -> Settlement | None:
    """For a move of a locked job (jobs/transitions.move): turn a reported `cost` (a Cost) into the
    ledger's fields, price a job the provider never took at nothing, and say what its day's totals
    gain. None when the move changes nothing the ledger keeps."""
    if "cost" not in fields and to not in (S.FAILED, S.CANCELLED):
        return None
    gen = (
        Generation.objects.select_related("project")
        .only(
            "pk", "project_id", "created_by_id", "created_at", "model_key", "gateway", "params", "external_id", "attempt",
            "state", "spend", "spend_basis", "project__name", "project__owner_id", "project__monthly_budget",
        )
        .get(pk=generation_id)
    )
    spend, basis, learnt = gen.spend, gen.spend_basis, None
    report = fields.pop("cost", None)
    if report is not None:
        if not isinstance(report, Cost):
            raise TypeError(f"a reported cost is a providers.base.Cost, not {type(report).__name__}")
        fields.update(cost=report.amount, cost_unit=report.unit.value)
        converted = rates.converted(gen.provider, report) if gen.provider else None
        if converted is not None:
            spend, basis, learnt = converted, SpendBasis.REPORTED, converted
    elif to in (S.FAILED, S.CANCELLED) and _never_taken(gen, from_state, to, fields):
        spend, basis = ZERO, SpendBasis.NOT_CHARGED
    if (spend, basis) != (gen.spend, gen.spend_basis):
        fields.update(spend=spend, spend_basis=basis)
    before = share_of(failed=gen.state == S.FAILED, spend=gen.spend, basis=gen.spend_basis)
    after = share_of(failed=to == S.FAILED, spend=spend, basis=basis)
    return Settlement(gen, after - before, learnt)


def _never_taken(gen: Generation, from_state: str, to: str, fields: dict) -> bool:
    """The provider cannot have charged: a job cancelled before it was ever sent, or one the
    provider answered with a refusal when it was sent (never one whose answer was unclear: a
    timeout, an outage, a job that once needed attention, audio that arrived but was not stored)."""
    if gen.external_id or fields.get("external_id"):
        return False
    if to == S.CANCELLED:
        return from_state == S.QUEUED and gen.attempt == 0
    if from_state != S.SUBMITTING or fields.get("error_kind") not in REFUSALS:
        return False
    return not Transition.objects.filter(generation=gen, to_state=S.NEEDS_ATTENTION).exists()


# A saved track's seconds, added to its job and its day's row in one statement on PostgreSQL (every
# track of every job passes here; through the ORM the two updates cost more than the rest of the save).
_AUDIO_SQL = """
WITH job AS (
    UPDATE studio_generation SET audio_seconds = audio_seconds + %(seconds)s WHERE id = %(job)s RETURNING id
)
UPDATE studio_dailyspend SET audio_seconds = audio_seconds + %(seconds)s
WHERE project_id = %(project)s AND day = %(day)s AND member_id IS NOT DISTINCT FROM %(member)s
  AND model_key = %(model)s
"""


def add_audio(gen: Generation, seconds: float) -> None:
    """A track was saved: its seconds count for the job and its day."""
    if not seconds or seconds <= 0:
        return
    if connection.vendor == "postgresql":
        params = {
            "seconds": seconds, "job": gen.pk, "project": gen.project_id, "day": budgets.today(gen.created_at),
            "member": gen.created_by_id, "model": gen.model_key,
        }  # fmt: skip
        with prepared_cursor(connection) as cursor:
            cursor.execute(_AUDIO_SQL, params)
            if cursor.rowcount:
                return
        _add_row(gen.project_id, gen.created_at, gen.created_by_id, gen.model_key, {"audio_seconds": seconds})
        return
    Generation.objects.filter(pk=gen.pk).update(audio_seconds=F("audio_seconds") + seconds)
    _add(gen.project_id, gen.created_at, gen.created_by_id, gen.model_key, {"audio_seconds": seconds})


# --- The day's totals ------------------------------------------------------------------


def _add(project_id: int, started_at: datetime, member_id: int | None, model_key: str, amounts: dict) -> None:
    """Add `amounts` to the day's row for the job, creating the row for the day's first job."""
    if not amounts:
        return
    key = {"project_id": project_id, "day": budgets.today(started_at), "member_id": member_id, "model_key": model_key}
    increments = {name: F(name) + value for name, value in amounts.items()}
    if DailySpend.objects.filter(**key).update(**increments):
        return
    _add_row(project_id, started_at, member_id, model_key, amounts)


def _add_row(project_id: int, started_at: datetime, member_id: int | None, model_key: str, amounts: dict) -> None:
    """The day's first job for the row's key: create the row with `amounts` (or add them to the
    row another transaction created first)."""
    key = {"project_id": project_id, "day": budgets.today(started_at), "member_id": member_id, "model_key": model_key}
    increments = {name: F(name) + value for name, value in amounts.items()}
    try:
        with transaction.atomic():  # a savepoint: another transaction may create the row first
            DailySpend.objects.create(**key, **amounts)
    except IntegrityError:
        DailySpend.objects.filter(**key).update(**increments)


def rebuild(project_ids=None) -> int:
    """Recompute the per-day totals from the jobs (all projects, or these); answer the rows made.
    For a fresh deployment's data, a benchmark's seed, or after re-pricing (spend_rebuild)."""
    jobs = Generation.objects.all() if project_ids is None else Generation.objects.filter(project_id__in=project_ids)
    known = Q(spend__isnull=False)
    groups = (
        jobs.order_by()
        .annotate(day=TruncDate("created_at"))
        .values("project_id", "day", "created_by_id", "model_key")
        .annotate(
            n_jobs=Count("pk"),
            n_failed=Count("pk", filter=Q(state=S.FAILED)),
            n_unknown=Count("pk", filter=~known),
            sum_reported=Coalesce(Sum("spend", filter=known & Q(spend_basis__in=FIRM)), ZERO),
            sum_estimated=Coalesce(Sum("spend", filter=known & Q(spend_basis=SpendBasis.ESTIMATE)), ZERO),
            sum_failed=Coalesce(Sum("spend", filter=known & Q(state=S.FAILED)), ZERO),
            seconds=Coalesce(Sum("audio_seconds"), 0.0),
        )
    )
    rows = [
        DailySpend(
            project_id=g["project_id"], day=g["day"], member_id=g["created_by_id"], model_key=g["model_key"],
            jobs=g["n_jobs"], failed=g["n_failed"], unknown=g["n_unknown"], reported=g["sum_reported"],
            estimated=g["sum_estimated"], failed_spend=g["sum_failed"], audio_seconds=g["seconds"],
        )
        for g in groups.iterator(chunk_size=2000)
    ]  # fmt: skip
    with transaction.atomic():
        stale = DailySpend.objects.all() if project_ids is None else DailySpend.objects.filter(project_id__in=project_ids)
        stale.delete()
        DailySpend.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def reprice(project_ids=None) -> int:
    """Price every reported cost again at the rates configured now; answer the jobs re-priced.
    Their day's totals are left to `rebuild`."""
    jobs = Generation.objects.filter(cost__isnull=False).exclude(cost_unit="")
    if project_ids is not None:
        jobs = jobs.filter(project_id__in=project_ids)
    changed = []
    for gen in jobs.only("pk", "model_key", "gateway", "cost", "cost_unit", "spend", "spend_basis").iterator(chunk_size=2000):
        converted = rates.converted(gen.provider, Cost(gen.cost, gen.cost_unit)) if gen.provider else None
        if converted is not None and (converted, SpendBasis.REPORTED) != (gen.spend, gen.spend_basis):
            gen.spend, gen.spend_basis = converted, SpendBasis.REPORTED
            changed.append(gen)
    Generation.objects.bulk_update(changed, ["spend", "spend_basis"], batch_size=2000)
    return len(changed)
