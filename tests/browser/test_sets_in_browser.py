"""A set in a real browser: three prompts × three models from the compare form, the grid filling in
without a reload, a pick, and the ZIP with its manifest."""

import io
import json
import zipfile

import pytest
from django.conf import settings

from tests.browser.test_generate_in_browser import sign_in
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MODELS = ("ElevenLabs Music (Pixazo) · Music", "Stable Audio (AI/ML API) · Music", "Eleven Music (any gateway) · Music")
PROMPTS = ("Calm piano over rain", "Upbeat synthwave with a driving bassline", "Tribal percussion at night")


def test_a_three_by_three_set_fills_in_live_takes_a_pick_and_zips_with_its_manifest(page, live_server, emulator, worker):
    make_user("hana")
    sign_in(page, live_server, "hana", "pw-hana")
    page.get_by_label("Name").fill("Score ideas")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("link", name="Compare models and prompts").click()

    for label in MODELS:
        page.get_by_label(label).check()
    page.get_by_label("Prompts").fill("\n".join(PROMPTS))
    page.get_by_label("Length (seconds)").fill("20")
    page.get_by_label("Output format").select_option("mp3_192")
    page.get_by_role("button", name="Start the set").click()
    page.get_by_role("heading", name="Set").first.wait_for()
    assert "/sets/" in page.url
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    cells = page.locator(".set-grid td.set-cell")
    assert cells.count() == 9
    assert page.locator(".set-grid tbody th").all_inner_texts()[0].endswith(PROMPTS[0])
    page.wait_for_function(
        "[...document.querySelectorAll('.set-grid [data-testid=card-state]')].filter(b => b.innerText.toLowerCase() === 'ready').length === 9",
        timeout=40_000,
    )
    assert page.evaluate("window.__sameDocument") is True
    page.locator(".set-grid [data-testid=waveform] canvas").first.wait_for()  # drawn from the stored peaks
    assert "Sent to Pixazo, the preferred gateway" in cells.nth(2).inner_text()

    polls = []  # finished: the page stops asking
    page.on("request", lambda request: "/cards/" in request.url and polls.append(request.url))
    page.wait_for_timeout(3 * settings.CARD_REFRESH_MS)
    assert polls == []

    pick = cells.nth(4).get_by_role("button", name="Pick Stable Audio (AI/ML API) for prompt 2")
    pick.click()
    page.locator("#row-2 td.set-cell.picked").wait_for()
    assert page.locator("#row-2 button[aria-pressed=true]").count() == 1

    with page.expect_download() as info:
        page.get_by_role("link", name="Download the set (ZIP)").click()
    archive = zipfile.ZipFile(io.BytesIO(open(info.value.path(), "rb").read()))
    assert len(archive.namelist()) == 11 and archive.namelist()[-2:] == ["manifest.json", "manifest.csv"]
    manifest = json.loads(archive.read("manifest.json"))
    assert len(manifest) == 9
    assert [item["set"]["row"] for item in manifest if item["set"]["picked"]] == [2]
    assert {item["model"]["label"] for item in manifest} == {label.split(" · ")[0] for label in MODELS}
