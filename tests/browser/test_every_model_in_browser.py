"""Every catalog model from the browser: pick it, fill its own fields, generate, and play the
track once the card turns Ready by itself."""

import pytest

from studio.catalog import MODELS
from tests.conftest import make_user

from tests.browser.helpers import play_in_player, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMPTS = {"music": "Calm piano over soft rain", "speech": "Welcome to the studio.", "sfx": "A heavy door creaks open"}

def test_every_model_generates_a_track_that_plays(page, live_server, emulator, worker):
    make_user("gus")
    sign_in(page, live_server, "gus", "pw-gus")
    page.get_by_label("Name").fill("Every model")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("heading", name="Every model").wait_for()

    page.wait_for_function("document.querySelector('#generate-form select[name=model]')?.['htmx-internal-data']?.initHash")
    for model in MODELS:
        # Wait for this model's own fields to be swapped in before typing.
        page.evaluate("document.getElementById('model-fields').dataset.stale = 'yes'")
        page.get_by_label("Model", exact=True).select_option(label=model.label)
        fields = page.locator(f'#model-fields[data-model="{model.key}"]:not([data-stale])')
        fields.wait_for()
        prompt_label = next(p.label for p in model.spec.params if p.name == model.spec.prompt_param)
        fields.get_by_label(prompt_label, exact=True).fill(f"{PROMPTS[model.kind]} ({model.label})")
        page.get_by_role("button", name="Generate").click()
        page.locator("#cards article", has_text=model.label).first.wait_for()
        # The answer also brings a fresh form: pick the next model only once htmx has wired its
        # model picker (htmx 2 marks a processed element with an init hash), as a person would.
        page.wait_for_function(
            "document.querySelector('#generate-form select[name=model]')?.['htmx-internal-data']?.initHash"
        )

    cards = page.locator("#cards article")
    assert cards.count() == len(MODELS)
    page.wait_for_function(
        "[...document.querySelectorAll('#cards article [data-testid=card-state]')]"
        ".every(b => ['ready', 'failed'].includes(b.innerText.toLowerCase()))",
        timeout=60_000,
    )
    for model in MODELS:
        card = page.locator("#cards article", has_text=model.label).first
        state = card.get_by_test_id("card-state").inner_text()
        assert state.lower() == "ready", f"{model.label}: {card.inner_text()}"
        assert play_in_player(page, card.locator("[data-track-play]").first) > 0.2, model.label
