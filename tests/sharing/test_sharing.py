"""Share links: made by editors, opened by anyone while live; dead links reveal nothing."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from studio.models import Role, ShareLink, new_share_token
from tests.library.fixtures import AUDIO, add_member, make_track


@pytest.fixture
def track(project, alice):
    return make_track(project, alice, title="Rainy city night")


def create_link(alice_client, project, **data) -> ShareLink:
    response = alice_client.post(f"/projects/{project.pk}/shares/", data)
    assert response.status_code == 302
    return ShareLink.objects.latest("pk")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_tokens_are_long_url_safe_and_never_repeat():
    tokens = {new_share_token() for _ in range(2000)}
    assert len(tokens) == 2000
    for token in list(tokens)[:50]:
        assert len(token) >= 32  # 24 random bytes: 192 bits, over the 128 asked for
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    # Every position takes many values: nothing is fixed or counted up.
    assert all(len({t[i] for t in tokens}) > 40 for i in range(32))


def test_a_track_link_lifecycle_create_play_download_revoke(alice_client, project, track):
    link = create_link(alice_client, project, track=track.pk, allow_download="on")
    assert link.track == track and link.allow_download and link.expires_at is None
    shares_page = alice_client.get(f"/projects/{project.pk}/shares/").content.decode()
    assert f"/s/{link.token}/" in shares_page

    anonymous = Client()
    page = anonymous.get(f"/s/{link.token}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Rainy city night" in html and "12.5 s" in html
    assert f"/s/{link.token}/tracks/{track.pk}/audio/" in html
    assert page["Referrer-Policy"] == "no-referrer"
    assert 'preload="none"' in html  # a visit alone counts no play

    play = anonymous.get(f"/s/{link.token}/tracks/{track.pk}/audio/")
    assert play.status_code == 200 and body(play) == AUDIO
    assert play["Content-Disposition"].startswith("inline")
    seek = anonymous.get(f"/s/{link.token}/tracks/{track.pk}/audio/", HTTP_RANGE="bytes=100-199")
    assert seek.status_code == 206 and body(seek) == AUDIO[100:200]
    download = anonymous.get(f"/s/{link.token}/tracks/{track.pk}/audio/", {"download": "1"})
    assert download.status_code == 200 and body(download) == AUDIO
    assert download["Content-Disposition"] == (
        "attachment; filename=\"rainy-city-night.wav\"; filename*=UTF-8''Rainy%20city%20night.wav"
    )
    link.refresh_from_db()
    assert (link.plays, link.downloads) == (0, 1)  # fetching the file is no play: the player says when it plays

    response = alice_client.post(f"/shares/{link.pk}/revoke/")
    assert response.status_code == 302
    for url in (f"/s/{link.token}/", f"/s/{link.token}/tracks/{track.pk}/audio/"):
        dead = anonymous.get(url)
        assert dead.status_code == 404
        assert b"Rainy" not in body(dead)


def test_a_link_without_downloads_plays_but_does_not_download(alice_client, project, track):
    link = create_link(alice_client, project, track=track.pk)
    anonymous = Client()
    assert "Download" not in anonymous.get(f"/s/{link.token}/").content.decode()
    assert anonymous.get(f"/s/{link.token}/tracks/{track.pk}/audio/").status_code == 200
    assert anonymous.get(f"/s/{link.token}/tracks/{track.pk}/audio/", {"download": "1"}).status_code == 404
    assert anonymous.get(f"/s/{link.token}/tracks.zip").status_code == 404


def test_a_play_counts_when_the_player_starts_and_only_with_the_pages_token(alice_client, project, track):
    link = create_link(alice_client, project, track=track.pk)
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(f"/s/{link.token}/").content.decode()
    played_url = f"/s/{link.token}/tracks/{track.pk}/played/"
    assert f'data-played-url="{played_url}"' in page and "share_plays.js" in page
    token = re.search(r'data-csrf-token="([^"]+)"', page).group(1)

    assert Client(enforce_csrf_checks=True).post(played_url).status_code == 403  # a bot without the page
    assert visitor.get(f"/s/{link.token}/tracks/{track.pk}/audio/").status_code == 200
    assert visitor.post(played_url, HTTP_X_CSRFTOKEN=token).status_code == 204
    link.refresh_from_db()
    assert link.plays == 1
    alice_client.post(f"/shares/{link.pk}/revoke/")
    assert visitor.post(played_url, HTTP_X_CSRFTOKEN=token).status_code == 404


def test_a_listen_only_link_says_what_downloads_off_means_and_a_revoked_one_says_revoked(alice_client, project, track):
    form_page = alice_client.get(f"/projects/{project.pk}/shares/").content.decode()
    assert "a listen-only page with no download button" in form_page and "can still be recorded" in form_page
    link = create_link(alice_client, project, track=track.pk, expires_in="7")
    page = Client().get(f"/s/{link.token}/").content.decode()
    # No download link, and the page's one player has no browser controls (whose menu offers one).
    assert "?download=1" not in page and "<audio data-player-audio" in page and " controls" not in page
    alice_client.post(f"/shares/{link.pk}/revoke/")
    card = alice_client.get(f"/projects/{project.pk}/shares/").content.decode().split(f'id="link-{link.pk}"')[1].split("</article>")[0]
    assert "Revoked" in card and "Expires" not in card and "Expired" not in card
    assert "listen only (downloads off)" in card


def test_an_expired_link_answers_404(alice_client, project, track):
    link = create_link(alice_client, project, track=track.pk, expires_in="1", allow_download="on")
    assert timedelta(hours=23) < link.expires_at - timezone.now() <= timedelta(days=1)
    assert Client().get(f"/s/{link.token}/").status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(f"/s/{link.token}/").status_code == 404
    assert Client().get(f"/s/{link.token}/tracks/{track.pk}/audio/").status_code == 404


def test_unknown_tokens_and_other_projects_tracks_answer_404(alice_client, project, track, alice):
    other = make_track(project, alice, title="Not shared", position=1, generation=track.generation)
    link = create_link(alice_client, project, track=track.pk, allow_download="on")
    anonymous = Client()
    assert anonymous.get(f"/s/{new_share_token()}/").status_code == 404
    assert anonymous.get(f"/s/{link.token}/tracks/{other.pk}/audio/").status_code == 404


def test_a_project_link_lists_every_track_and_streams_a_zip(alice_client, project, alice):
    first = make_track(project, alice, title="Intro", data=b"RIFF-one" * 100)
    second = make_track(project, alice, title="Intro", data=b"RIFF-two" * 300)  # same name: numbered in the ZIP
    link = create_link(alice_client, project, allow_download="on")
    anonymous = Client()
    html = anonymous.get(f"/s/{link.token}/").content.decode()
    assert html.count('data-testid="shared-track"') == 2 and "Download all as ZIP" in html
    response = anonymous.get(f"/s/{link.token}/tracks.zip")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == "attachment; filename=\"alices-game.zip\"; filename*=UTF-8''Alice%27s%20game.zip"
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == ["Intro-2.wav", "Intro.wav", "manifest.csv", "manifest.json"]
    contents = {archive.read(n) for n in ("Intro.wav", "Intro-2.wav")}
    assert contents == {first.file.read(), second.file.read()}
    link.refresh_from_db()
    assert link.downloads == 1


def test_share_link_form_rejects_a_foreign_track_and_nonsense(alice_client, project, track, alice):
    from tests.conftest import make_user
    from tests.library.fixtures import make_project

    theirs = make_track(make_project(make_user("zed"), name="Zed's"), alice)
    assert alice_client.post(f"/projects/{project.pk}/shares/", {"track": theirs.pk}).status_code == 404
    assert alice_client.post(f"/projects/{project.pk}/shares/", {"expires_in": "9999"}).status_code == 400
    assert ShareLink.objects.count() == 0


def test_share_links_and_the_zip_read_from_an_s3_store(s3_bucket, alice_client, project, alice):
    from tests.audio.test_storage import AUDIO as S3_AUDIO
    from tests.audio.test_storage import stored_track

    track = stored_track(project, alice)
    link = create_link(alice_client, project, allow_download="on")
    anonymous = Client()
    seek = anonymous.get(f"/s/{link.token}/tracks/{track.pk}/audio/", HTTP_RANGE="bytes=300-399")
    assert seek.status_code == 206 and body(seek) == S3_AUDIO[300:400]
    archive = zipfile.ZipFile(io.BytesIO(body(anonymous.get(f"/s/{link.token}/tracks.zip"))))
    assert archive.read("Ocean.wav") == S3_AUDIO


# --- Members who leave ------------------------------------------------------------------------


@pytest.fixture
def bobs_project_link(project, alice, bob, track):
    """bob, an editor, made a link to the whole project with downloads and no expiry."""
    add_member(project, bob, Role.EDITOR)
    client = Client()
    client.force_login(bob)
    response = client.post(f"/projects/{project.pk}/shares/", {"allow_download": "on"})
    assert response.status_code == 302
    link = ShareLink.objects.get(created_by=bob)
    public = Client()
    assert public.get(f"/s/{link.token}/tracks.zip").status_code == 200
    return link


def test_removing_a_member_revokes_the_links_they_made(alice_client, project, alice, bob, track, bobs_project_link):
    alices = create_link(alice_client, project, expires_in="")
    membership = project.memberships.get(user=bob)

    response = alice_client.post(f"/projects/{project.pk}/members/{membership.pk}/remove/", follow=True)

    assert "1 share link they made no longer works" in response.content.decode()
    public = Client()
    for path in ("/", "/tracks.zip", f"/tracks/{track.pk}/audio/"):
        assert public.get(f"/s/{bobs_project_link.token}{path}").status_code == 404, path
    assert public.get(f"/s/{alices.token}/").status_code == 200  # the owner's own links stay


def test_lowering_an_editor_to_viewer_revokes_the_links_they_made(alice_client, project, bob, bobs_project_link):
    membership = project.memberships.get(user=bob)
    alice_client.post(f"/projects/{project.pk}/members/{membership.pk}/role/", {"role": "viewer"})
    bobs_project_link.refresh_from_db()
    assert bobs_project_link.revoked_at is not None
    assert Client().get(f"/s/{bobs_project_link.token}/tracks.zip").status_code == 404


def test_the_removal_confirmation_says_the_links_go_too(alice_client, project, bob, bobs_project_link):
    page = alice_client.get(f"/projects/{project.pk}/settings/").content.decode()
    assert "Remove bob from the project? The share links they made stop working at once." in page
    assert "If bob becomes a viewer, the share links they made stop working." in page


def test_the_settings_page_lists_every_live_link_with_who_made_it(alice_client, project, alice, bob, track, bobs_project_link):
    create_link(alice_client, project, track=track.pk, expires_in="7")
    dead = create_link(alice_client, project, expires_in="")
    alice_client.post(f"/shares/{dead.pk}/revoke/")

    page = alice_client.get(f"/projects/{project.pk}/settings/").content.decode()
    rows = page.split('data-testid="live-link"')[1:]
    assert len(rows) == 2
    assert "Track “Rainy city night”" in rows[0] and "alice" in rows[0]
    assert "Whole project" in rows[1] and "bob" in rows[1] and "Allowed" in rows[1] and "Never" in rows[1]
