"""Changing tracks, one or many: rename, star, tag, move, copy, delete; and hiding a finished
card. Each checks rules.check_tracks for every track it touches, whichever page (or bulk action)
asked, and marks the projects' libraries changed (models.library_changed) in the same
transaction, so every open page of them follows."""

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from studio import rules
from studio.audio.stored_files import open_for_download
from studio.errors import Refused
from studio.models import Generation, Project, ShareLink, Tag, Track, Transition, library_changed, track_upload_to


@transaction.atomic
def rename_track(*, user, track: Track, title: str) -> None:
    rules.check_tracks(user=user, project_ids=[track.project_id])
    track.title = title
    track.save(update_fields=["title"])
    library_changed([track.project_id])


@transaction.atomic
def set_favorite(*, user, tracks, favorite: bool) -> int:
    rules.check_tracks(user=user, project_ids=[t.project_id for t in tracks])
    library_changed([t.project_id for t in tracks])
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
def set_tags(*, user, track: Track, names: list[str]) -> None:
    rules.check_tracks(user=user, project_ids=[track.project_id])
    track.tags.set(_tags_named(track.project_id, names))
    library_changed([track.project_id])


@transaction.atomic
def add_tags(*, user, tracks, names: list[str]) -> None:
    tracks = list(tracks)
    rules.check_tracks(user=user, project_ids=[t.project_id for t in tracks])
    by_project: dict[int, list[Track]] = {}
    for track in tracks:
        by_project.setdefault(track.project_id, []).append(track)
    for project_id, group in by_project.items():
        tags = _tags_named(project_id, names)
        for tag in tags:
            tag.tracks.add(*group)
    library_changed(by_project)


@transaction.atomic
def move_tracks(*, user, tracks, to_project: Project) -> int:
    """Tracks change project with their tags (re-created by name there) and their share links."""
    tracks = list(tracks)
    rules.check_tracks(user=user, project_ids=[t.project_id for t in tracks], into=to_project)
    ids = [t.pk for t in tracks if t.project_id != to_project.pk]
    tagged = Track.tags.through.objects.filter(track_id__in=ids)
    old_tags = list(tagged.values_list("track_id", "tag__name"))
    Track.objects.filter(pk__in=ids).update(project=to_project)
    ShareLink.objects.filter(track_id__in=ids).update(project=to_project)
    tagged.delete()
    new_tags = {t.name.casefold(): t for t in _tags_named(to_project.pk, sorted({name for _, name in old_tags}))}
    pairs = {(track_id, new_tags[name.casefold()].pk) for track_id, name in old_tags}
    Track.tags.through.objects.bulk_create(Track.tags.through(track_id=t, tag_id=g) for t, g in sorted(pairs))
    library_changed([to_project.pk, *(t.project_id for t in tracks)])
    return len(ids)


def copy_tracks(*, user, tracks, to_project: Project) -> int:
    """A copy of each track in `to_project`: its own audio file (deleting either copy leaves the
    other whole), its tags by name, and a generation of its own in the target that points back
    at the original (Generation.copied_from) and carries no cost, since nothing was paid twice.
    Copies are not job cards: the target's cards list only what was generated there."""
    tracks = list(tracks)
    rules.check_tracks(user=user, project_ids=[t.project_id for t in tracks], into=to_project)
    stored = [(track, _copy_file(track, to_project)) for track in tracks]
    try:
        with transaction.atomic():
            for track, name in stored:
                _copy_row(track, name, to_project=to_project, user=user)
            library_changed([to_project.pk])
    except BaseException:
        for _, name in stored:
            default_storage.delete(name)
        raise
    return len(stored)


def _copy_file(track: Track, to_project: Project) -> str:
    """The track's audio stored again under a new name in the target project, read in blocks."""
    try:
        source = open_for_download(track.file.name)
    except FileNotFoundError:
        raise Refused(f"“{track.title}” has lost its audio file: it cannot be copied.", rule="missing") from None
    try:
        target = Track(project=to_project)
        return default_storage.save(track_upload_to(target, track.file.name), _Readable(source))
    finally:
        source.close()


class _Readable:
    """What storage.save reads from: the source file, block by block."""

    def __init__(self, source):
        self._source = source
        self.name = "audio"

    def read(self, size: int = -1) -> bytes:
        return self._source.read(size)

    def chunks(self, chunk_size: int = 64 * 1024):
        yield from iter(lambda: self._source.read(chunk_size), b"")


def _copy_row(track: Track, name: str, *, to_project: Project, user) -> Track:
    original = track.generation
    now = timezone.now()
    generation = Generation.objects.create(
        project=to_project, created_by=original.created_by, model_key=original.model_key, params=original.params,
        state=Generation.State.SUCCEEDED, provider_status=original.provider_status, created_at=now, updated_at=now,
        finished_at=now, copied_from=original,
    )  # fmt: skip
    Transition.objects.create(
        generation=generation, from_state="", to_state=generation.state,
        reason=f"copied from “{track.project.name}” by {user.get_username()}"[:300],
    )  # fmt: skip
    copy = Track.objects.create(
        generation=generation, project=to_project, position=0, title=track.title, file=name,
        content_type=track.content_type, extension=track.extension, size=track.size, sha256=track.sha256,
        duration_seconds=track.duration_seconds, peaks=track.peaks, favorite=track.favorite,
    )  # fmt: skip
    names = list(track.tags.values_list("name", flat=True))
    if names:
        copy.tags.set(_tags_named(to_project.pk, names))
    return copy


@transaction.atomic
def delete_tracks(*, user, tracks) -> int:
    """Their files go once the deletion commits (signals.py)."""
    tracks = list(tracks)
    rules.check_tracks(user=user, project_ids=[t.project_id for t in tracks])
    library_changed([t.project_id for t in tracks])
    return Track.objects.filter(pk__in=[t.pk for t in tracks]).delete()[1].get(Track._meta.label, 0)


DISMISSIBLE = (Generation.State.FAILED, Generation.State.CANCELLED)


def dismiss_generation(*, user, generation: Generation) -> bool:
    """Hide a failed or cancelled card from the project's cards; the job stays on record (the
    admin, its transitions). Answers whether it was hidden now."""
    rules.check_dismiss(user=user, project_id=generation.project_id)
    now = timezone.now()
    return bool(
        Generation.objects.filter(pk=generation.pk, state__in=DISMISSIBLE, dismissed_at__isnull=True).update(
            dismissed_at=now, updated_at=now
        )
    )
