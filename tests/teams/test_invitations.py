"""Invitations by e-mail: the owner invites an address that has no account; the link lets its
holder join once, with a new account or an existing one. Dead links reveal nothing."""

from __future__ import annotations

import hashlib
import re
import smtplib
import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from studio.errors import Refused
from studio.models import Invitation, Membership, Role
from studio.ops.log_filters import redact
from studio.teams import invitations
from tests.conftest import make_user
from tests.library.fixtures import add_member

LINK = re.compile(r"http://testserver/invitations/([\w-]+)/")
NEW_ACCOUNT = {"username": "nina", "password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026"}


def invite(client, project, who="new.person@example.com", role="editor"):
    return client.post(f"/projects/{project.pk}/members/", {"who": who, "role": role})


def last_token(mailoutbox) -> str:
    return LINK.search(mailoutbox[-1].body).group(1)


@pytest.fixture
def invited(alice_client, project, mailoutbox) -> str:
    """The raw token of an editor invitation to new.person@example.com, as the e-mail carries it."""
    assert invite(alice_client, project).status_code == 302
    return last_token(mailoutbox)


@pytest.fixture
def invited_bob(alice_client, project, bob, mailoutbox) -> str:
    """The raw token of an editor invitation to bob's address."""
    assert invite(alice_client, project, who="bob@example.com").status_code == 302
    return last_token(mailoutbox)


def memberships(project):
    return sorted(project.memberships.values_list("user__username", "role"))


# --- Inviting -----------------------------------------------------------------------


def test_inviting_an_unknown_address_sends_one_plain_mail_with_the_link(alice_client, project, alice, mailoutbox):
    response = invite(alice_client, project, who="  New.Person@Example.COM ", role="editor")
    assert response.status_code == 302
    assert "Invitation sent to new.person@example.com." in alice_client.get(response["Location"]).content.decode()
    invitation = Invitation.objects.get()
    assert (invitation.project, invitation.email, invitation.role, invitation.invited_by) == (
        project, "new.person@example.com", Role.EDITOR, alice,
    )
    assert invitation.expires_at - invitation.sent_at == timedelta(days=7)
    assert invitation.accepted_at is None and invitation.revoked_at is None
    assert memberships(project) == [("alice", "owner")]  # nobody joined yet

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["new.person@example.com"]
    assert mail.content_subtype == "plain" and not mail.alternatives
    assert "Alice's game" in mail.subject and "alice" in mail.subject
    assert "Alice's game" in mail.body and "alice invited you" in mail.body and "editor" in mail.body
    token = last_token(mailoutbox)
    page = Client().get(f"/invitations/{token}/")
    assert page.status_code == 200


def test_the_link_starts_with_the_public_base_url_when_one_is_set(alice_client, project, settings, mailoutbox):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    invite(alice_client, project)
    assert re.search(r"https://studio\.example\.com/invitations/[\w-]{32,}/", mailoutbox[0].body)


def test_only_the_hash_of_the_token_is_stored(invited):
    row = Invitation.objects.values().get()
    assert all(invited not in str(value) for value in row.values())
    assert row["token_hash"] == hashlib.sha256(invited.encode()).hexdigest()
    assert len(invited) >= 32  # 24 random bytes: 192 bits


def test_inviting_the_address_again_sends_a_fresh_link_instead_of_a_second_invitation(
    alice_client, project, invited, mailoutbox
):
    first = Invitation.objects.get()
    response = invite(alice_client, project, who="NEW.person@example.com", role="viewer")
    assert response.status_code == 302
    again = Invitation.objects.get()
    assert again.pk == first.pk and again.role == Role.VIEWER
    assert again.expires_at > first.expires_at and again.token_hash != first.token_hash
    assert len(mailoutbox) == 2
    assert Client().get(f"/invitations/{invited}/").status_code == 404
    assert Client().get(f"/invitations/{last_token(mailoutbox)}/").status_code == 200


