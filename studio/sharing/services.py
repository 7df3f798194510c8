"""Share links: made, revoked and counted."""

from datetime import datetime

from django.db.models import F
from django.utils import timezone

from studio.errors import Refused
from studio.models import Project, ShareLink, Track


def create_share_link(
    *, project: Project, user, track: Track | None = None, expires_at: datetime | None = None, allow_download: bool
) -> ShareLink:
    if track is not None and track.project_id != project.pk:
        raise Refused("That track is not in this project.")
    return ShareLink.objects.create(
        project=project, track=track, created_by=user, expires_at=expires_at, allow_download=allow_download
    )


def revoke_share_link(*, link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def revoke_links_made_by(*, project_id: int, user_id: int) -> int:
    """Revoke every live link the user made in the project; answers how many."""
    return ShareLink.objects.filter(project_id=project_id, created_by_id=user_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def live_links(project: Project):
    """The project's links that still open, with who made them."""
    now = timezone.now()
    return (
        project.share_links.filter(revoked_at__isnull=True)
        .exclude(expires_at__lte=now)
        .select_related("track", "created_by")
    )


def count_share_use(*, link: ShareLink, download: bool) -> None:
    field = "downloads" if download else "plays"
    ShareLink.objects.filter(pk=link.pk).update(**{field: F(field) + 1})
