"""Changing tracks, one or many: rename, star, tag, move, delete. Each checks rules.check_tracks
for every track it touches, whichever page (or bulk action) asked."""

from django.db import transaction

from studio import rules
from studio.models import Project, ShareLink, Tag, Track


def rename_track(*, user, track: Track, title: str) -> None:
    rules.check_tracks(user=user, project_ids=[track.project_id])
    track.title = title
    track.save(update_fields=["title"])


def set_favorite(*, user, tracks, favorite: bool) -> int:
    rules.check_tracks(user=user, project_ids=[t.project_id for t in tracks])
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
    return len(ids)


def delete_tracks(*, user, tracks) -> int:
    """Their files go once the deletion commits (signals.py)."""
    tracks = list(tracks)
    rules.check_tracks(user=user, project_ids=[t.project_id for t in tracks])
    return Track.objects.filter(pk__in=[t.pk for t in tracks]).delete()[1].get(Track._meta.label, 0)
