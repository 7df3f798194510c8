"""Sets: one submit starts a job per prompt × model, each checked against its own model first (all
or nothing), under the same rules as one job counted as a whole; the set page's grid, its one
poll, its picks, retries, cancels and ZIP."""

import csv
import io
import json
import re
import zipfile

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from studio.errors import ErrorKind
from studio.models import Generation, GenerationSet, Role, Track, Transition

from tests.library.fixtures import add_member

S = Generation.State
HTMX = {"HTTP_HX_REQUEST": "true"}
MUSIC_MODELS = ["pixazo-eleven-music", "aimlapi-eleven-music"]


def compare(client, project, *, models=MUSIC_MODELS, prompts="Calm piano\nSynthwave\nJungle drums", **fields):
    return client.post(f"/projects/{project.pk}/compare/", {"models": models, "prompts": prompts, **fields})


def body(response) -> bytes:
    return b"".join(response.streaming_content)


# --- Starting a set ---------------------------------------------------------------------


def test_the_compare_form_offers_every_model_and_each_ones_own_fields(alice_client, project):
    page = alice_client.get(f"/projects/{project.pk}/compare/").content.decode()
    assert 'value="eleven-music-any"' in page and 'value="elevenlabs-sound-effects"' in page
    assert "<summary>ElevenLabs speech</summary>" in page
    assert 'name="elevenlabs-speech-voice_id"' in page  # a model's own field, by its model
    assert 'name="elevenlabs-speech-text"' not in page  # the prompt is shared
    assert 'aria-describedby="models-help"' in page and 'id="models-help"' in page
    assert 'id="id_length_seconds_helptext"' in page


