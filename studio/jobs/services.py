"""Starting and steering jobs: what the generate form, retry, resubmit and cancel ask for. Every
start goes through rules.check_start, in the transaction that creates the job."""

from django.db import transaction

from studio import rules
from studio.catalog import BY_KEY, CatalogModel
from studio.errors import Refused
from studio.jobs import routing
from studio.jobs.actors import submit_generation
from studio.jobs.transitions import log_move, move
from studio.models import Generation, Project


def start_generation(*, project: Project, user, model: CatalogModel, params: dict, **facts) -> Generation:
    """A new job, once the rules allow it (rules.check_start, in the same transaction). `facts`:
    further fields of the job (its set cell, the gateway asked for, the job it follows)."""
    with transaction.atomic():
        rules.check_start(user=user, project_id=project.pk, requests=[rules.StartRequest(model.key, params)])
        gen = Generation.objects.create(project=project, created_by=user, model_key=model.key, params=params, **facts)
        gen.transitions.create(from_state="", to_state=gen.state, reason="submitted from the studio")
        log_move(gen.pk, "", gen.state, model_key=model.key, external_id="", reason="submitted from the studio")
        # The worker must see the committed row.
        transaction.on_commit(lambda: submit_generation.send(gen.pk, gen.submit_turn))
    return gen


def cancel_generation(*, generation: Generation) -> bool:
    """Stop following a pending job. The provider may still finish (and charge for) it."""
    return move(generation.pk, Generation.State.CANCELLED, reason="cancelled by the user")


def retry_generation(*, generation: Generation, user) -> Generation:
    """A new generation with the same model and parameters (the old one stays as it ended)."""
    model = BY_KEY.get(generation.model_key)
    if model is None:
        raise Refused("That model is not offered any more: choose another one.", rule="model")
    return start_generation(
        project=generation.project, user=user, model=model, params=generation.params, **set_cell(generation)
    )


def set_cell(generation: Generation) -> dict:
    """The set cell a job fills, for a job that takes its place (a retry fills the same cell)."""
    fields = ("generation_set_id", "set_row", "set_column")
    return {name: getattr(generation, name) for name in fields} if generation.generation_set_id else {}


def try_next_gateway(*, generation: Generation, user) -> Generation:
    """A routed job its gateway accepted and then failed, started again on the next gateway of
    the project's order, linked to the first. Never automatic: the first may have been billed."""
    gateway = routing.next_gateway(generation)
    if gateway is None:
        raise Refused("There is no other gateway to try this on.", rule="gateway")
    return start_generation(
        project=generation.project, user=user, model=BY_KEY[generation.model_key], params=generation.params,
        gateway=gateway, gateway_reason=routing.ASKED, follows=generation, **set_cell(generation),
    )  # fmt: skip


def resubmit_generation(*, generation: Generation, user) -> bool:
    """The user accepts the risk of a second charge for a job whose submit outcome is unknown."""
    with transaction.atomic():
        request = rules.StartRequest(generation.model_key, generation.params)
        rules.check_start(user=user, project_id=generation.project_id, requests=[request])
        moved = move(
            generation.pk,
            Generation.State.QUEUED,
            reason="resubmitted by the user",
            only_from=(Generation.State.NEEDS_ATTENTION,),
            external_id="",
            error_kind="",
            error="",
        )
        if moved:
            turn = Generation.objects.values_list("submit_turn", flat=True).get(pk=generation.pk)
            transaction.on_commit(lambda: submit_generation.send(generation.pk, turn))
    return moved
