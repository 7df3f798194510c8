"""Starting and steering sets. A set's jobs start in one transaction: the rules count them all at
once (rules.check_start, one StartRequest per job), the rows are bulk-created, and the messages
go out after the commit; the jobs then wait their turn at each provider like any other."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studio import rules
from studio.errors import Refused
from studio.jobs.actors import submit_generation
from studio.jobs.cards import Card
from studio.jobs.services import cancel_generation
from studio.jobs.transitions import log_move
from studio.models import Generation, GenerationSet, Project, Transition
from studio.spend import ledger
from studio.sets.csv_rows import Row
from studio.sets.planning import PlannedJob

S = Generation.State


def start_set(*, project: Project, user, models: list, rows: list[Row], jobs: list[PlannedJob]) -> GenerationSet:
    """The set and all its jobs, or none of them (Refused, in plain words)."""
    with transaction.atomic():
        _check(user, project, [(job.model.key, job.params) for job in jobs])
        generation_set = GenerationSet.objects.create(
            project=project,
            created_by=user,
            model_keys=[model.key for model in models],
            rows=[{"prompt": row.prompt, "title": row.title} for row in rows],
        )
        cells = [(job.row, job.column, job.model.key, job.params) for job in jobs]
        _create_jobs(generation_set, user, cells, reason="submitted in a set")
    return generation_set


def retry_failed(*, generation_set: GenerationSet, user) -> int:
    """Each cell whose job failed (for a reason a retry can mend) gets a new job, all at once. The
    set's row is locked while its failed cells are read: two clicks at once retry them once."""
    with transaction.atomic():
        GenerationSet.objects.select_for_update().filter(pk=generation_set.pk).exists()
        failed = [gen for gen in latest_jobs(generation_set).values() if gen.state == S.FAILED and Card(gen).can_retry]
        if not failed:
            return 0
        _check(user, generation_set.project, [(gen.model_key, gen.params) for gen in failed])
        cells = [(gen.set_row, gen.set_column, gen.model_key, gen.params) for gen in failed]
        _create_jobs(generation_set, user, cells, reason="retried with the set")
    return len(failed)


def cancel_pending(*, generation_set: GenerationSet) -> int:
    """Stop following every pending job of the set (providers may still charge for those they started)."""
    return sum(cancel_generation(generation=gen) for gen in latest_jobs(generation_set).values() if gen.is_pending)


def pick(*, generation_set: GenerationSet, generation: Generation, user) -> bool:
    """Make `generation` its row's pick (or, if it was, pick none); answers whether it is picked now."""
    rules.check_tracks(user=user, project_ids=[generation_set.project_id])
    with transaction.atomic():
        row = Generation.objects.filter(generation_set=generation_set, set_row=generation.set_row)
        picked = not Generation.objects.filter(pk=generation.pk, picked=True).exists()
        row.filter(picked=True).update(picked=False)
        if picked:
            row.filter(pk=generation.pk).update(picked=True)
    return picked


def latest_jobs(generation_set: GenerationSet) -> dict[tuple[int, int], Generation]:
    """(row, column) → the cell's latest job (a retry takes its cell's place)."""
    latest = {}
    jobs = Generation.objects.filter(generation_set=generation_set).select_related("created_by", "project")
    for gen in jobs.order_by("created_at", "pk"):
        latest[(gen.set_row, gen.set_column)] = gen
    return latest


def _check(user, project: Project, jobs: Iterable[tuple[str, dict]]) -> None:
    requests = [rules.StartRequest(model_key, params) for model_key, params in jobs]
    if not requests:
        raise Refused("A set needs at least one job.", rule="set")
    if len(requests) > settings.MAX_SET_JOBS:  # the form says so first; every path holds to it here
        raise Refused(f"A set holds at most {settings.MAX_SET_JOBS} jobs, not {len(requests)}.", rule="set")
    rules.check_start(user=user, project_id=project.pk, requests=requests)


def _create_jobs(generation_set: GenerationSet, user, cells: list[tuple[int, int, str, dict]], *, reason: str) -> None:
    """Bulk-create the jobs (and their first transition); send them once the transaction commits."""
    now = timezone.now()
    jobs = Generation.objects.bulk_create(
        Generation(
            project_id=generation_set.project_id, created_by=user, model_key=model_key, params=params,
            generation_set=generation_set, set_row=row, set_column=column, created_at=now, updated_at=now,
            **ledger.opening(model_key, params),
        )  # fmt: skip
        for row, column, model_key, params in cells
    )
    ledger.record_starts(jobs)  # bulk_create sends no signals: the ledger is told here
    Transition.objects.bulk_create(
        Transition(generation=gen, from_state="", to_state=gen.state, reason=reason, at=now) for gen in jobs
    )
    for gen in jobs:
        log_move(gen.pk, "", gen.state, model_key=gen.model_key, external_id="", reason=reason)
    ids = [gen.pk for gen in jobs]
    transaction.on_commit(lambda: [submit_generation.send(pk, 0) for pk in ids])
