"""Who may do what: the owner, a viewer and an outsider over every library page and action.

Allowed requests succeed; forbidden ones answer 404 and change nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.test import Client
from django.utils.html import escape

from studio.models import Invitation, Membership, Project, Role, ShareLink, Track
from studio.teams import invitations
from tests.conftest import make_user
from tests.library.fixtures import add_member, make_project, make_track

OWNER, EDITOR, VIEWER = Role.OWNER, Role.EDITOR, Role.VIEWER


@dataclass
class World:
    project: Project
    other: Project  # alice's second project: somewhere to move tracks
    track: Track
    link: ShareLink
    viewer_membership: Membership
    invitation: Invitation
    clients: dict = field(default_factory=dict)


@pytest.fixture
def world(alice, project) -> World:
    carol, bob = make_user("carol"), make_user("bob")
    viewer_membership = add_member(project, carol, VIEWER)
    track = make_track(project, alice)
    link = ShareLink.objects.create(project=project, track=track, created_by=alice, allow_download=True)
    invitation = invitations.invite(
        project=project, email="invited@example.com", role=EDITOR, invited_by=alice, base_url="http://testserver"
    )
    w = World(
        project=project, other=make_project(alice), track=track, link=link, viewer_membership=viewer_membership,
        invitation=invitation,
    )
    for name, user in (("owner", alice), ("viewer", carol), ("outsider", bob)):
        client = Client()
        client.force_login(user)
        w.clients[name] = client
    return w


def snapshot(w: World):
    """Everything an action could change."""
    return (
        list(Project.objects.order_by("pk").values_list("pk", "name", "description", "archived_at")),
        list(Membership.objects.order_by("pk").values_list("pk", "project_id", "user_id", "role")),
        list(Track.objects.order_by("pk").values_list("pk", "project_id", "title", "favorite")),
        list(Track.tags.through.objects.order_by("pk").values_list("track_id", "tag_id")),
        list(ShareLink.objects.order_by("pk").values_list("pk", "revoked_at", "plays", "downloads")),
        list(Invitation.objects.order_by("pk").values_list("pk", "email", "role", "token_hash", "expires_at", "revoked_at")),
    )


# (name, method, url, data, the least role allowed)
def actions(w: World):
    p, t, m, i = w.project.pk, w.track.pk, w.viewer_membership.pk, w.invitation.pk
    return {
        "project page": ("get", f"/projects/{p}/", {}, VIEWER),
        "project library": ("get", f"/projects/{p}/tracks/", {"q": "rainy"}, VIEWER),
        "track page": ("get", f"/tracks/{t}/", {}, VIEWER),
        "track audio": ("get", f"/tracks/{t}/audio/", {}, VIEWER),
        "track download": ("get", f"/tracks/{t}/audio/", {"download": "1"}, VIEWER),
        "bulk zip": ("post", f"/projects/{p}/tracks/bulk/", {"action": "zip", "tracks": [t]}, VIEWER),
        "generate": ("post", f"/projects/{p}/generate/", {"model": "pixazo-eleven-music", "prompt": "x"}, EDITOR),
        "rename track": ("post", f"/tracks/{t}/title/", {"title": "Renamed"}, EDITOR),
        "favorite track": ("post", f"/tracks/{t}/favorite/", {"favorite": "1"}, EDITOR),
        "tag track": ("post", f"/tracks/{t}/tags/", {"tags": "drums"}, EDITOR),
        "move track": ("post", f"/tracks/{t}/move/", {"project": w.other.pk}, EDITOR),
        "delete track": ("post", f"/tracks/{t}/delete/", {}, EDITOR),
        "bulk tag": ("post", f"/projects/{p}/tracks/bulk/", {"action": "tag", "tracks": [t], "tags": "x"}, EDITOR),
        "bulk favorite": ("post", f"/projects/{p}/tracks/bulk/", {"action": "favorite", "tracks": [t]}, EDITOR),
        "bulk move": ("post", f"/projects/{p}/tracks/bulk/", {"action": "move", "tracks": [t], "project": w.other.pk}, EDITOR),
        "bulk delete": ("post", f"/projects/{p}/tracks/bulk/", {"action": "delete", "tracks": [t]}, EDITOR),
        "share links page": ("get", f"/projects/{p}/shares/", {}, EDITOR),
        "create share link": ("post", f"/projects/{p}/shares/", {"allow_download": "on"}, EDITOR),
        "revoke share link": ("post", f"/shares/{w.link.pk}/revoke/", {}, EDITOR),
        "settings page": ("get", f"/projects/{p}/settings/", {}, OWNER),
        "rename project": ("post", f"/projects/{p}/settings/", {"name": "New name", "description": "d"}, OWNER),
        "archive project": ("post", f"/projects/{p}/archive/", {"archived": "1"}, OWNER),
        "delete project": ("post", f"/projects/{p}/delete/", {"confirm": w.project.name}, OWNER),
        "add member": ("post", f"/projects/{p}/members/", {"who": "bob@example.com", "role": "editor"}, OWNER),
        "change role": ("post", f"/projects/{p}/members/{m}/role/", {"role": "editor"}, OWNER),
        "remove member": ("post", f"/projects/{p}/members/{m}/remove/", {}, OWNER),
        "invite by e-mail": ("post", f"/projects/{p}/members/", {"who": "new@example.com", "role": "viewer"}, OWNER),
        "resend invitation": ("post", f"/projects/{p}/invitations/{i}/resend/", {}, OWNER),
        "revoke invitation": ("post", f"/projects/{p}/invitations/{i}/revoke/", {}, OWNER),
    }


ACTION_NAMES = [
    "project page", "project library", "track page", "track audio", "track download", "bulk zip", "generate",
    "rename track", "favorite track", "tag track", "move track", "delete track", "bulk tag", "bulk favorite",
    "bulk move", "bulk delete", "share links page", "create share link", "revoke share link", "settings page",
    "rename project", "archive project", "delete project", "add member", "change role", "remove member",
    "invite by e-mail", "resend invitation", "revoke invitation",
]  # fmt: skip
RANK = {"outsider": 0, VIEWER: 1, EDITOR: 2, OWNER: 3}
USER_RANK = {"owner": 3, "viewer": 1, "outsider": 0}


def test_the_matrix_names_every_action(world):
    assert sorted(actions(world)) == sorted(ACTION_NAMES)


@pytest.mark.parametrize("who", ["owner", "viewer", "outsider"])
@pytest.mark.parametrize("action", ACTION_NAMES)
def test_access_matrix(world, who, action, django_capture_on_commit_callbacks):
    method, url, data, least = actions(world)[action]
    client = world.clients[who]
    allowed = USER_RANK[who] >= RANK[least]
    before = snapshot(world)
    with django_capture_on_commit_callbacks(execute=False):
        extra = {"HTTP_HX_REQUEST": "true"} if action == "project library" else {}
        response = getattr(client, method)(url, data, **extra)
    if allowed:
        assert response.status_code in (200, 206, 302), (action, who, response.status_code)
        if method == "post" and action not in ("bulk zip", "generate"):
            assert snapshot(world) != before, f"{action} by {who} changed nothing"
    else:
        assert response.status_code == 404, (action, who, response.status_code)
        assert snapshot(world) == before, f"{action} by {who} changed something"
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)


def test_an_outsider_finds_nothing_of_others_in_search(world):
    page = world.clients["outsider"].get("/search/", {"q": "rainy"}).content.decode()
    assert "Rainy city night" not in page
    assert "Rainy city night" in world.clients["viewer"].get("/search/", {"q": "rainy"}).content.decode()


def test_a_home_page_lists_only_the_users_projects(world):
    name = escape(world.project.name)
    assert name not in world.clients["outsider"].get("/").content.decode()
    assert name in world.clients["viewer"].get("/").content.decode()


def test_an_editor_cannot_move_a_track_into_a_project_where_they_only_view(world, alice):
    bobs = make_project(Membership.objects.get(project=world.project, role=OWNER).user, name="Elsewhere")
    dave = make_user("dave")
    add_member(world.project, dave, EDITOR)
    add_member(bobs, dave, VIEWER)
    client = Client()
    client.force_login(dave)
    before = snapshot(world)
    assert client.post(f"/tracks/{world.track.pk}/move/", {"project": bobs.pk}).status_code == 404
    response = client.post(
        f"/projects/{world.project.pk}/tracks/bulk/", {"action": "move", "tracks": [world.track.pk], "project": bobs.pk}
    )
    assert response.status_code == 404
    assert snapshot(world) == before


def test_bulk_actions_ignore_tracks_of_other_projects(world, alice):
    stranger = make_user("stranger")
    theirs = make_project(stranger, name="Theirs")
    their_track = make_track(theirs, stranger, title="Not yours")
    response = world.clients["owner"].post(
        f"/projects/{world.project.pk}/tracks/bulk/", {"action": "delete", "tracks": [their_track.pk]}
    )
    assert response.status_code == 302
    assert Track.objects.filter(pk=their_track.pk).exists()


def test_an_editor_cannot_manage_members_or_delete_the_project(world):
    dave = make_user("dave")
    add_member(world.project, dave, EDITOR)
    client = Client()
    client.force_login(dave)
    before = snapshot(world)
    assert client.post(f"/projects/{world.project.pk}/members/", {"who": "bob@example.com", "role": "editor"}).status_code == 404
    assert client.post(f"/projects/{world.project.pk}/delete/", {"confirm": world.project.name}).status_code == 404
    assert client.get(f"/projects/{world.project.pk}/shares/").status_code == 200
    assert snapshot(world) == before


def test_every_library_post_needs_the_csrf_token(world):
    from django.contrib.auth import get_user_model

    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.get(username="alice"))
    before = snapshot(world)
    for name, (method, url, data, _) in actions(world).items():
        if method == "post":
            assert client.post(url, data).status_code == 403, name
    assert snapshot(world) == before