def test_an_address_with_an_account_is_invited_too_and_the_answer_is_the_same(alice_client, project, bob, mailoutbox):
    """Nobody joins without accepting, and the owner cannot tell which addresses have accounts."""
    answers = []
    for who in ("BOB@example.com", "nobody.here@example.com"):
        response = invite(alice_client, project, who=who, role="viewer")
        assert response.status_code == 302
        page = alice_client.get(response["Location"]).content.decode()
        answers.append(re.search(r"Invitation sent to [^<]*", page).group().replace(who.lower(), "<address>"))
    assert answers[0] == answers[1] == "Invitation sent to <address>."
    assert memberships(project) == [("alice", "owner")]
    assert sorted(Invitation.objects.values_list("email", flat=True)) == ["bob@example.com", "nobody.here@example.com"]
    assert [mail.to for mail in mailoutbox] == [["bob@example.com"], ["nobody.here@example.com"]]


def test_a_username_is_no_way_to_add_anyone(alice_client, project, bob, mailoutbox):
    response = invite(alice_client, project, who="bob", role="viewer")
    assert response.status_code == 400 and "Enter a valid email address" in response.content.decode()
    assert memberships(project) == [("alice", "owner")] and mailoutbox == []


@pytest.mark.parametrize(
    ("who", "role", "says"),
    [
        ("nobody", "editor", "Enter a valid email address"),
        ("someone@", "editor", "Enter a valid email address"),
        ("a b@example.com", "viewer", "Enter a valid email address"),
        ("new.person@example.com", "owner", "Select a valid choice"),
        ("new.person@example.com", "", "This field is required"),
        ("", "editor", "This field is required"),
    ],
)
def test_a_bad_address_or_role_says_why_and_changes_nothing(alice_client, project, mailoutbox, who, role, says):
    response = invite(alice_client, project, who=who, role=role)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not Invitation.objects.exists() and mailoutbox == []
    assert memberships(project) == [("alice", "owner")]


