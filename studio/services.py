"""What the views ask for: small functions with keyword-only arguments."""

from django.db import transaction

from .catalog import CatalogModel
from .models import Generation, Membership, Project, Role


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
        # The worker must see the committed row.
        transaction.on_commit(lambda: submit_generation.send(gen.pk))
    return gen
