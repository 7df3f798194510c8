"""Projects and their members: what the home page and a project's settings ask for."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from studio.errors import Refused
from studio.models import Membership, Project, Role


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


def accounts_named(who: str):
    """Active accounts whose username or e-mail address is `who` (any case)."""
    who = who.strip()
    return get_user_model().objects.filter(Q(username__iexact=who) | Q(email__iexact=who), is_active=True)


def add_member(*, project: Project, who: str, role: str) -> Membership:
    """Add an existing account, named by username or e-mail address."""
    who = who.strip()
    if role not in (Role.EDITOR, Role.VIEWER):
        raise Refused("Choose editor or viewer.")
    matches = list(accounts_named(who)[:2]) if who else []
    if len(matches) != 1:
        if "@" in who and not matches and not is_email_address(who):
            raise Refused(f"No account has the username “{who}”, and it is not a valid e-mail address to invite.")
        raise Refused(f"No single account has the username or e-mail address “{who}”.")
    user = matches[0]
    if project.memberships.filter(user=user).exists():
        raise Refused(f"{user.get_username()} is already a member.")
    return Membership.objects.create(project=project, user=user, role=role)


def change_role(*, membership: Membership, role: str) -> None:
    if membership.role == Role.OWNER or role not in (Role.EDITOR, Role.VIEWER):
        raise Refused("The owner's role cannot change; members are editors or viewers.")
    membership.role = role
    membership.save(update_fields=["role"])


def remove_member(*, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        raise Refused("The owner cannot be removed.")
    membership.delete()