def test_a_set_starts_one_job_per_prompt_and_model_and_sends_them_after_the_commit(
    alice_client, project, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as sent:
        response = compare(alice_client, project, length_seconds="20", output_format="mp3_192")
    generation_set = GenerationSet.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/sets/{generation_set.pk}/"
    assert len(sent) == 1  # one callback sends all six once the rows are committed
    jobs = Generation.objects.filter(generation_set=generation_set).order_by("set_row", "set_column")
    assert [(g.set_row, g.set_column, g.model_key) for g in jobs] == [
        (row, column, key) for row in range(3) for column, key in enumerate(MUSIC_MODELS)
    ]
    assert jobs[0].params == {"prompt": "Calm piano", "output_format": "mp3_44100_192"}  # Pixazo has no length
    assert jobs[1].params == {"prompt": "Calm piano", "music_length_ms": 20000}  # AI/ML API: no format choice
    assert generation_set.rows[2] == {"prompt": "Jungle drums", "title": ""}
    assert Transition.objects.filter(to_state="queued", reason="submitted in a set").count() == 6
    assert all(g.created_by == alice and g.state == S.QUEUED for g in jobs)


def test_a_models_own_fields_keep_their_defaults_unless_changed(alice_client, project):
    compare(alice_client, project, models=["elevenlabs-sound-effects", "pixazo-eleven-v3-speech"], prompts="Door creak")
    speech, effects = Generation.objects.order_by("set_column")  # columns in the catalog's order
    assert effects.params == {"text": "Door creak", "prompt_influence": 0.3}
    assert speech.params["voice"] == "Aria" and speech.params["speed"] == 1.0

    compare(
        alice_client, project, models=["pixazo-eleven-v3-speech"], prompts="Hello",
        **{"pixazo-eleven-v3-speech-voice": "Rachel", "pixazo-eleven-v3-speech-speed": "1.5"},
    )  # fmt: skip
    latest = Generation.objects.latest("pk")
    assert (latest.params["voice"], latest.params["speed"]) == ("Rachel", 1.5)


def test_a_csv_gives_the_rows_with_their_titles_and_own_values(alice_client, project):
    upload = SimpleUploadedFile(
        "prompts.csv",
        b"prompt,title,music_length_ms,instrumental\nCalm piano,Rain,30000,yes\nSynthwave,Drive,,no\n",
        content_type="text/csv",
    )
    response = alice_client.post(
        f"/projects/{project.pk}/compare/", {"models": ["aimlapi-eleven-music", "apiframe-eleven-music"], "csv_file": upload}
    )
    assert response.status_code == 302
    generation_set = GenerationSet.objects.get()
    assert [row["title"] for row in generation_set.rows] == ["Rain", "Drive"]
    params = {(g.set_row, g.model_key): g.params for g in Generation.objects.all()}
    assert params[(0, "aimlapi-eleven-music")] == {"prompt": "Calm piano", "music_length_ms": 30000}
    assert params[(0, "apiframe-eleven-music")] == {"prompt": "Calm piano", "music_length_ms": 30000, "force_instrumental": True}
    assert params[(1, "apiframe-eleven-music")] == {"prompt": "Synthwave", "force_instrumental": False}


def test_one_bad_cell_starts_nothing_and_names_its_row_and_column(alice_client, project):
    upload = SimpleUploadedFile("p.csv", b"prompt,music_length_ms\nCalm piano,30000\nSynthwave,999999\n")
    response = alice_client.post(
        f"/projects/{project.pk}/compare/", {"models": ["aimlapi-eleven-music", "pixazo-eleven-music"], "csv_file": upload}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was started" in page
    assert "Row 3, column music_length_ms (Eleven Music (AI/ML API)): Ensure this value is less than or equal to 300000." in page
    assert GenerationSet.objects.count() == 0 and Generation.objects.count() == 0


def test_a_prompt_too_long_for_one_model_names_the_model(alice_client, project):
    response = compare(alice_client, project, prompts="x" * 2500)
    assert "Prompt 1, column prompt (Eleven Music (AI/ML API)): Ensure this value has at most 2000 characters" in response.content.decode()
    assert Generation.objects.count() == 0


def test_a_column_no_chosen_model_takes_is_refused(alice_client, project):
    upload = SimpleUploadedFile("p.csv", b"prompt,voice\nHello,Aria\n")
    response = alice_client.post(f"/projects/{project.pk}/compare/", {"models": ["aimlapi-eleven-music"], "csv_file": upload})
    assert "Row 1, column voice: no chosen model takes a parameter by that name" in response.content.decode()
    assert Generation.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"models": []}, "This field is required."),
        ({"prompts": ""}, "Write at least one prompt, or upload a CSV file."),
        ({"models": ["no-such-model"]}, "Select a valid choice."),
        ({"length_seconds": "900"}, "Ensure this value is less than or equal to 300."),
        ({"output_format": "mp3_999"}, "Select a valid choice."),
    ],
)
def test_bad_input_re_renders_the_form_and_starts_nothing(alice_client, project, fields, message):
    response = compare(alice_client, project, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Generation.objects.count() == 0


def test_the_compare_form_shows_what_the_whole_set_would_cost_and_starts_nothing(alice_client, project, settings):
    from decimal import Decimal

    settings.SPEND_MODEL_USD_PRICES = {key: Decimal("0.25") for key in MUSIC_MODELS}
    asked = {"models": MUSIC_MODELS, "prompts": "Calm piano\nSynthwave\nJungle drums"}
    html = alice_client.post(f"/projects/{project.pk}/compare/estimate/", asked).content.decode()

    assert f"Estimated cost of these {3 * len(MUSIC_MODELS)} jobs:" in html
    assert f"<strong>{Decimal('0.25') * 3 * len(MUSIC_MODELS):.2f} USD</strong>" in html
    half_typed = alice_client.post(f"/projects/{project.pk}/compare/estimate/", {"prompts": "Calm piano"}).content.decode()
    assert "Pick the models and write the prompts" in half_typed
    assert not Generation.objects.exists()
    assert 'hx-post="/projects/%d/compare/estimate/"' % project.pk in alice_client.get(f"/projects/{project.pk}/compare/").content.decode()


def test_a_set_holds_at_most_the_set_limit(alice_client, project, settings):
    settings.MAX_SET_JOBS = 5
    response = compare(alice_client, project)  # 3 prompts × 2 models
    assert "A set holds at most 5 jobs: 3 prompts × 2 models make 6." in response.content.decode()
    assert Generation.objects.count() == 0


def test_the_set_limit_holds_for_every_path_that_starts_a_set_not_only_the_form(project, alice, settings):
    from studio.catalog import BY_KEY
    from studio.errors import Refused
    from studio.sets.csv_rows import Row
    from studio.sets.planning import PlannedJob
    from studio.sets.services import start_set

    settings.MAX_SET_JOBS = 5
    model = BY_KEY["pixazo-eleven-music"]
    rows = [Row(where=f"Prompt {n}", prompt=f"p{n}") for n in range(6)]
    jobs = [PlannedJob(row=n, column=0, model=model, params={"prompt": f"p{n}"}) for n in range(6)]
    with pytest.raises(Refused, match="at most 5 jobs"):
        start_set(project=project, user=alice, models=[model], rows=rows, jobs=jobs)
    assert Generation.objects.count() == 0 and GenerationSet.objects.count() == 0


def test_the_pending_limit_counts_the_whole_set_at_once(alice_client, project, settings):
    settings.MAX_PENDING_PER_USER = 5
    response = compare(alice_client, project)
    assert response.status_code == 400 and "one person may run 5 at once" in response.content.decode()
    assert Generation.objects.count() == 0 and GenerationSet.objects.count() == 0
    settings.MAX_PENDING_PER_USER = 6
    assert compare(alice_client, project).status_code == 302
    assert Generation.objects.count() == 6


def test_an_archived_project_starts_no_set(alice_client, project):
    project.archived_at = timezone.now()
    project.save()
    response = compare(alice_client, project)
    assert "This project is archived" in response.content.decode()
    assert Generation.objects.count() == 0


def test_a_viewer_or_an_outsider_cannot_start_a_set(client, project, bob):
    client.force_login(bob)
    assert compare(client, project).status_code == 404
    add_member(project, bob, Role.VIEWER)
    assert client.get(f"/projects/{project.pk}/compare/").status_code == 404
    assert compare(client, project).status_code == 404
    assert Generation.objects.count() == 0


def test_the_generate_form_links_to_compare_mode(alice_client, project):
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert f'href="/projects/{project.pk}/compare/"' in page


# --- The set page ---------------------------------------------------------------------


@pytest.fixture
def started(alice_client, project):
    compare(alice_client, project)
    return GenerationSet.objects.get()


def finish(gen: Generation, data: bytes = b"RIFF" + b"a" * 400) -> Track:
    name = default_storage.save(f"tracks/{gen.project_id}/t.wav", ContentFile(data))
    Generation.objects.filter(pk=gen.pk).update(state=S.SUCCEEDED, finished_at=timezone.now(), external_id=f"job-{gen.pk}")
    return Track.objects.create(
        generation=gen, project_id=gen.project_id, title=gen.prompt, file=name, content_type="audio/wav", extension="wav",
        size=len(data), sha256="ab" * 32, duration_seconds=3.0,
    )  # fmt: skip


def test_the_set_page_shows_a_grid_of_prompts_by_models_with_one_poller(alice_client, started):
    page = alice_client.get(f"/sets/{started.pk}/").content.decode()
    assert page.count('<th scope="row" class="set-prompt">') == 3
    assert '<th scope="col">ElevenLabs Music (Pixazo)</th>' in page and '<th scope="col">Eleven Music (AI/ML API)</th>' in page
    assert page.count('class="card ') == 6
    assert page.count('name="ids"') == 6
    assert page.count('id="card-poller"') == 1 and f'hx-get="/sets/{started.pk}/cards/"' in page
    assert '<tbody id="cards">' in page  # the page's one poll (static/cards.js) follows the grid's cards
    assert "Pick" in page and "Retry failed" in page and "Cancel pending" in page
    assert ">Cancel</button>" not in page  # a cell's card carries no buttons of its own


def test_a_viewer_sees_the_set_without_its_actions_and_an_outsider_gets_404(client, started, project, bob):
    client.force_login(bob)
    assert client.get(f"/sets/{started.pk}/").status_code == 404
    assert client.get(f"/sets/{started.pk}/set.zip").status_code == 404
    add_member(project, bob, Role.VIEWER)
    page = client.get(f"/sets/{started.pk}/").content.decode()
    assert "Retry failed" not in page and ">Pick" not in page
    gen = Generation.objects.first()
    assert client.post(f"/sets/{started.pk}/pick/{gen.pk}/").status_code == 404
    assert client.post(f"/sets/{started.pk}/cancel-pending/").status_code == 404
    assert not Generation.objects.filter(picked=True).exists()
    assert Generation.objects.filter(state=S.QUEUED).count() == 6


def test_the_set_poll_asks_for_every_pending_card_of_a_big_set_in_a_few_queries(
    alice_client, project, alice, django_assert_max_num_queries
):
    generation_set = GenerationSet.objects.create(project=project, created_by=alice, model_keys=["pixazo-eleven-music"])
    for count in (5, 200):
        Generation.objects.all().delete()
        jobs = Generation.objects.bulk_create(
            Generation(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": f"p{n}"},
                       generation_set=generation_set, set_row=n, set_column=0)  # fmt: skip
            for n in range(count)
        )
        with django_assert_max_num_queries(6):
            response = alice_client.get(f"/sets/{generation_set.pk}/cards/", {"ids": [g.pk for g in jobs]}, **HTMX)
        assert response.content.decode().count('hx-swap-oob="true"') == count  # all of them, not the first 50
        assert ">Cancel</button>" not in response.content.decode()


def test_the_set_poll_is_404_for_an_outsider(client, started, bob):
    client.force_login(bob)
    ids = list(Generation.objects.values_list("pk", flat=True))
    assert client.get(f"/sets/{started.pk}/cards/", {"ids": ids}, **HTMX).status_code == 404


def test_a_pick_is_one_per_row_and_picking_it_again_unpicks(alice_client, started):
    first, second = Generation.objects.filter(set_row=0).order_by("set_column")
    other_row = Generation.objects.filter(set_row=1).first()
    alice_client.post(f"/sets/{started.pk}/pick/{other_row.pk}/")
    response = alice_client.post(f"/sets/{started.pk}/pick/{first.pk}/", **HTMX)
    assert 'aria-pressed="true"' in response.content.decode() and 'id="row-1"' in response.content.decode()
    alice_client.post(f"/sets/{started.pk}/pick/{second.pk}/")
    assert set(Generation.objects.filter(picked=True).values_list("pk", flat=True)) == {second.pk, other_row.pk}
    alice_client.post(f"/sets/{started.pk}/pick/{second.pk}/")
    assert set(Generation.objects.filter(picked=True).values_list("pk", flat=True)) == {other_row.pk}


def test_a_job_of_another_set_cannot_be_picked_here(alice_client, started, project, alice):
    stranger = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={})
    assert alice_client.post(f"/sets/{started.pk}/pick/{stranger.pk}/").status_code == 404


