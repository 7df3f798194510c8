"""The library end to end: a project shared with a viewer, found by search and played; a share
link that works without an account until it is revoked."""

import re

import pytest
from django.core import mail

from tests.browser.helpers import play_in_player, sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_share_with_a_viewer_then_with_anyone_then_revoke(browser, page, live_server, emulator, worker, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    make_user("ann")
    make_user("ben")
    page.on("dialog", lambda dialog: dialog.accept())

    # Ann makes a project and a track.
    sign_in(page, live_server, "ann", "pw-ann")
    page.get_by_label("Name").fill("Harbour game")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Harbour game").wait_for()
    page.get_by_label("Prompt").fill("Foghorn lullaby over a sleepy harbour")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function(
        "document.querySelector('#cards article [data-testid=card-state]')?.innerText.toLowerCase() === 'ready'",
        timeout=30_000,
    )
    project_url = page.url

    # Ann invites Ben as a viewer; Ben signs in and accepts.
    page.get_by_role("link", name="Settings and members").click()
    page.get_by_label("E-mail address").fill("ben@example.com")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Invite").click()
    page.get_by_text("Invitation sent to ben@example.com.").wait_for()
    link = re.search(r"http://\S+/invitations/[\w-]+/", mail.outbox[-1].body).group(0)

    # Ben finds it by search, plays it, and has no way to delete it.
    ben_context = browser.new_context()
    ben = ben_context.new_page()
    ben.set_default_timeout(20_000)
    sign_in(ben, live_server, "ben", "pw-ben")
    ben.goto(link)
    ben.get_by_role("button", name="Join project as ben").click()
    ben.get_by_text("You joined “Harbour game” as viewer.").wait_for()
    ben.goto(f"{live_server.url}/")
    ben.get_by_label("Search every project").fill("foghorn")
    ben.get_by_role("button", name="Search").click()
    row = ben.get_by_test_id("track-row").filter(has_text="Foghorn lullaby")
    row.wait_for()
    assert ben.get_by_test_id("track-row").count() == 1
    assert play_in_player(ben, row.locator("[data-track-play]")) > 0
    row.get_by_role("link", name="Foghorn lullaby over a sleepy harbour").click()
    ben.get_by_role("heading", name="Foghorn lullaby over a sleepy harbour").wait_for()
    assert ben.get_by_role("button", name="Delete track").count() == 0
    ben.goto(project_url)
    assert ben.locator("#bulk-action option[value=delete]").count() == 0
    assert ben.get_by_role("link", name="Share links").count() == 0
    ben_context.close()

    # Ann shares the track with downloads allowed.
    page.goto(project_url)
    page.locator("#cards article .track-title a").first.click()
    page.get_by_label("Downloads allowed").check()
    page.get_by_role("button", name="Create share link").click()
    share_url = page.get_by_test_id("share-url").first.input_value()
    assert "/s/" in share_url

    # Anyone with the link, no session at all, downloads the track.
    stranger_context = browser.new_context(accept_downloads=True)
    stranger = stranger_context.new_page()
    stranger.set_default_timeout(20_000)
    response = stranger.goto(share_url)
    assert response.status == 200
    stranger.get_by_role("heading", name="Foghorn lullaby over a sleepy harbour").wait_for()
    assert play_in_player(stranger, stranger.locator("[data-track-play]")) > 0
    with stranger.expect_download() as info:
        stranger.get_by_role("link", name="Download").click()
    download = info.value
    stem, _, extension = download.suggested_filename.rpartition(".")
    assert stem == "Foghorn lullaby over a sleepy harbour"
    head = open(download.path(), "rb").read(4)
    assert {"wav": head == b"RIFF", "mp3": head[:3] == b"ID3" or head[0] == 0xFF}[extension]

    from studio.models import ShareLink

    link = ShareLink.objects.get()
    assert link.plays >= 1 and link.downloads == 1

    # Ann revokes it; the same address now fails and shows nothing of the track.
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("The link no longer works").wait_for()
    response = stranger.goto(share_url)
    assert response.status == 404
    assert "Foghorn" not in stranger.content()
    stranger_context.close()
