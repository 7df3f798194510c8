"""Access helpers: every lookup is scoped by membership and answers 404 otherwise, so an
outsider cannot even learn that an object exists."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Generation, Membership, Project, Role, Track


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
