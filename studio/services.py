"""What the views ask for: small functions with keyword-only arguments."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from providers import registry

from .catalog import CatalogModel
from .models import Generation, Membership, Project, Role, ShareLink, Tag, Track
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
    from .transitions import move

    label = registry.label(BY_KEY[generation.model_key].provider)
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


# --- Projects and members ---------------------------------------------------------


class NotAllowed(Exception):
    """A request the user may make but that cannot be done, in words for the page."""


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
        raise NotAllowed("Choose editor or viewer.")
    matches = list(accounts_named(who)[:2]) if who else []
    if len(matches) != 1:
        if "@" in who and not matches and not is_email_address(who):
            raise NotAllowed(f"No account has the username “{who}”, and it is not a valid e-mail address to invite.")
        raise NotAllowed(f"No single account has the username or e-mail address “{who}”.")
    user = matches[0]
    if project.memberships.filter(user=user).exists():
        raise NotAllowed(f"{user.get_username()} is already a member.")
    return Membership.objects.create(project=project, user=user, role=role)


def change_role(*, membership: Membership, role: str) -> None:
    if membership.role == Role.OWNER or role not in (Role.EDITOR, Role.VIEWER):
        raise NotAllowed("The owner's role cannot change; members are editors or viewers.")
    membership.role = role
    membership.save(update_fields=["role"])


def remove_member(*, membership: Membership) -> None:
    if membership.role == Role.OWNER:
        raise NotAllowed("The owner cannot be removed.")
    membership.delete()


# --- Tracks -----------------------------------------------------------------------


def rename_track(*, track: Track, title: str) -> None:
    track.title = title
    track.save(update_fields=["title"])


def set_favorite(*, tracks, favorite: bool) -> int:
    return Track.objects.filter(pk__in=[t.pk for t in tracks]).update(favorite=favorite)


def parse_tags(text: str) -> list[str]:
    """"drums, Intro , drums" → ["drums", "Intro"]: trimmed, de-duplicated, at most 40 characters each."""
    names: list[str] = []
    for name in text.split(","):
        name = " ".join(name.split())[:40]
        if name and name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    return names


def _tags_named(project_id: int, names: list[str]) -> list[Tag]:
    existing = {t.name.casefold(): t for t in Tag.objects.filter(project_id=project_id)}
    tags = []
    for name in names:
        if name.casefold() not in existing:
            existing[name.casefold()] = Tag.objects.create(project_id=project_id, name=name)
        if existing[name.casefold()] not in tags:
            tags.append(existing[name.casefold()])
    return tags


@transaction.atomic
def set_tags(*, track: Track, names: list[str]) -> None:
    track.tags.set(_tags_named(track.project_id, names))


@transaction.atomic
def add_tags(*, tracks, names: list[str]) -> None:
    by_project: dict[int, list[Track]] = {}
    for track in tracks:
        by_project.setdefault(track.project_id, []).append(track)
    for project_id, group in by_project.items():
        tags = _tags_named(project_id, names)
        for tag in tags:
            tag.tracks.add(*group)


@transaction.atomic
def move_tracks(*, tracks, to_project: Project) -> int:
    """Tracks change project with their tags (re-created by name there) and their share links."""
    ids = [t.pk for t in tracks if t.project_id != to_project.pk]
    tagged = Track.tags.through.objects.filter(track_id__in=ids)
    old_tags = list(tagged.values_list("track_id", "tag__name"))
    Track.objects.filter(pk__in=ids).update(project=to_project)
    ShareLink.objects.filter(track_id__in=ids).update(project=to_project)
    tagged.delete()
    new_tags = {t.name.casefold(): t for t in _tags_named(to_project.pk, sorted({name for _, name in old_tags}))}
    pairs = {(track_id, new_tags[name.casefold()].pk) for track_id, name in old_tags}
    Track.tags.through.objects.bulk_create(Track.tags.through(track_id=t, tag_id=g) for t, g in sorted(pairs))
    return len(ids)


def delete_tracks(*, tracks) -> int:
    """Their files go once the deletion commits (signals.py)."""
    return Track.objects.filter(pk__in=[t.pk for t in tracks]).delete()[1].get(Track._meta.label, 0)


# --- Share links ------------------------------------------------------------------


def create_share_link(
    *, project: Project, user, track: Track | None = None, expires_at: datetime | None = None, allow_download: bool
) -> ShareLink:
    if track is not None and track.project_id != project.pk:
        raise NotAllowed("That track is not in this project.")
    return ShareLink.objects.create(
        project=project, track=track, created_by=user, expires_at=expires_at, allow_download=allow_download
    )


def revoke_share_link(*, link: ShareLink) -> None:
    ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def count_share_use(*, link: ShareLink, download: bool) -> None:
    field = "downloads" if download else "plays"
    ShareLink.objects.filter(pk=link.pk).update(**{field: F(field) + 1})
