"""An invitation end to end: the owner invites an address that has no account; the link in the
mail creates the account and opens the project."""

import re

import pytest
from django.core import mail

from studio.teams.services import create_project
from tests.browser.helpers import sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_invite_by_email_then_join_with_a_new_account(browser, page, live_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    ann = make_user("ann")
    project = create_project(owner=ann, name="Harbour game")

    sign_in(page, live_server, "ann", "pw-ann")
    page.goto(f"{live_server.url}/projects/{project.pk}/settings/")
    page.get_by_label("E-mail address").fill("Guest@Example.com")
    page.get_by_label("Role", exact=True).select_option("editor")
    page.get_by_role("button", name="Invite").click()
    page.get_by_text("Invitation sent to guest@example.com.").wait_for()
    assert page.get_by_test_id("invitation").filter(has_text="guest@example.com").count() == 1

    link = re.search(r"http://\S+/invitations/[\w-]+/", mail.outbox[-1].body).group(0)
    guest_context = browser.new_context()
    guest = guest_context.new_page()
    guest.set_default_timeout(20_000)
    guest.goto(link)
    guest.get_by_role("heading", name="Join “Harbour game”").wait_for()
    assert guest.get_by_label("E-mail address").is_disabled()
    guest.get_by_label("Username").fill("gus")
    guest.get_by_label("Password", exact=True).fill("a-Long-pass-2026")
    guest.get_by_label("Password confirmation").fill("a-Long-pass-2026")
    guest.get_by_role("button", name="Create account and join").click()
    guest.get_by_text("You joined “Harbour game” as editor.").wait_for()
    guest.get_by_role("heading", name="Harbour game").wait_for()
    guest_context.close()
