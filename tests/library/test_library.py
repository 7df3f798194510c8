"""Projects, members and tracks: organizing, finding and generating again."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape

import httpx
import pytest
import respx
from django.core.files.storage import default_storage
from django.test import Client
from django.utils.html import escape

from studio.models import Membership, Project, ShareLink, Tag, Track
from tests.conftest import make_user
from tests.library.fixtures import AUDIO, add_member, make_project, make_track

HTMX = {"HTTP_HX_REQUEST": "true"}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- Projects ---------------------------------------------------------------------


def test_the_owner_renames_describes_and_archives_a_project(alice_client, project):
    response = alice_client.post(f"/projects/{project.pk}/settings/", {"name": "Trailer", "description": "For March"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.name, project.description) == ("Trailer", "For March")
    alice_client.post(f"/projects/{project.pk}/archive/", {"archived": "1"})
    project.refresh_from_db()
    assert project.archived_at is not None
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert "archived" in page and 'id="generate-form"' not in page
    alice_client.post(f"/projects/{project.pk}/archive/", {"archived": "0"})
    project.refresh_from_db()
    assert project.archived_at is None


def test_an_empty_name_is_refused_and_changes_nothing(alice_client, project):
    response = alice_client.post(f"/projects/{project.pk}/settings/", {"name": "", "description": "x"})
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    project.refresh_from_db()
    assert project.description == ""


def test_deleting_a_project_needs_its_name_and_removes_its_audio(alice_client, project, alice, django_capture_on_commit_callbacks):
    track = make_track(project, alice)
    response = alice_client.post(f"/projects/{project.pk}/delete/", {"confirm": "wrong"})
    assert response.status_code == 400 and "nothing was deleted" in response.content.decode()
    assert default_storage.exists(track.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/projects/{project.pk}/delete/", {"confirm": project.name})
    assert response.status_code == 302
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not default_storage.exists(track.file.name)


def test_the_home_page_lists_counts_activity_and_archived_last(alice_client, project, alice):
    make_track(project, alice)
    make_track(project, alice, position=1, generation=Track.objects.get().generation)
    old = make_project(alice, name="Old stuff")
    old.archived_at = old.created_at
    old.save()
    page = alice_client.get("/").content.decode()
    assert "2 tracks" in page and "last generation" in page
    assert page.index(escape(project.name)) < page.index("Old stuff")
    assert "Archived" in page


def test_the_home_page_costs_the_same_queries_for_many_projects(alice_client, alice, django_assert_num_queries):
    for i in range(3):
        make_project(alice, name=f"P{i}")
    with django_assert_num_queries(3):  # session, user, projects with counts
        alice_client.get("/")
    for i in range(10):
        make_track(make_project(alice, name=f"Q{i}"), alice)
    with django_assert_num_queries(3):
        alice_client.get("/")


# --- Members ----------------------------------------------------------------------


def test_the_owner_invites_changes_roles_and_removes(alice_client, project, bob, mailoutbox):
    assert alice_client.post(f"/projects/{project.pk}/members/", {"who": "bob@example.com", "role": "viewer"}).status_code == 302
    assert not Membership.objects.filter(user=bob).exists()  # nobody joins without accepting
    token = re.search(r"/invitations/([\w-]+)/", mailoutbox[-1].body).group(1)
    client = Client()
    client.force_login(bob)
    assert client.post(f"/invitations/{token}/").status_code == 302
    roles = dict(project.memberships.values_list("user__username", "role"))
    assert roles == {"alice": "owner", "bob": "viewer"}
    bob_membership = Membership.objects.get(user=bob)
    alice_client.post(f"/projects/{project.pk}/members/{bob_membership.pk}/role/", {"role": "editor"})
    bob_membership.refresh_from_db()
    assert bob_membership.role == "editor"
    alice_client.post(f"/projects/{project.pk}/members/{bob_membership.pk}/remove/")
    assert not Membership.objects.filter(user=bob).exists()


def test_inviting_an_existing_member_or_no_address_says_why(alice_client, project, bob):
    response = alice_client.post(f"/projects/{project.pk}/members/", {"who": "nobody", "role": "viewer"})
    assert response.status_code == 400 and "Enter a valid email address" in response.content.decode()
    add_member(project, bob)
    response = alice_client.post(f"/projects/{project.pk}/members/", {"who": "BOB@example.com", "role": "editor"})
    assert response.status_code == 400 and "already a member" in response.content.decode()
    assert project.memberships.count() == 2


def test_the_owner_can_be_neither_demoted_nor_removed(alice_client, project):
    owner = project.memberships.get()
    alice_client.post(f"/projects/{project.pk}/members/{owner.pk}/role/", {"role": "viewer"})
    alice_client.post(f"/projects/{project.pk}/members/{owner.pk}/remove/")
    owner.refresh_from_db()
    assert owner.role == "owner"


def test_a_removed_member_loses_access_at_once(project, bob, alice):
    track = make_track(project, alice)
    membership = add_member(project, bob)
    client = Client()
    client.force_login(bob)
    assert client.get(f"/tracks/{track.pk}/audio/").status_code == 200
    membership.delete()
    assert client.get(f"/tracks/{track.pk}/audio/").status_code == 404
    assert client.get(f"/projects/{project.pk}/").status_code == 404


# --- Tracks -----------------------------------------------------------------------


def test_the_track_page_shows_everything_known(alice_client, project, alice):
    track = make_track(project, alice, prompt="Rainy <b>city</b>")
    track.generation.cost, track.generation.cost_unit = "0.0125", "usd"
    track.generation.spend, track.generation.spend_basis = "0.0125", "reported"
    track.generation.params = {"prompt": "Rainy <b>city</b>", "music_length_ms": 30000}
    track.generation.save()
    html = alice_client.get(f"/tracks/{track.pk}/").content.decode()
    for text in ("Rainy city night", "Music", "ElevenLabs Music (Pixazo)", "12.5 s", "WAV", "10.0\xa0KB",
                 "0.0125 USD", "by alice", "music_length_ms", "30000", "Rainy &lt;b&gt;city&lt;/b&gt;"):
        assert text in html, text


def test_rename_favorite_and_tag_a_track(alice_client, project, alice):
    track = make_track(project, alice)
    alice_client.post(f"/tracks/{track.pk}/title/", {"title": "Storm theme"})
    alice_client.post(f"/tracks/{track.pk}/favorite/", {"favorite": "1"})
    alice_client.post(f"/tracks/{track.pk}/tags/", {"tags": "drums, Intro , drums"})
    track.refresh_from_db()
    assert track.title == "Storm theme" and track.favorite
    assert sorted(t.name for t in track.tags.all()) == ["Intro", "drums"]
    assert "storm theme" in track.search_text and "lo-fi" in track.search_text
    alice_client.post(f"/tracks/{track.pk}/tags/", {"tags": "intro"})  # same tag, any case
    assert [t.name for t in track.tags.all()] == ["Intro"]


def test_a_blank_title_is_refused(alice_client, project, alice):
    track = make_track(project, alice)
    alice_client.post(f"/tracks/{track.pk}/title/", {"title": "  "})
    track.refresh_from_db()
    assert track.title == "Rainy city night"


def test_favorite_from_a_row_answers_the_row(alice_client, project, alice):
    track = make_track(project, alice)
    response = alice_client.post(f"/tracks/{track.pk}/favorite/", {"favorite": "1", "row": "1"}, **HTMX)
    html = response.content.decode()
    assert html.strip().startswith(f'<article id="track-{track.pk}"') and 'aria-pressed="true"' in html


def test_row_ids_are_never_grouped_like_numbers(alice_client, project, alice, settings):
    settings.USE_THOUSAND_SEPARATOR = True
    Track.objects.filter(pk=make_track(project, alice).pk).update(id=12345)
    html = alice_client.get(f"/projects/{project.pk}/tracks/", **HTMX).content.decode()
    assert 'id="track-12345"' in html and 'value="12345"' in html and 'for="select-12345"' in html
    assert "12,345" not in html


def test_moving_a_track_takes_its_tags_and_share_links(alice_client, project, alice):
    track = make_track(project, alice)
    alice_client.post(f"/tracks/{track.pk}/tags/", {"tags": "drums"})
    link = ShareLink.objects.create(project=project, track=track, created_by=alice)
    other = make_project(alice)
    response = alice_client.post(f"/tracks/{track.pk}/move/", {"project": other.pk})
    assert response.status_code == 302
    track.refresh_from_db()
    link.refresh_from_db()
    assert track.project == other and link.project == other
    assert [(t.name, t.project_id) for t in track.tags.all()] == [("drums", other.pk)]


def test_deleting_a_track_removes_its_file(alice_client, project, alice, django_capture_on_commit_callbacks):
    track = make_track(project, alice)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/tracks/{track.pk}/delete/")
    assert not Track.objects.exists()
    assert not default_storage.exists(track.file.name)


# --- Finding ----------------------------------------------------------------------


@pytest.fixture
def shelf(project, alice, bob):
    add_member(project, bob, "editor")
    tracks = {
        "rain": make_track(project, alice, title="Rainy city night", prompt="Lo-fi rain, vinyl crackle", duration=30),
        "storm": make_track(project, bob, title="Storm", prompt="Thunder over the sea", duration=5,
                            model_key="pixazo-eleven-v3-speech"),
        "café": make_track(project, alice, title="Café ambience", prompt="Busy café, cups", duration=None),
    }
    tracks["storm"].favorite = True
    tracks["storm"].save()
    Tag.objects.create(project=project, name="weather").tracks.add(tracks["rain"], tracks["storm"])
    return tracks


def titles(response) -> list[str]:
    return [unescape(t) for t in re.findall(r'class="track-link" href="[^"]+">([^<]*)</a>', response.content.decode())]


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"q": "rain"}, ["Rainy city night"]),
        ({"q": "THUNDER sea"}, ["Storm"]),  # every word, in the prompt, any case
        ({"q": "CAFÉ"}, ["Café ambience"]),
        ({"q": "rain thunder"}, []),
        ({"kind": "speech"}, ["Storm"]),
        ({"with_model": "pixazo-eleven-music"}, ["Café ambience", "Rainy city night"]),
        ({"tag": "weather"}, ["Storm", "Rainy city night"]),
        ({"favorite": "on"}, ["Storm"]),
        ({"state": "failed", "q": "storm"}, ["Storm"]),  # no state filter: every track is a finished job's
        ({"sort": "title"}, ["Café ambience", "Rainy city night", "Storm"]),
        ({"sort": "longest"}, ["Rainy city night", "Storm", "Café ambience"]),
        ({"sort": "shortest"}, ["Storm", "Rainy city night", "Café ambience"]),
        ({"sort": "old"}, ["Rainy city night", "Storm", "Café ambience"]),
        ({"sort": "nonsense"}, ["Café ambience", "Storm", "Rainy city night"]),
    ],
)
def test_find_filters_and_sorts(alice_client, project, shelf, query, expected):
    response = alice_client.get(f"/projects/{project.pk}/tracks/", query, **HTMX)
    got = titles(response)
    if query.get("sort") in (None, "nonsense") and "q" not in query:
        assert sorted(got) == sorted(expected)
    else:
        assert got == expected


def test_find_by_member(alice_client, project, shelf, bob):
    response = alice_client.get(f"/projects/{project.pk}/tracks/", {"member": bob.pk}, **HTMX)
    assert titles(response) == ["Storm"]


def test_search_spans_every_project_of_the_user_only(alice_client, project, shelf, alice):
    make_track(make_project(alice, name="Mine too"), alice, title="Rain two")
    stranger = make_user("zed")
    make_track(make_project(stranger, name="Not mine"), stranger, title="Rain three")
    response = alice_client.get("/search/", {"q": "rain"})
    assert sorted(titles(response)) == ["Rain two", "Rainy city night"]
    assert "Mine too" in response.content.decode()


def test_the_library_comes_in_pages(alice_client, project, alice):
    from studio.library.find import PAGE_SIZE

    gen = make_track(project, alice, title="t-0").generation
    for i in range(1, 2 * PAGE_SIZE + 10):
        make_track(project, alice, title=f"t-{i}", position=i, generation=gen)
    first = alice_client.get(f"/projects/{project.pk}/")
    assert len(titles(first)) == PAGE_SIZE and "Page 1 of 3" in first.content.decode()
    last = alice_client.get(f"/projects/{project.pk}/tracks/", {"page": "3"}, **HTMX)
    assert len(titles(last)) == 10
    assert alice_client.get(f"/projects/{project.pk}/tracks/", {"page": "99"}, **HTMX).status_code == 200


def test_the_library_link_works_without_javascript(alice_client, project):
    response = alice_client.get(f"/projects/{project.pk}/tracks/", {"q": "x"})
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/?q=x#library"


def seed(project, user, count: int):
    gen = make_track(project, user, title="seed-0").generation
    for i in range(1, count):
        make_track(project, user, title=f"seed-{i}", position=i, generation=gen)


def test_the_project_page_query_count_does_not_grow_with_tracks(alice_client, project, alice, django_assert_num_queries):
    for i in range(3):
        make_track(project, alice, title=f"seed-{i}")
    alice_client.get(f"/projects/{project.pk}/")  # warm caches (content types, sessions)
    with django_assert_num_queries(12) as small:
        alice_client.get(f"/projects/{project.pk}/", {"q": "seed"})
    seed(make_project(alice), alice, 1)
    for i in range(3, 80):  # generations and tracks alike: more cards than the page shows, pages of tracks
        make_track(project, alice, title=f"seed-{i}")
    with django_assert_num_queries(len(small.captured_queries)):
        alice_client.get(f"/projects/{project.pk}/", {"q": "seed"})


def test_search_query_count_does_not_grow_with_tracks(alice_client, project, alice, django_assert_num_queries):
    seed(project, alice, 2)
    alice_client.get("/search/", {"q": "seed"})
    with django_assert_num_queries(8) as small:
        alice_client.get("/search/", {"q": "seed", "sort": "title"})
    for i in range(3):
        seed(make_project(alice, name=f"More {i}"), alice, 30)
    with django_assert_num_queries(len(small.captured_queries)):
        alice_client.get("/search/", {"q": "seed", "sort": "title"})


# --- Generate again ---------------------------------------------------------------


@pytest.fixture
def no_voices():
    """The speech form lists the account's voices: answer for the provider, nothing leaves the machine."""
    with respx.mock(assert_all_called=False) as api:
        api.get("https://elevenlabs.test/v1/voices").mock(return_value=httpx.Response(503))
        yield


