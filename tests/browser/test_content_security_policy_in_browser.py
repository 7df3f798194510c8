"""Every page works under the Content-Security-Policy: Chromium reports no violation, as an event
or in the console, while the project page switches models, generates and polls, and while the
library, a track, the share links, a shared page and the settings are used."""

import re

import pytest
from playwright.sync_api import expect

from studio.models import Track
from tests.browser.helpers import play_in_player
from tests.browser.test_generate_in_browser import sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
}"""


def is_about_the_policy(text: str) -> bool:
    return "Content Security Policy" in text or "Refused to" in text


def watch(page):
    """What the console says about the policy, and the violation events, from every document."""
    problems = []
    page.on("console", lambda message: is_about_the_policy(message.text) and problems.append(f"console: {message.text}"))
    page.add_init_script(f"({LISTEN})()")
    return problems


def violations(page) -> list[str]:
    return page.evaluate("window.__violations || []")


def test_the_pages_run_under_the_policy_without_a_violation(strict_page, live_server, emulator, worker):
    page = strict_page
    make_user("dana")
    problems = watch(page)
    sign_in(page, live_server, "dana", "pw-dana")
    seen = []

    page.get_by_label("Name").fill("Policy game")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Policy game").wait_for()
    page.get_by_label("Model").select_option(label="Eleven v3 speech (Pixazo)")
    page.get_by_label("Text").wait_for()
    page.get_by_label("Model").select_option(label="ElevenLabs Music (Pixazo)")
    page.get_by_label("Prompt").fill("Calm harbour at dawn")
    page.get_by_role("button", name="Generate").click()
    # Playwright's own polling (not wait_for_function, whose string the policy refuses to eval).
    expect(page.locator("#cards article [data-testid=card-state]").first).to_have_text(re.compile("ready", re.I), timeout=30_000)
    seen += violations(page)
    project_url = page.url

    track = Track.objects.get()
    for path in (f"/tracks/{track.pk}/", f"{project_url.removeprefix(live_server.url)}settings/", "/search/?q=harbour"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        seen += violations(page)

    page.goto(f"{project_url}shares/")
    page.get_by_label("Downloads allowed").check()
    page.get_by_role("button", name="Create share link").click()
    page.get_by_test_id("share-url").first.wait_for()
    page.get_by_role("button", name="Copy").first.click()
    seen += violations(page)
    shared = page.get_by_test_id("share-url").first.input_value()

    played = []
    page.on("request", lambda request: "/played/" in request.url and played.append(request.method))
    page.goto(shared)
    assert play_in_player(page, page.locator("[data-track-play]").first) > 0
    page.wait_for_timeout(500)
    seen += violations(page)

    assert seen == [], seen
    assert problems == [], "\n".join(problems)
    assert played == ["POST"]  # the play was counted once, by the page's own script