def test_a_mail_that_cannot_be_sent_leaves_no_invitation(alice_client, project, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr(invitations, "send_mail", refuse)
    response = invite(alice_client, project)
    assert response.status_code == 400
    assert "could not be sent: nothing was changed" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_project_name_with_line_breaks_still_makes_a_one_line_subject(alice_client, project, mailoutbox):
    project.name = "Line\nbreak"
    project.save()
    assert invite(alice_client, project).status_code == 302
    assert "\n" not in mailoutbox[0].subject and "Line break" in mailoutbox[0].subject


# --- The owner's list -----------------------------------------------------------------


def test_the_settings_page_lists_pending_invitations_with_resend_and_revoke(alice_client, project, invited):
    invitation = Invitation.objects.get()
    html = alice_client.get(f"/projects/{project.pk}/settings/").content.decode()
    assert "Pending invitations" in html and "new.person@example.com" in html and "Editor" in html
    assert f"/projects/{project.pk}/invitations/{invitation.pk}/resend/" in html
    assert f"/projects/{project.pk}/invitations/{invitation.pk}/revoke/" in html
    assert invited not in html and invitation.token_hash not in html


def test_resend_mails_a_new_link_and_the_old_one_stops_working(alice_client, project, invited, mailoutbox):
    invitation = Invitation.objects.get()
    response = alice_client.post(f"/projects/{project.pk}/invitations/{invitation.pk}/resend/")
    assert response.status_code == 302
    assert "Invitation sent again to new.person@example.com" in alice_client.get(response["Location"]).content.decode()
    assert len(mailoutbox) == 2 and Invitation.objects.count() == 1
    assert Client().get(f"/invitations/{invited}/").status_code == 404
    assert Client().get(f"/invitations/{last_token(mailoutbox)}/").status_code == 200


def test_resend_revives_an_expired_invitation(alice_client, project, invited, mailoutbox):
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert "Expired" in alice_client.get(f"/projects/{project.pk}/settings/").content.decode()
    alice_client.post(f"/projects/{project.pk}/invitations/{invitation.pk}/resend/")
    assert Client().get(f"/invitations/{last_token(mailoutbox)}/").status_code == 200


def test_revoke_kills_the_link_and_clears_the_list(alice_client, project, invited):
    invitation = Invitation.objects.get()
    response = alice_client.post(f"/projects/{project.pk}/invitations/{invitation.pk}/revoke/")
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert Client().get(f"/invitations/{invited}/").status_code == 404
    settings_page = alice_client.get(f"/projects/{project.pk}/settings/").content.decode()
    assert 'data-testid="invitation"' not in settings_page and "Pending invitations" not in settings_page
    # A revoked invitation is no longer there to resend or revoke again.
    assert alice_client.post(f"/projects/{project.pk}/invitations/{invitation.pk}/resend/").status_code == 404


@pytest.mark.parametrize("role", ["editor", "viewer", "outsider"])
def test_only_the_owner_invites_resends_and_revokes(project, invited, mailoutbox, role):
    invitation = Invitation.objects.get()
    dave = make_user("dave")
    if role != "outsider":
        add_member(project, dave, role)
    client = Client()
    client.force_login(dave)
    before = list(Invitation.objects.values())
    p = project.pk
    assert invite(client, project, who="someone.else@example.com").status_code == 404
    assert client.post(f"/projects/{p}/invitations/{invitation.pk}/resend/").status_code == 404
    assert client.post(f"/projects/{p}/invitations/{invitation.pk}/revoke/").status_code == 404
    assert list(Invitation.objects.values()) == before
    assert len(mailoutbox) == 1  # the owner's, from the fixture


def test_an_invitation_id_of_another_project_is_not_found(alice_client, project, invited, alice):
    from tests.library.fixtures import make_project

    other = make_project(alice)
    invitation = Invitation.objects.get()
    assert alice_client.post(f"/projects/{other.pk}/invitations/{invitation.pk}/revoke/").status_code == 404
    invitation.refresh_from_db()
    assert invitation.revoked_at is None


# --- Accepting ------------------------------------------------------------------------


def test_the_link_shows_what_the_invitation_is_to_a_visitor(invited):
    response = Client().get(f"/invitations/{invited}/")
    html = response.content.decode()
    assert "Alice&#x27;s game" in html and "alice" in html and "editor" in html
    assert "new.person@example.com" in html
    assert 'name="username"' in html and 'name="password1"' in html and 'name="password2"' in html
    assert re.search(r'<input[^>]*name="email"[^>]*disabled', html)  # shown, not editable
    assert f"/accounts/login/?next=/invitations/{invited}/" in html
    assert response["Referrer-Policy"] == "same-origin"  # no Referer to other sites; the page's own forms still pass CSRF
    assert "no-store" in response["Cache-Control"]


def test_a_visitor_creates_an_account_through_the_link_and_joins_signed_in(invited, project, settings):
    assert settings.SIGNUP_OPEN is False  # the invitation is the permission
    client = Client()
    response = client.post(f"/invitations/{invited}/", {**NEW_ACCOUNT, "email": "someone.else@example.com"})
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"
    nina = get_user_model().objects.get(username="nina")
    assert nina.email == "new.person@example.com"  # the invited address, whatever was posted
    assert memberships(project) == [("alice", "owner"), ("nina", "editor")]
    assert client.session["_auth_user_id"] == str(nina.pk)
    page = client.get(response["Location"])
    assert page.status_code == 200 and "You joined “Alice&#x27;s game” as editor." in page.content.decode()
    invitation = Invitation.objects.get()
    assert invitation.accepted_at is not None and invitation.accepted_by == nina


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({**NEW_ACCOUNT, "password1": "123", "password2": "123"}, "This password is too short"),
        ({**NEW_ACCOUNT, "password1": "new.person1", "password2": "new.person1"}, "too similar"),
        ({**NEW_ACCOUNT, "password2": "another-Pass-2026"}, "didn’t match"),
        ({**NEW_ACCOUNT, "username": "ALICE"}, "already exists"),
        ({**NEW_ACCOUNT, "username": ""}, "This field is required"),
    ],
)
def test_sign_up_through_the_link_follows_the_sign_up_rules(invited, project, data, says):
    response = Client().post(f"/invitations/{invited}/", data)
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not get_user_model().objects.filter(username__iexact=data["username"] or "-").exclude(username="alice").exists()
    assert memberships(project) == [("alice", "owner")]
    assert Invitation.objects.get().accepted_at is None


