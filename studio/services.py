"""What the views ask for: small functions with keyword-only arguments."""

from django.db import transaction

from .catalog import CatalogModel
from .models import Generation, Membership, Project, Role
from .transitions import log_move


@transaction.atomic
def create_project(*, owner, name: str, description: str = "") -> Project:
    project = Project.objects.create(owner=owner, name=name, description=description)
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    return project


def start_generation(*, project: Project, user, model: CatalogModel, params: dict) -> Generation:
    from .actors import submit_generation

    with transaction.atomic():
        gen = Generation.objects.create(project=project, created_by=user, model_key=model.key, params=params)
        gen.transitions.create(from_state="", to_state=gen.state, reason="submitted from the studio")
        log_move(gen.pk, "", gen.state, model_key=model.key, external_id="", reason="submitted from the studio")
        # The worker must see the committed row.
        transaction.on_commit(lambda: submit_generation.send(gen.pk))
    return gen


class LimitReached(Exception):
    pass


def check_pending_limit(*, user) -> None:
    from django.conf import settings

    pending = Generation.objects.filter(created_by=user, state__in=Generation.PENDING_STATES).count()
    if pending >= settings.MAX_PENDING_PER_USER:
        raise LimitReached(
            f"You have {pending} jobs in progress, the most one person may run at once. "
            "Generate again when one of them finishes."
        )


def cancel_generation(*, generation: Generation) -> bool:
    """Stop following a pending job. The provider may still finish (and charge for) it."""
    from .catalog import BY_KEY
    from .provider_clients import get_adapter
    from .transitions import move

    label = get_adapter(BY_KEY[generation.model_key].provider).label
    started = bool(generation.external_id) or generation.state == Generation.State.SUBMITTING
    note = f"{label} may still charge for it: it had already accepted the job." if started else "Nothing was sent."
    return move(generation.pk, Generation.State.CANCELLED, reason="cancelled by the user", status_detail=f"Cancelled. {note}")


def retry_generation(*, generation: Generation, user) -> Generation:
    """A new generation with the same model and parameters (the old one stays as it ended)."""
    from .catalog import get_model

    model = get_model(generation.model_key)
    if model is None:
        raise LimitReached("This model is no longer offered.")
    check_pending_limit(user=user)
    return start_generation(project=generation.project, user=user, model=model, params=generation.params)


def resubmit_generation(*, generation: Generation) -> bool:
    """The user accepts the risk of a second charge for a job whose submit outcome is unknown."""
    from .actors import submit_generation
    from .transitions import move

    moved = move(
        generation.pk,
        Generation.State.QUEUED,
        reason="resubmitted by the user",
        only_from=(Generation.State.NEEDS_ATTENTION,),
        external_id="",
        status_detail="Resubmitted",
    )
    if moved:
        transaction.on_commit(lambda: submit_generation.send(generation.pk))
    return moved