def test_generate_again_prefills_model_and_parameters(alice_client, project, alice, no_voices):
    track = make_track(project, alice, model_key="elevenlabs-speech")
    track.generation.params = {"text": "Welcome aboard", "seed": 42, "use_speaker_boost": False, "voice_id": "x"}
    track.generation.save()
    query = {"model": "elevenlabs-speech", "from": track.pk}
    again = alice_client.get(f"/projects/{project.pk}/", query)
    form = again.context["form"]
    assert form.catalog_model.key == "elevenlabs-speech"
    assert form.initial["text"] == "Welcome aboard" and form.initial["seed"] == 42
    assert form.initial["use_speaker_boost"] == "false"
    html = again.content.decode()
    assert "Settings taken from" in html and "\nWelcome aboard</textarea>" in html and 'value="42"' in html
    variation = alice_client.get(f"/projects/{project.pk}/", {**query, "variation": "1"})
    assert "seed" not in variation.context["form"].initial
    assert variation.context["form"].initial["text"] == "Welcome aboard"


def test_generate_again_from_a_track_the_user_cannot_see_is_404(alice_client, project):
    stranger = make_user("zed")
    theirs = make_track(make_project(stranger, name="Theirs"), stranger)
    response = alice_client.get(f"/projects/{project.pk}/", {"model": "pixazo-eleven-music", "from": theirs.pk})
    assert response.status_code == 404


