"""The watch token: polls are answered without the session, an unchanged one in one query; the
membership, the account being active and its password unchanged are checked on every poll; a
departed member, a deactivated account, a changed password, a forged or lapsed token, or one
given beside another session (someone signed in or out since) go through the session, which
decides as before."""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest
from django.core import signing
from django.test import Client

from studio.jobs import poll_token
from studio.models import Generation, Membership, Role, card_version
from tests.conftest import make_user
from tests.jobs.test_live_page import HTMX, bob_client, card_ids, job  # noqa: F401  (bob_client: a fixture)
from tests.library.fixtures import add_member

S = Generation.State


def watching(client, project, user) -> tuple[list[Generation], str]:
    """A page open on the project with two pending cards: their ids and versions, as the page asks."""
    pending = [job(project, user, provider_status="running") for _ in range(2)]
    response = client.get(f"/projects/{project.pk}/")
    assert poll_token.COOKIE in response.cookies  # the page load hands out the token
    ids = [f"{g.pk}:{card_version(g.updated_at)}" for g in pending]
    newest = max(g.pk for g in pending)
    return pending, {"ids": ids, "after": newest}


def poll(client, project, params):
    return client.get(f"/projects/{project.pk}/cards/", params, **HTMX)


def test_an_unchanged_poll_takes_one_query_and_never_reads_the_session(
    alice_client, project, alice, django_assert_num_queries
):
    _, params = watching(alice_client, project, alice)
    with mock.patch("django.contrib.sessions.backends.db.SessionStore.load", side_effect=AssertionError("session read")):
        with django_assert_num_queries(1):  # the versions, with the membership and the account's state
            response = poll(alice_client, project, params)
    assert response.status_code == 200 and response.content == b""
    assert response["Cache-Control"] == "private, no-store"


def test_a_changed_card_is_sent_on_the_token_without_the_session(alice_client, project, alice):
    pending, params = watching(alice_client, project, alice)
    Generation.objects.filter(pk=pending[0].pk).update(state=S.FAILED)
    with mock.patch("django.contrib.sessions.backends.db.SessionStore.load", side_effect=AssertionError("session read")):
        response = poll(alice_client, project, params)
    assert card_ids(response.content.decode()) == [pending[0].pk]
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()  # its buttons work: a form token of this browser


def test_a_changed_password_stops_the_token_at_once(alice_client, project, alice):
    _, params = watching(alice_client, project, alice)
    alice.set_password("a new one")
    alice.save()
    response = poll(alice_client, project, params)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]  # the session ended with it


def test_a_removed_member_is_refused_at_the_next_poll(bob_client, project, bob):
    _, params = watching(bob_client, project, bob)
    assert poll(bob_client, project, params).status_code == 200
    Membership.objects.filter(project=project, user=bob).delete()
    assert poll(bob_client, project, params).status_code == 404


def test_a_deactivated_account_is_not_answered_on_the_tokens_word(bob_client, project, bob):
    _, params = watching(bob_client, project, bob)
    type(bob).objects.filter(pk=bob.pk).update(is_active=False)
    response = poll(bob_client, project, params)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]  # the session no longer holds


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        lambda user: signing.TimestampSigner(salt="another.salt").sign(str(user.pk)),  # forged: not ours
        lambda user: f"{user.pk}:1kFj2a:{'A' * 43}",  # a made-up signature
    ],
)
def test_a_forged_token_without_a_session_gets_the_sign_in_page(project, alice, token):
    params = {"ids": [f"{job(project, alice).pk}:0"], "after": 0}
    client = Client()
    client.cookies[poll_token.COOKIE] = token(alice) if callable(token) else token
    response = poll(client, project, params)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_lapsed_token_is_not_honoured_and_a_poll_past_half_its_life_renews_it(alice_client, project, alice, settings):
    _, params = watching(alice_client, project, alice)
    settings.WATCH_TOKEN_SECONDS = 100
    first = alice_client.cookies[poll_token.COOKIE].value
    with mock.patch("time.time", return_value=time.time() + 60):  # past half its life: renewed
        response = poll(alice_client, project, params)
        assert response.status_code == 200 and response.cookies[poll_token.COOKIE].value != first
    stale = Client()
    stale.cookies[poll_token.COOKIE] = first
    with mock.patch("time.time", return_value=time.time() + 101):  # lapsed, and no session here
        assert poll(stale, project, params).status_code == 302


def test_after_signing_in_as_someone_else_the_previous_accounts_token_counts_for_nothing(project, alice):
    """Bob watched a project on this browser, then Carol (not a member) signed in on it."""
    bob, carol = make_user("bob"), make_user("carol")
    add_member(project, bob, Role.VIEWER)
    browser = Client()
    browser.force_login(bob)
    _, params = watching(browser, project, alice)
    assert poll(browser, project, params).status_code == 200
    assert browser.post("/accounts/login/", {"username": "carol", "password": "pw-carol"}).status_code == 302
    assert poll(browser, project, params).status_code == 404


def test_after_signing_out_the_token_counts_for_nothing(alice_client, project, alice):
    _, params = watching(alice_client, project, alice)
    alice_client.post("/accounts/logout/")
    response = poll(alice_client, project, params)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_changed_card_is_rendered_once_per_version_yet_each_viewer_gets_their_own_tokens_and_buttons(
    project, alice, bob, django_assert_num_queries
):
    """Alice (owner) and Bob (viewer) watch the same card change: it is rendered for each kind of
    viewer once, the second owner's poll reads no card rows, and every answer carries the form
    token of its own session, which the studio then accepts."""
    add_member(project, bob, Role.VIEWER)
    running = job(project, alice, provider_status="running")
    clients = {}
    for user in (alice, bob, alice):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        client.get(f"/projects/{project.pk}/")
        clients.setdefault(user.username, []).append(client)
    Generation.objects.filter(pk=running.pk).update(progress=40)  # a new version of the card
    params = {"ids": f"{running.pk}:0", "after": running.pk}

    first = poll(clients["alice"][0], project, params).content.decode()
    # the versions, on the token's word; the card itself is kept: no card rows read
    with django_assert_num_queries(1):
        second = poll(clients["alice"][1], project, params).content.decode()
    viewer = poll(clients["bob"][0], project, params).content.decode()

    assert "40%" in first and "40%" in second and "40%" in viewer
    assert "data-mine" in first and "data-mine" not in viewer
    assert "Cancel" in first and "Cancel" not in viewer  # a viewer's card has no buttons
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', second).group(1)
    assert token != re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', first).group(1)
    cancelled = clients["alice"][1].post(f"/generations/{running.pk}/cancel/", {"csrfmiddlewaretoken": token}, **HTMX)
    assert cancelled.status_code == 200
