"""The project page as a team's room, in a real browser: two members see each other's jobs and
library changes live; the one player keeps playing across refreshes, seeks where the waveform is
clicked and answers the keyboard; a job that ends in a background tab is counted in the title and
notified; nothing overflows at 375 px; axe-core finds no serious accessibility violation."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from providers.emulator.audio import render
from studio.audio.waveform import stored_peaks
from studio.models import Generation, Role, ShareLink
from studio.teams.services import create_project
from tests.browser.helpers import play_in_player, player, sign_in
from tests.conftest import make_user
from tests.library.fixtures import add_member, make_track

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def quick_pages(settings):
    settings.CARD_REFRESH_MS = 500
    settings.CARD_IDLE_REFRESH_MS = 800
    settings.CARD_HIDDEN_SLOWDOWN = 2
    return settings


@pytest.fixture
def studio(quick_pages):
    """Ann owns a project Ben edits, with three 20-second tracks (and their waveforms)."""
    ann, ben = make_user("ann"), make_user("ben")
    project = create_project(owner=ann, name="Harbour game")
    add_member(project, ben, Role.EDITOR)
    tracks = []
    for title in ("Foghorn", "Gulls", "Tide"):
        track = make_track(project, ann, title=title, data=render(title, 20.0, "wav", 8000).data, duration=20.0)
        track.peaks = stored_peaks(track.file.name)
        track.save(update_fields=["peaks"])
        tracks.append(track)
    return project, tracks


def open_as(browser, live_server, username, project, **context):
    # The tests wait on evaluated expressions, which the page's own policy refuses (the policy has a test of its own).
    page = browser.new_context(**{"bypass_csp": True, **context}).new_page()
    page.set_default_timeout(20_000)
    sign_in(page, live_server, username, f"pw-{username}")
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    return page


def test_two_members_see_each_others_jobs_and_library_changes_live(browser, live_server, emulator, worker, studio):
    project, tracks = studio
    ann = open_as(browser, live_server, "ann", project)
    ben = open_as(browser, live_server, "ben", project)

    # Ann has half typed a search and ticked a track; Ben starts a job.
    ann.locator(f"#select-{tracks[1].pk}").check()
    search = ann.get_by_label("Search", exact=True)
    search.fill("fog")  # not sent yet: the field still has focus
    ben.get_by_label("Prompt").fill("Lighthouse at dawn, strings")
    ben.get_by_role("button", name="Generate").click()

    # It reaches Ann's page without a reload, then turns Ready there, and her library counts it.
    card = ann.locator("#cards article", has_text="Lighthouse at dawn")
    card.wait_for()
    ann.wait_for_function(
        "[...document.querySelectorAll('#cards article')].some(a => a.innerText.includes('Lighthouse')"
        " && a.querySelector('[data-testid=card-state]').innerText.toLowerCase() === 'ready')",
        timeout=30_000,
    )
    ann.get_by_test_id("result-count").filter(has_text="4 tracks").wait_for()
    assert "by ben" in card.inner_text()

    # Ben renames one of Ann's tracks: her library follows; what she typed, ticked and focused stays.
    ben.goto(f"{live_server.url}/tracks/{tracks[0].pk}/")
    ben.get_by_label("Title").fill("Foghorn at night")
    ben.get_by_role("button", name="Rename").click()
    ann.locator("#library-results").get_by_role("link", name="Foghorn at night").wait_for()
    assert search.input_value() == "fog"
    assert ann.evaluate("document.activeElement.id") == search.get_attribute("id")
    assert ann.locator(f"#select-{tracks[1].pk}").is_checked()
    assert ann.evaluate("window.__sameDocument") is True and ben.evaluate("document.title").startswith("Foghorn")


def test_the_player_keeps_playing_across_a_card_refresh_and_a_library_change(browser, live_server, studio):
    project, tracks = studio
    page = open_as(browser, live_server, "ann", project)
    row = page.locator(f"#library-results [data-track-play='{tracks[2].pk}']")
    assert play_in_player(page, row) == pytest.approx(20.0, abs=0.2)
    page.wait_for_function("document.querySelector('[data-player-audio]').currentTime > 0.3")
    assert page.get_by_test_id("player-bar").is_visible()

    # A teammate's job appears and the library changes, both swapped into the page meanwhile.
    Generation.objects.create(project=project, created_by=tracks[0].generation.created_by, model_key="pixazo-eleven-music",
                              params={"prompt": "Queued by a teammate"})  # fmt: skip
    make_track(project, tracks[0].generation.created_by, title="Landed meanwhile")
    from studio.models import library_changed  # the page learns of the new track the way services tell it

    library_changed([project.pk])
    page.locator("#cards article", has_text="Queued by a teammate").wait_for()
    page.locator("#library-results").get_by_role("link", name="Landed meanwhile").wait_for()

    at = player(page, "audio.currentTime")
    page.wait_for_timeout(400)
    assert player(page, "!audio.paused") and player(page, "audio.currentTime") > at
    assert player(page, "audio.src").endswith(f"/tracks/{tracks[2].pk}/audio/")
    assert page.locator(f"#library-results [data-track-play='{tracks[2].pk}']").get_attribute("class").count("is-playing")
    assert page.locator("audio").count() == 1  # one player on the page, never one per track


def test_clicking_a_waveform_seeks_and_the_played_part_is_shaded(browser, live_server, studio):
    project, tracks = studio
    page = open_as(browser, live_server, "ann", project)
    row = page.locator(f"#library-results [data-track-play='{tracks[0].pk}']")
    play_in_player(page, row)
    page.locator("[data-player='toggle']").click()  # pause
    wave = row.locator(".waveform")
    # Where the seek lands is read when it lands, and playing stops there: a busy machine may
    # otherwise play on past the mark before the test looks.
    player(page, "(window.__seekedTo = null, audio.addEventListener('seeked', () => {"
                 " window.__seekedTo = audio.currentTime; audio.pause(); }, {once: true}), true)")
    box = wave.bounding_box()  # the locator's click scrolls the row into view and waits until nothing covers it
    wave.click(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    page.wait_for_function("window.__seekedTo !== null")
    assert page.evaluate("window.__seekedTo") == pytest.approx(15.0, abs=0.6)
    # Left of the click the bars are drawn in the "played" colour, right of it in the other.
    shaded = wave.evaluate(
        """(wave) => {
            const canvas = wave.querySelector('canvas'), context = canvas.getContext('2d');
            const column = (x) => { const d = context.getImageData(Math.round(x), 0, 1, canvas.height).data;
                                    for (let i = 0; i < d.length; i += 4) if (d[i + 3]) return [d[i], d[i + 1], d[i + 2]];
                                    return null; };
            return [column(canvas.width * 0.3), column(canvas.width * 0.9)];
        }"""
    )
    assert shaded[0] and shaded[1] and shaded[0] != shaded[1]
    expect(page.locator("[data-player-wave]")).to_have_attribute("aria-valuetext", "0:15 of 0:20")


def test_keyboard_shortcuts_and_none_while_typing(browser, live_server, studio):
    project, tracks = studio
    page = open_as(browser, live_server, "ann", project)
    page.evaluate("document.querySelector('[data-player-audio]').muted = true")
    page.locator("h1").click()  # focus on nothing in particular

    page.keyboard.press("Space")
    page.wait_for_function("!document.querySelector('[data-player-audio]').paused")
    page.keyboard.press("Space")
    page.wait_for_function("document.querySelector('[data-player-audio]').paused")
    first = page.locator("[data-player-title]").inner_text()
    page.wait_for_function("document.querySelector('[data-player-audio]').duration > 0")  # seeking needs the length
    page.keyboard.press("l")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("document.querySelector('[data-player-audio]').currentTime >= 9.5")
    page.keyboard.press("j")
    page.wait_for_function("document.querySelector('[data-player-audio]').currentTime < 6")
    page.keyboard.press("k")
    page.wait_for_function(f"document.querySelector('[data-player-title]').innerText !== {first!r}")
    second = page.locator("[data-player-title]").inner_text()
    page.keyboard.press("Shift+K")
    page.wait_for_function(f"document.querySelector('[data-player-title]').innerText === {first!r}")
    page.keyboard.press("ArrowDown")
    page.wait_for_function(f"document.querySelector('[data-player-title]').innerText === {second!r}")

    # Typing in a field: the keys are letters, not commands.
    page.locator("[data-player='toggle']").click()
    page.wait_for_function("document.querySelector('[data-player-audio]').paused")
    page.get_by_label("Prompt").fill("")
    page.get_by_label("Prompt").type("kjl ")
    assert page.get_by_label("Prompt").input_value() == "kjl "
    assert page.locator("[data-player-title]").inner_text() == second
    assert player(page, "audio.paused")

    # Ctrl+Enter in the generate form generates.
    page.get_by_label("Prompt").fill("Sent from the keyboard")
    page.get_by_label("Prompt").press("Control+Enter")
    page.locator("#cards article", has_text="Sent from the keyboard").wait_for()
    assert page.evaluate("document.activeElement.closest('article')?.innerText.includes('Sent from the keyboard')")
    page.wait_for_function("document.getElementById('announcer').textContent.startsWith('Started:')")


HIDE_TAB = """(() => {
    window.__hidden = false;
    Object.defineProperty(document, 'hidden', {get: () => window.__hidden, configurable: true});
    Object.defineProperty(document, 'visibilityState', {get: () => window.__hidden ? 'hidden' : 'visible', configurable: true});
    window.__notifications = [];
    class RecordedNotification {
        static permission = 'granted';
        static requestPermission() { return Promise.resolve('granted'); }
        constructor(title, options) { this.title = title; this.options = options; window.__notifications.push(this); }
        close() { this.closed = true; }
    }
    window.Notification = RecordedNotification;
})()"""


def test_a_job_that_ends_in_a_background_tab_is_counted_and_notified(browser, live_server, emulator, worker, studio):
    project, _ = studio
    page = open_as(browser, live_server, "ann", project, permissions=["notifications"])
    page.context.add_init_script(HIDE_TAB)
    page.reload()
    assert page.evaluate("Notification.permission") == "granted"
    page.get_by_label("Prompt").fill("Night watch")
    page.get_by_role("button", name="Generate").click()
    page.locator("#cards article", has_text="Night watch").wait_for()
    page.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")

    page.wait_for_function("window.__notifications.length === 1", timeout=30_000)
    assert page.evaluate("window.__notifications[0].title") == "Ready: Night watch"
    assert page.title().startswith("(1) Harbour game")
    page.evaluate("window.__hidden = false; window.__notifications[0].onclick()")
    assert page.evaluate("document.activeElement.closest('article')?.innerText.includes('Night watch')")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    assert page.title().startswith("Harbour game")


def main_pages(live_server, project, tracks):
    link = ShareLink.objects.create(project=project, track=tracks[0], allow_download=True)
    return [
        "/", f"/projects/{project.pk}/", f"/tracks/{tracks[0].pk}/", "/search/?q=gulls", f"/projects/{project.pk}/settings/",
        f"/projects/{project.pk}/shares/", f"/s/{link.token}/", "/no-such-page/", f"/projects/{project.pk}/cards/older/?before=1",
    ]


def test_no_main_page_overflows_at_375_px(browser, live_server, studio):
    project, tracks = studio
    Generation.objects.create(project=project, created_by=tracks[0].generation.created_by, model_key="elevenlabs-speech",
                              params={"text": "A very long line " * 30}, state=Generation.State.FAILED, error_kind="auth")  # fmt: skip
    page = open_as(browser, live_server, "ann", project, viewport={"width": 375, "height": 800})
    play_in_player(page, page.locator("#library-results [data-track-play]").first)  # the player bar shown too
    for path in main_pages(live_server, project, tracks):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), path
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.get_by_label("Model", exact=True).select_option(label="ElevenLabs speech")
    page.locator("#model-fields[data-model='elevenlabs-speech']").wait_for()
    page.get_by_text("More options").click()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_the_main_pages_have_no_serious_accessibility_violations(browser, live_server, studio):
    project, tracks = studio
    page = open_as(browser, live_server, "ann", project)
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    axe = Axe()
    for path in main_pages(live_server, project, tracks):
        page.goto(live_server.url + path)
        results = axe.run(page, options={"runOnly": ["wcag2a", "wcag2aa", "best-practice"]})
        serious = [
            (v["id"], [node["target"] for node in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], path
    # Every field's aria-describedby names an element that exists, and switching models logs nothing.
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    for label in ("ElevenLabs speech", "Eleven Music v1 (Runware)", "ElevenLabs Music (Pixazo)"):
        page.get_by_label("Model", exact=True).select_option(label=label)
        page.wait_for_timeout(500)
        dangling = page.evaluate(
            """() => [...document.querySelectorAll('[aria-describedby]')].flatMap(el =>
                el.getAttribute('aria-describedby').split(/\\s+/).filter(id => !document.getElementById(id)))"""
        )
        assert dangling == [], label
    assert [e for e in errors if "404" not in e] == []
    assert page.locator("a.skip-link").get_attribute("href") == "#main"
    assert page.evaluate("document.querySelector('link[rel=icon]').href").endswith("favicon.svg")