def test_cards_link_to_the_track_and_offer_generate_again(alice_client, project, alice):
    track = make_track(project, alice)
    html = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert f'href="/tracks/{track.pk}/"' in html
    assert f"?model=pixazo-eleven-music&amp;from={track.pk}&amp;variation=1" in html


# --- Bulk -------------------------------------------------------------------------


def test_bulk_tag_favorite_move_and_delete(alice_client, project, alice, django_capture_on_commit_callbacks):
    a, b, c = (make_track(project, alice, title=t) for t in ("a", "b", "c"))
    url = f"/projects/{project.pk}/tracks/bulk/"
    alice_client.post(url, {"action": "tag", "tracks": [a.pk, b.pk], "tags": "keep, loud"})
    assert sorted(Track.objects.filter(tags__name="keep").values_list("title", flat=True)) == ["a", "b"]
    alice_client.post(url, {"action": "favorite", "tracks": [c.pk]})
    assert list(Track.objects.filter(favorite=True).values_list("title", flat=True)) == ["c"]
    other = make_project(alice)
    alice_client.post(url, {"action": "move", "tracks": [a.pk], "project": other.pk})
    assert Track.objects.get(pk=a.pk).project == other
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(url, {"action": "delete", "tracks": [b.pk, c.pk]})
    assert list(Track.objects.values_list("title", flat=True)) == ["a"]
    assert not default_storage.exists(b.file.name)


