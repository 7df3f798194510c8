"""Copying tracks to another project (one or many), download names in any script, and titles
sorted as people read them."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from studio.errors import Refused
from studio.library import services
from studio.models import Generation, Role, Track, sort_key
from tests.library.fixtures import AUDIO, add_member, make_project, make_track


@pytest.fixture
def other(alice):
    return make_project(alice, "Trailer")


def test_a_copy_is_a_track_of_its_own_in_the_other_project(alice_client, project, other, alice):
    track = make_track(project, alice, title="Rainy city night")
    services.set_tags(user=alice, track=track, names=["rain", "night"])
    Generation.objects.filter(pk=track.generation_id).update(cost=2.5)

    response = alice_client.post(f"/tracks/{track.pk}/copy/", {"project": other.pk})

    assert response.status_code == 302
    copy = Track.objects.get(project=other)
    assert (copy.title, copy.size, copy.sha256, copy.duration_seconds) == (track.title, track.size, track.sha256, 12.5)
    assert sorted(copy.tags.values_list("name", flat=True)) == ["night", "rain"]
    assert copy.file.name != track.file.name and default_storage.open(copy.file.name).read() == AUDIO
    assert copy.generation.copied_from_id == track.generation_id and copy.generation.cost is None  # paid once
    assert Track.objects.filter(pk=track.pk, project=project).exists()  # the original stays
    track.delete()
    assert default_storage.open(copy.file.name).read() == AUDIO  # deleting one leaves the other whole


def test_bulk_copy_copies_every_selected_track(alice_client, project, other, alice):
    tracks = [make_track(project, alice, title=f"Take {i}") for i in range(3)]
    response = alice_client.post(
        f"/projects/{project.pk}/tracks/bulk/", {"action": "copy", "project": other.pk, "tracks": [t.pk for t in tracks[:2]]}
    )
    assert response.status_code == 302
    assert sorted(other.tracks.values_list("title", flat=True)) == ["Take 0", "Take 1"]
    assert project.tracks.count() == 3


def test_copying_needs_editor_rights_in_both_projects(client, project, alice, bob):
    track = make_track(project, alice)
    theirs = make_project(bob, "Bob's")
    add_member(theirs, alice, Role.VIEWER)
    with pytest.raises(Refused):
        services.copy_tracks(user=alice, tracks=[track], to_project=theirs)
    client.force_login(alice)
    assert client.post(f"/tracks/{track.pk}/copy/", {"project": theirs.pk}).status_code == 404
    add_member(project, bob, Role.VIEWER)
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.post(f"/tracks/{track.pk}/copy/", {"project": theirs.pk}).status_code == 404
    assert not theirs.tracks.exists()


def test_nothing_is_copied_into_an_archived_project(project, other, alice):
    from django.utils import timezone

    track = make_track(project, alice)
    other.archived_at = timezone.now()
    other.save()
    with pytest.raises(Refused, match="archived"):
        services.copy_tracks(user=alice, tracks=[track], to_project=other)
    assert not other.tracks.exists()


@pytest.mark.parametrize(
    ("title", "ascii_name", "typed"),
    [
        ("夜の雨", "track-{pk}.wav", "夜の雨.wav"),
        ("مطر الليل", "track-{pk}.wav", "مطر الليل.wav"),
        ("Café del Mar: intro?", "cafe-del-mar-intro.wav", "Café del Mar intro.wav"),
    ],
)
def test_a_download_keeps_the_title_as_typed_with_an_ascii_fallback(alice_client, project, alice, title, ascii_name, typed):
    track = make_track(project, alice, title=title)
    header = alice_client.get(f"/tracks/{track.pk}/audio/", {"download": "1"})["Content-Disposition"]
    fallback = re.search(r'filename="([^"]+)"', header).group(1)
    encoded = re.search(r"filename\*=UTF-8''(\S+)", header).group(1)
    assert header.startswith("attachment; ")
    assert fallback == ascii_name.format(pk=track.pk) and fallback.isascii()
    assert unquote(encoded) == typed


def test_titles_sort_ignoring_case_and_accents(alice_client, project, alice):
    for title in ("zebra", "Élan", "apple", "Banana", "elan"):
        make_track(project, alice, title=title)
    html = alice_client.get(f"/projects/{project.pk}/tracks/", {"sort": "title"}, HTTP_HX_REQUEST="true").content.decode()
    titles = re.findall(r'class="track-link" href="[^"]+">([^<]+)</a>', html)
    assert titles == ["apple", "Banana", "Élan", "elan", "zebra"]
    assert sort_key("Élan") == sort_key("elan") == "elan"


def test_renaming_keeps_the_sort_title_in_step(project, alice):
    track = make_track(project, alice, title="Zed")
    services.rename_track(user=alice, track=track, title="Ärger")
    track.refresh_from_db()
    assert track.sort_title == "arger"


def test_the_library_no_longer_offers_a_state_filter(alice_client, project, alice):
    make_track(project, alice)
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert 'name="state"' not in page and "Any state" not in page