def test_retry_failed_starts_the_failed_cells_again_and_the_grid_shows_the_new_jobs(alice_client, started):
    jobs = list(Generation.objects.order_by("set_row", "set_column"))
    Generation.objects.filter(pk=jobs[0].pk).update(state=S.FAILED, error_kind=ErrorKind.FAILED)
    Generation.objects.filter(pk=jobs[1].pk).update(state=S.FAILED, error_kind=ErrorKind.CREDIT)  # a retry cannot mend
    alice_client.post(f"/sets/{started.pk}/retry-failed/")
    retried = Generation.objects.exclude(pk__in=[g.pk for g in jobs]).get()
    assert (retried.set_row, retried.set_column, retried.model_key, retried.params) == (0, 0, jobs[0].model_key, jobs[0].params)
    page = alice_client.get(f"/sets/{started.pk}/").content.decode()
    assert f'id="gen-{retried.pk}"' in page and f'id="gen-{jobs[0].pk}"' not in page


def test_retry_failed_goes_through_the_rules(alice_client, started, project, settings):
    Generation.objects.filter(set_row=0).update(state=S.FAILED, error_kind=ErrorKind.FAILED)
    settings.MAX_PENDING_PER_USER = 5  # four still pending, two to retry
    response = alice_client.post(f"/sets/{started.pk}/retry-failed/", follow=True)
    assert "one person may run 5 at once" in response.content.decode()
    assert Generation.objects.count() == 6