def test_sign_up_is_refused_when_an_account_took_the_address_meanwhile(invited, project):
    get_user_model().objects.create_user(username="np", email="New.Person@example.com", password="x")
    response = Client().post(f"/invitations/{invited}/", NEW_ACCOUNT)
    assert response.status_code == 400
    assert "An account already uses this address: sign in with it to join." in response.content.decode()
    assert not get_user_model().objects.filter(username="nina").exists()


def test_a_signed_in_user_joins_with_one_click(invited_bob, project, bob):
    client = Client()
    client.force_login(bob)
    page = client.get(f"/invitations/{invited_bob}/").content.decode()
    assert "Join project as bob" in page and 'name="password1"' not in page
    response = client.post(f"/invitations/{invited_bob}/")
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"
    assert memberships(project) == [("alice", "owner"), ("bob", "editor")]
    assert Invitation.objects.get().accepted_by == bob


def test_an_account_of_another_address_cannot_accept(invited, project, bob):
    """The invitation went to new.person@example.com; bob, signed in, holds the link."""
    client = Client()
    client.force_login(bob)
    page = client.get(f"/invitations/{invited}/").content.decode()
    assert "This invitation is for <strong>new.person@example.com</strong>" in page and "Join project as" not in page
    response = client.post(f"/invitations/{invited}/")
    assert response.status_code == 403
    assert memberships(project) == [("alice", "owner")]
    assert Invitation.objects.get().accepted_at is None
    with pytest.raises(Refused):
        invitations.accept(invitation=Invitation.objects.get(), user=bob)
    assert memberships(project) == [("alice", "owner")]


def test_a_member_accepting_keeps_the_membership_they_have(project, bob, mailoutbox):
    add_member(project, bob, Role.EDITOR)
    invitations.invite(
        project=project, email="bob@example.com", role=Role.VIEWER, invited_by=project.owner, base_url="http://testserver"
    )
    invitation_token = last_token(mailoutbox)
    client = Client()
    client.force_login(bob)
    assert "already a member" in client.get(f"/invitations/{invitation_token}/").content.decode()
    response = client.post(f"/invitations/{invitation_token}/")
    assert response.status_code == 302
    assert "You were already a member" in client.get(response["Location"]).content.decode()
    assert memberships(project) == [("alice", "owner"), ("bob", "editor")]
    assert Invitation.objects.get().accepted_at is not None
    assert client.post(f"/invitations/{invitation_token}/").status_code == 404


def test_the_sign_in_link_comes_back_to_the_invitation(invited_bob, project, bob):
    client = Client()
    response = client.post("/accounts/login/", {"username": "bob", "password": "pw-bob", "next": f"/invitations/{invited_bob}/"})
    assert response.status_code == 302 and response["Location"] == f"/invitations/{invited_bob}/"
    assert client.post(response["Location"]).status_code == 302
    assert ("bob", "editor") in memberships(project)


def test_signing_in_from_an_invitation_is_still_throttled(invited, bob, settings):
    client = Client()
    next_url = f"/invitations/{invited}/"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "bob", "password": "guess", "next": next_url})
    response = client.post("/accounts/login/", {"username": "bob", "password": "pw-bob", "next": next_url})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_accepting_needs_the_csrf_token(invited, project, bob):
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/invitations/{invited}/", NEW_ACCOUNT).status_code == 403
    client.force_login(bob)
    assert client.post(f"/invitations/{invited}/").status_code == 403
    assert memberships(project) == [("alice", "owner")]
    assert not get_user_model().objects.filter(username="nina").exists()


# --- Dead links -----------------------------------------------------------------------


def kill(kind: str, token: str) -> str:
    """Make the invitation of `token` expired, revoked or used; or give an unknown token."""
    now = timezone.now()
    if kind == "expired":
        Invitation.objects.update(expires_at=now - timedelta(seconds=1))
    elif kind == "revoked":
        Invitation.objects.update(revoked_at=now)
    elif kind == "used":
        Invitation.objects.update(accepted_at=now)
    elif kind == "unknown":
        return token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    return token


DEAD = ["expired", "revoked", "used", "unknown"]


