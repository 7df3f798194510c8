"""Access helpers: every lookup is scoped by membership and answers 404 otherwise, so an
outsider cannot even learn that an object exists."""

import re

from django.http import Http404
from django.shortcuts import get_object_or_404

from studio.http import parse_ids
from studio.models import (
    ROLE_RANK,
    Generation,
    GenerationSet,
    Invitation,
    Membership,
    Project,
    Role,
    ShareLink,
    Track,
    invitation_token_hash,
)


def get_membership(user, project_id: int, role: str = Role.VIEWER) -> Membership:
    membership = (
        Membership.objects.select_related("project")
        .filter(project_id=project_id, user=user)
        .first()
    )
    if membership is None or not membership.allows(role):
        raise Http404("No such project")
    return membership


def get_project_for_user(user, project_id: int, role: str = Role.VIEWER) -> Project:
    return get_membership(user, project_id, role).project


def get_generation_for_user(user, generation_id: int, role: str = Role.VIEWER) -> Generation:
    gen = get_object_or_404(Generation.objects.select_related("project"), pk=generation_id)
    get_membership(user, gen.project_id, role)
    return gen


def get_track_for_user(user, track_id: int, role: str = Role.VIEWER) -> Track:
    track = get_object_or_404(Track, pk=track_id)
    get_membership(user, track.project_id, role)
    return track


def get_track_with_membership(user, track_id: int, role: str = Role.VIEWER) -> tuple[Track, Membership]:
    """The track and the user's membership of its project (for pages that show what the role allows)."""
    track = get_object_or_404(Track.objects.select_related("generation__created_by", "project"), pk=track_id)
    return track, get_membership(user, track.project_id, role)


def projects_for_user(user, role: str = Role.VIEWER):
    """Every project where the user holds `role` or better."""
    roles = [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]
    return Project.objects.filter(memberships__user=user, memberships__role__in=roles)


def tracks_for_user(user, project_id: int, track_ids, role: str = Role.VIEWER):
    """The tracks among `track_ids` that are in the project, once the user's role there is checked."""
    get_membership(user, project_id, role)
    return Track.objects.filter(project_id=project_id, pk__in=parse_ids(track_ids))


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what secrets.token_urlsafe gives, as long as the column


def is_token_shaped(token: str) -> bool:
    return bool(_TOKEN.fullmatch(token))


def get_live_share_link(token: str) -> ShareLink:
    """A link that exists, is not revoked and has not expired; otherwise 404, saying nothing of which."""
    if not is_token_shaped(token):  # what no link could be (a NUL byte would even fail the query)
        raise Http404("No such link")
    link = ShareLink.objects.select_related("project", "track").filter(token=token).first()
    if link is None or not link.is_live():
        raise Http404("No such link")
    return link


def get_live_invitation(token: str) -> Invitation:
    """An invitation that is neither used, revoked nor expired; otherwise 404, saying nothing of which."""
    invitation = (
        Invitation.objects.select_related("project", "invited_by")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )
    if invitation is None or not invitation.is_live():
        raise Http404("No such invitation")
    return invitation


def get_set_for_user(user, set_id: int, role: str = Role.VIEWER) -> GenerationSet:
    generation_set = get_object_or_404(GenerationSet.objects.select_related("project", "created_by"), pk=set_id)
    get_membership(user, generation_set.project_id, role)
    return generation_set


def projects_for_provider_page(user):
    """The Providers page is for staff and project owners (404 for anyone else): the projects the
    user owns, whose gateway order they may set there."""
    owned = projects_for_user(user, Role.OWNER).order_by("name")
    if not user.is_staff and not owned.exists():
        raise Http404("No such page")
    return owned
