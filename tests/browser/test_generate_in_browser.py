"""The first whole slice in a real browser: sign in, create a project, generate with Pixazo,
watch the card turn Ready without a reload, play and download the track."""

import pytest
from django.conf import settings

from tests.browser.helpers import play_in_player, sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_generate_watch_play_and_download(page, live_server, emulator, worker):
    make_user("dana")
    sign_in(page, live_server, "dana", "pw-dana")

    page.get_by_label("Name").fill("Forest game")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Forest game").wait_for()
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # Switching the model swaps its own fields in place.
    page.get_by_label("Model").select_option(label="Eleven v3 speech (Pixazo)")
    page.get_by_label("Text").wait_for()
    assert page.get_by_label("Voice").is_visible()
    page.get_by_label("Model").select_option(label="ElevenLabs Music (Pixazo)")
    page.get_by_label("Prompt").fill("Mysterious jungle <b>soundtrack</b>, woodwinds, tribal percussion")
    page.get_by_label("Output format").select_option("mp3_44100_128")
    page.get_by_role("button", name="Generate").click()

    card = page.locator("#cards article").first
    card.wait_for()
    assert page.locator("#no-cards").is_hidden()  # the empty project's words go with its first card
    assert "Mysterious jungle <b>soundtrack</b>" in card.locator(".prompt").inner_text()  # escaped, shown as text
    badge = card.get_by_test_id("card-state")
    assert badge.inner_text().lower() in ("queued", "generating", "ready")
    page.wait_for_function(
        "document.querySelector('#cards article [data-testid=card-state]').innerText.toLowerCase() === 'ready'",
        timeout=30_000,
    )
    assert page.evaluate("window.__sameDocument") is True

    # Nothing pending: the page slows down to the idle pace (teammates may still start jobs).
    polls = []
    page.on("request", lambda request: "/cards/" in request.url and polls.append(request.url))
    page.wait_for_timeout(3 * settings.CARD_REFRESH_MS)
    assert len(polls) <= 1

    duration = play_in_player(page, card.locator("[data-track-play]").first)
    assert duration > 0.5
    assert card.locator(".waveform").first.get_attribute("data-peaks")  # the worker drew its waveform

    with page.expect_download() as info:
        card.get_by_role("link", name="Download").click()
    download = info.value
    assert download.suggested_filename == "Mysterious jungle bsoundtrackb, woodwinds, tribal percussion.mp3"  # as typed
    assert open(download.path(), "rb").read(3) in (b"ID3",) or open(download.path(), "rb").read(2)[0] == 0xFF


def test_a_provider_error_reaches_the_card_in_plain_words(page, live_server, emulator, worker):
    make_user("eve")
    sign_in(page, live_server, "eve", "pw-eve")
    page.get_by_label("Name").fill("Broke")
    page.get_by_role("button", name="Create project").click()
    page.get_by_label("Prompt").fill("A tune [emulate:402]")
    page.get_by_role("button", name="Generate").click()

    page.wait_for_function(
        "document.querySelector('#cards article [data-testid=card-state]')?.innerText.toLowerCase() === 'failed'"
    )
    problem = page.locator("#cards article .error").inner_text()
    assert problem == "The Pixazo account is out of credit, so trying again will not help."
    assert page.locator("#cards article .fix").inner_text() == "Top up credits at Pixazo (the studio's Pixazo account), then generate again."
    assert page.locator("#cards article").get_by_role("button", name="Retry").count() == 0  # a retry cannot help


def test_out_of_range_input_shows_field_errors_and_starts_nothing(page, live_server, emulator):
    from studio.models import Generation

    make_user("finn")
    sign_in(page, live_server, "finn", "pw-finn")
    page.get_by_label("Name").fill("Voices")
    page.get_by_role("button", name="Create project").click()
    page.get_by_label("Model").select_option(label="Eleven v3 speech (Pixazo)")
    page.get_by_label("Text").fill("Hello")
    page.get_by_label("Speed").fill("2.5")
    page.get_by_role("button", name="Generate").click()

    page.get_by_text("Ensure this value is less than or equal to 2.0").wait_for()
    assert Generation.objects.count() == 0


def test_a_model_picked_before_the_page_is_ready_still_gets_its_fields(page, live_server):
    from studio.models import Project

    make_user("gail")
    sign_in(page, live_server, "gail", "pw-gail")
    page.get_by_label("Name").fill("Early picks")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Early picks").wait_for()
    project = Project.objects.get(name="Early picks")

    # The page's script arrives late, as on a slow connection; the person picks a model meanwhile.
    held = []
    page.route("**/htmx*.js", lambda route: held.append(route))
    page.goto(f"{live_server.url}/projects/{project.pk}/", wait_until="commit")
    page.get_by_label("Model").select_option(label="Eleven v3 speech (Pixazo)")
    assert page.get_by_label("Text").count() == 0  # the previous model's fields, for now
    while not held:  # the route handler runs while the test waits
        page.wait_for_timeout(50)
    held[0].continue_()

    page.get_by_label("Text").wait_for()
    assert page.get_by_label("Model").input_value() == "pixazo-eleven-v3-speech"