@pytest.mark.parametrize("kind", DEAD)
def test_a_dead_or_unknown_link_is_a_plain_404_and_changes_nothing(invited, project, bob, kind):
    token = kill(kind, invited)
    before = (list(Invitation.objects.values()), list(Membership.objects.values()), get_user_model().objects.count())
    visitor = Client()
    assert visitor.get(f"/invitations/{token}/").status_code == 404
    assert visitor.post(f"/invitations/{token}/", NEW_ACCOUNT).status_code == 404
    member = Client()
    member.force_login(bob)
    assert member.get(f"/invitations/{token}/").status_code == 404
    assert member.post(f"/invitations/{token}/").status_code == 404
    assert (list(Invitation.objects.values()), list(Membership.objects.values()), get_user_model().objects.count()) == before
    assert "_auth_user_id" not in visitor.session


def test_every_dead_link_gets_the_same_answer(alice_client, project, mailoutbox):
    answers = set()
    for kind in DEAD:
        Invitation.objects.all().delete()
        invite(alice_client, project)
        token = kill(kind, last_token(mailoutbox))
        response = Client().get(f"/invitations/{token}/")
        answers.add((response.status_code, response.content))
    assert len(answers) == 1


def test_a_link_works_once(invited, project, bob):
    first = Client()
    assert first.post(f"/invitations/{invited}/", NEW_ACCOUNT).status_code == 302
    second = Client()
    second.force_login(bob)
    assert second.post(f"/invitations/{invited}/").status_code == 404
    assert memberships(project) == [("alice", "owner"), ("nina", "editor")]


def test_an_invitation_read_before_it_was_used_cannot_be_accepted_again(invited_bob, project, bob):
    """Two requests read the invitation while live; the first claim wins, the second finds it gone."""
    stale = Invitation.objects.get()
    invitations.accept(invitation=Invitation.objects.get(), user=bob)
    with pytest.raises(invitations.InvitationGone):
        invitations.accept(invitation=stale, user=bob)

    class Form:  # the account would be created inside the claim's transaction
        def save(self):
            return get_user_model().objects.create_user(username="late", password="x", email="bob@example.com")

    with pytest.raises(invitations.InvitationGone):
        invitations.accept_with_new_account(invitation=stale, form=Form())
    assert not get_user_model().objects.filter(username="late").exists()
    assert memberships(project) == [("alice", "owner"), ("bob", "editor")]


@pytest.mark.django_db(transaction=True)
def test_concurrent_accepts_of_one_link_make_one_membership(project, mailoutbox):
    invitations.invite(project=project, email="x@example.com", role=Role.VIEWER, invited_by=project.owner, base_url="http://testserver")
    invitation = Invitation.objects.get()
    users = [make_user(f"racer{i}") for i in range(6)]
    get_user_model().objects.filter(username__startswith="racer").update(email="x@example.com")  # one address, six accounts
    users = list(get_user_model().objects.filter(username__startswith="racer"))
    start, outcomes = threading.Barrier(len(users)), []

    def race(user):
        try:
            start.wait()
            invitations.accept(invitation=invitation, user=user)
            outcomes.append("joined")
        except invitations.InvitationGone:
            outcomes.append("gone")
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=race, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["gone"] * 5 + ["joined"]
    assert project.memberships.filter(user__username__startswith="racer").count() == 1


# --- Secrets --------------------------------------------------------------------------


def test_the_admin_lists_invitations_but_never_their_token_or_its_hash(admin_client, invited):
    invitation = Invitation.objects.get()
    for url in ("/admin/studio/invitation/", f"/admin/studio/invitation/{invitation.pk}/change/"):
        response = admin_client.get(url)
        page = response.content.decode()
        assert response.status_code == 200 and "new.person@example.com" in page, url
        assert invited not in page and invitation.token_hash not in page, url
    assert admin_client.get("/admin/studio/invitation/add/").status_code == 403


def test_invitation_tokens_never_reach_the_logs(invited):
    line = f'"GET /invitations/{invited}/ HTTP/1.1" 200 · /accounts/login/?next=/invitations/{invited}/'
    assert invited not in redact(line)
    assert redact('"POST /projects/3/invitations/12/revoke/ HTTP/1.1" 302') == '"POST /projects/3/invitations/12/revoke/ HTTP/1.1" 302'