def test_cancel_pending_cancels_only_the_pending_jobs(alice_client, started):
    done = Generation.objects.first()
    finish(done)
    alice_client.post(f"/sets/{started.pk}/cancel-pending/")
    assert Generation.objects.filter(state=S.CANCELLED).count() == 5
    assert Generation.objects.get(pk=done.pk).state == S.SUCCEEDED


def test_the_set_zip_names_files_by_row_and_model_and_carries_the_manifest(alice_client, started):
    jobs = list(Generation.objects.order_by("set_row", "set_column"))
    tracks = [finish(jobs[0], b"RIFF-first"), finish(jobs[3], b"RIFF-second")]
    Generation.objects.filter(pk=jobs[3].pk).update(picked=True)
    response = alice_client.get(f"/sets/{started.pk}/set.zip")
    archive = zipfile.ZipFile(io.BytesIO(body(response)))
    assert archive.namelist() == [
        "001-calm-piano--pixazo-eleven-music.wav", "002-synthwave--aimlapi-eleven-music.wav", "manifest.json", "manifest.csv",
    ]  # fmt: skip
    assert archive.read("001-calm-piano--pixazo-eleven-music.wav") == b"RIFF-first"
    manifest = json.loads(archive.read("manifest.json"))
    assert [item["file"]["name"] for item in manifest] == archive.namelist()[:2]
    assert [item["set"] for item in manifest] == [
        {"id": started.pk, "row": 1, "column": 1, "picked": False}, {"id": started.pk, "row": 2, "column": 2, "picked": True},
    ]  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode())))
    assert [(r["file"], r["track_id"], r["picked"]) for r in rows] == [
        ("001-calm-piano--pixazo-eleven-music.wav", str(tracks[0].pk), "False"),
        ("002-synthwave--aimlapi-eleven-music.wav", str(tracks[1].pk), "True"),
    ]


def test_every_described_field_on_the_compare_and_providers_pages_points_at_an_element_that_exists(alice_client, project):
    for url in (f"/projects/{project.pk}/compare/", "/providers/"):
        page = alice_client.get(url).content.decode()
        ids = set(re.findall(r'\bid="([^"]+)"', page))
        described = [name for value in re.findall(r'aria-describedby="([^"]+)"', page) for name in value.split()]
        assert url == "/providers/" or len(described) > 20  # the compare page describes its fields
        assert [name for name in described if name not in ids] == [], url
