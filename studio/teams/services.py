"""Projects and their members: what the home page and a project's settings ask for."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from studio.errors import Refused
from studio.models import Membership, Project, Role
from studio.sharing.services import revoke_links_made_by


@transaction.atomic
def create_project(*, owner, name: str, description: str = "") -> Project:
    project = Project.objects.create(owner=owner, name=name, description=description)
    Membership.objects.create(project=project, user=owner, role=Role.OWNER)
    return project


def update_project(*, project: Project, name: str, description: str) -> Project:
    project.name, project.description = name, description
    project.save(update_fields=["name", "description"])
    return project


def set_archived(*, project: Project, archived: bool) -> None:
    project.archived_at = timezone.now() if archived else None
    project.save(update_fields=["archived_at"])


def delete_project(*, project: Project) -> None:
    project.delete()  # each track's file goes once the deletion commits (signals.py)


def is_email_address(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> int:
    """The member's new role; a member lowered to viewer can no longer share, so the share links
    they made stop working. Answers how many links were revoked."""
    if membership.role == Role.OWNER or role not in (Role.EDITOR, Role.VIEWER):
        raise Refused("The owner's role cannot change; members are editors or viewers.")
    membership.role = role
    membership.save(update_fields=["role"])
    if role == Role.VIEWER:
        return revoke_links_made_by(project_id=membership.project_id, user_id=membership.user_id)
    return 0


@transaction.atomic
def remove_member(*, membership: Membership) -> int:
    """Remove the member and revoke the share links they made in the project (a link made for a
    whole project would otherwise keep serving it to someone who left). Answers how many."""
    if membership.role == Role.OWNER:
        raise Refused("The owner cannot be removed.")
    membership.delete()
    return revoke_links_made_by(project_id=membership.project_id, user_id=membership.user_id)
