"""Tracks with real files on disk, and a project with an owner, an editor and a viewer."""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studio.models import Generation, Membership, Role, Track
from studio.teams.services import create_project

AUDIO = b"RIFF" + bytes(range(256)) * 40  # 10,244 bytes, starts like a WAV


def make_track(project, user, *, title="Rainy city night", prompt="Rainy city night, lo-fi", model_key="pixazo-eleven-music",
               data: bytes = AUDIO, duration: float | None = 12.5, position: int = 0, generation=None) -> Track:
    gen = generation or Generation.objects.create(
        project=project, created_by=user, model_key=model_key, params={"prompt": prompt}, state=Generation.State.SUCCEEDED
    )
    name = default_storage.save(f"tracks/{project.pk}/t.wav", ContentFile(data))
    return Track.objects.create(
        generation=gen, project=project, position=position, title=title, file=name, content_type="audio/wav",
        extension="wav", size=len(data), sha256="0" * 64, duration_seconds=duration,
    )


def add_member(project, user, role=Role.VIEWER) -> Membership:
    return Membership.objects.create(project=project, user=user, role=role)


def make_project(owner, name="Second project"):
    return create_project(owner=owner, name=name)