def test_bulk_with_nothing_selected_says_so(alice_client, project, alice):
    make_track(project, alice)
    response = alice_client.post(f"/projects/{project.pk}/tracks/bulk/", {"action": "delete"}, follow=True)
    assert "Select at least one track" in response.content.decode()
    assert Track.objects.count() == 1


def test_bulk_zip_streams_the_selected_tracks(alice_client, project, alice):
    a = make_track(project, alice, title="One", data=b"RIFF" + b"1" * 5000)
    make_track(project, alice, title="Two")
    response = alice_client.post(f"/projects/{project.pk}/tracks/bulk/", {"action": "zip", "tracks": [a.pk]})
    assert response.streaming and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert archive.namelist() == ["One.wav", "manifest.json", "manifest.csv"]  # every ZIP carries its manifest
    assert archive.read("One.wav") == b"RIFF" + b"1" * 5000


# --- Files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, status, content_range, expected",
    [
        ("bytes=0-99", 206, "bytes 0-99/10244", AUDIO[:100]),
        ("bytes=5000-5099", 206, "bytes 5000-5099/10244", AUDIO[5000:5100]),
        ("bytes=-44", 206, "bytes 10200-10243/10244", AUDIO[-44:]),
        ("bytes=10244-", 416, "bytes */10244", b""),
        ("bytes=-0", 416, "bytes */10244", b""),
    ],
)
@pytest.mark.parametrize("via", ["member", "share link"])
def test_every_audio_response_honours_range(alice_client, project, alice, via, header, status, content_range, expected):
    track = make_track(project, alice, title='Evil "name"/../x')
    if via == "member":
        client, url = alice_client, f"/tracks/{track.pk}/audio/"
    else:
        link = ShareLink.objects.create(project=project, track=track, created_by=alice, allow_download=True)
        client, url = Client(), f"/s/{link.token}/tracks/{track.pk}/audio/"
    response = client.get(url, {"download": "1"}, HTTP_RANGE=header)
    assert response.status_code == status
    assert response["Content-Range"] == content_range
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == expected
    assert response["Content-Disposition"] == "attachment; filename=\"evil-namex.wav\"; filename*=UTF-8''Evil%20name..x.wav"


def test_the_project_page_opens_with_the_latest_cards_and_every_pending_one(alice_client, project, alice):
    from studio.jobs.cards import PAGE_CARDS
    from studio.models import Generation

    pending = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music",
                                        params={"prompt": "still running"}, state=Generation.State.RUNNING)
    for i in range(PAGE_CARDS + 3):
        make_track(project, alice, title=f"done {i}")
    response = alice_client.get(f"/projects/{project.pk}/")
    shown = [card.gen.pk for card in response.context["cards"]]
    assert len(shown) == PAGE_CARDS + 1 and pending.pk in shown
    assert response.context["older_than"] == shown[PAGE_CARDS - 1]  # "Older" goes on from the tenth


def test_an_archived_project_refuses_new_generations_in_words(alice_client, project):
    from studio.models import Generation

    alice_client.post(f"/projects/{project.pk}/archive/", {"archived": "1"})
    response = alice_client.post(f"/projects/{project.pk}/generate/", {"model": "pixazo-eleven-music", "prompt": "x"})
    html = response.content.decode()
    assert response.status_code == 400 and "This project is archived" in html
    assert 'id="find-form"' in html and 'data-testid="result-count"' in html  # the whole page, library too
    assert Generation.objects.count() == 0
