import json
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from studio.models import Generation, Project, Track
from tests.library.fixtures import add_member, make_project, make_track

S = Generation.State
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def finished_track(project, alice):
    gen = Generation.objects.create(
        project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "Rainy <b>city</b> night"},
        state=S.SUCCEEDED,
    )
    data = bytes(range(256)) * 40  # 10,240 bytes
    name = default_storage.save(f"tracks/{project.pk}/abc.wav", ContentFile(data))
    return Track.objects.create(
        generation=gen, project=project, title="Rainy city night", file=name, content_type="audio/wav",
        extension="wav", size=len(data), sha256="0" * 64,
    )


def test_pages_need_a_sign_in(client, project):
    response = client.get(f"/projects/{project.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sign_in_page_has_labelled_fields(client, db):
    page = client.get("/accounts/login/").content.decode()
    assert 'type="password"' in page
    assert '<label for="id_username">' in page and '<label for="id_password">' in page


def test_creating_a_project_makes_the_creator_its_owner(alice_client, alice):
    response = alice_client.post("/projects/new/", {"name": "Trailer", "description": ""})
    project = Project.objects.get(name="Trailer")
    assert response.status_code == 302
    assert project.memberships.get().user == alice
    assert project.memberships.get().role == "owner"


def test_the_project_page_offers_the_pixazo_models_with_labels(alice_client, project):
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert "ElevenLabs Music (Pixazo)" in page and "Eleven v3 speech (Pixazo)" in page
    assert '<label for="id_prompt">Prompt</label>' in page
    assert '<label for="id_output_format">' in page


def test_switching_the_model_swaps_in_its_own_fields_and_keeps_nothing_foreign(alice_client, project):
    response = alice_client.get(
        f"/projects/{project.pk}/generate/fields/", {"model": "pixazo-eleven-v3-speech", "prompt": "x"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("text", "voice", "stability", "similarity_boost", "speed"):
        assert f'name="{name}"' in html
    assert 'name="prompt"' not in html


def test_a_valid_htmx_submission_answers_the_new_card_and_starts_polling(alice_client, project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = alice_client.post(
            f"/projects/{project.pk}/generate/",
            {"model": "pixazo-eleven-music", "prompt": "Epic <script>alert(1)</script> choir", "output_format": "mp3_44100_192"},
            **HTMX,
        )
    gen = Generation.objects.get()
    html = response.content.decode()
    assert response.status_code == 200
    assert gen.params == {"prompt": "Epic <script>alert(1)</script> choir", "output_format": "mp3_44100_192"}
    assert len(callbacks) == 1  # the submit message is sent only after commit
    assert f'id="gen-{gen.pk}"' in html and 'hx-swap-oob="afterbegin:#cards"' in html
    assert f'<input type="hidden" name="ids" value="{gen.pk}:{gen.card_version}">' in html  # the new card asks to be polled
    assert "card-poller" not in html  # the page's one poller goes on: it follows every card
    assert json.loads(response["HX-Trigger"]) == {"card-started": {"id": gen.pk}}  # brought into view, announced
    assert "<script>alert(1)</script>" not in html
    assert "{#" not in html and "{% comment" not in html  # template comments never reach the page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"model": "pixazo-eleven-music", "prompt": ""}, "prompt", "This field is required."),
        ({"model": "pixazo-eleven-music", "prompt": "x", "output_format": "wav_1"}, "output_format", "Select a valid choice"),
        ({"model": "pixazo-eleven-v3-speech", "text": "hi", "voice": "Aria", "stability": "1.01"}, "stability", "less than or equal to 1"),
        ({"model": "pixazo-eleven-v3-speech", "text": "hi", "voice": "Aria", "speed": "0.49"}, "speed", "greater than or equal to 0.5"),
        ({"model": "pixazo-eleven-v3-speech", "text": "hi", "voice": "Nobody"}, "voice", "Select a valid choice"),
        ({"model": "no-such-model", "prompt": "x"}, "model", "Choose one of the models offered."),
    ],
)
def test_bad_input_re_renders_the_form_with_field_errors_and_starts_nothing(alice_client, project, data, field, message):
    response = alice_client.post(f"/projects/{project.pk}/generate/", data, **HTMX)
    html = response.content.decode()
    assert message in html
    assert 'class="field invalid"' in html
    assert not Generation.objects.exists()


def test_boundaries_just_inside_are_accepted(alice_client, project):
    data = {"model": "pixazo-eleven-v3-speech", "text": "hi", "voice": "Aria", "stability": "1", "similarity_boost": "0", "speed": "2.0"}
    alice_client.post(f"/projects/{project.pk}/generate/", data, **HTMX)
    assert Generation.objects.get().params == {"text": "hi", "voice": "Aria", "stability": 1.0, "similarity_boost": 0.0, "speed": 2.0}


def test_a_poll_sends_a_card_that_finished_and_polling_goes_on_for_the_team(alice_client, project, finished_track):
    gen = finished_track.generation
    response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": str(gen.pk)}, **HTMX)
    assert response.status_code == 200  # never 286: teammates may start jobs at any time
    html = response.content.decode()
    assert f'id="gen-{gen.pk}"' in html and 'hx-swap-oob="true"' in html
    assert 'name="ids"' not in html  # the finished card no longer asks to be polled
    assert "card-poller" not in html  # a poll answer never replaces the poller


def test_a_poll_keeps_going_while_an_asked_card_is_pending(alice_client, project, alice, finished_track):
    pending = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "p"})
    ids = [str(finished_track.generation_id), str(pending.pk)]
    response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": ids}, **HTMX)
    assert response.status_code == 200
    assert f'<input type="hidden" name="ids" value="{pending.pk}:{pending.card_version}">' in response.content.decode()


def test_one_poll_refreshes_every_pending_card(alice_client, project, alice, django_assert_max_num_queries):
    gens = [
        Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": f"p{i}"})
        for i in range(20)
    ]
    ids = [str(g.pk) for g in gens]
    with django_assert_max_num_queries(8):
        response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": ids}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert all(f'id="gen-{g.pk}"' in html for g in gens)


def test_the_card_shows_the_prompt_escaped_and_the_player(alice_client, project, finished_track):
    html = alice_client.get(f"/generations/{finished_track.generation_id}/").content.decode()
    assert "Rainy &lt;b&gt;city&lt;/b&gt; night" in html
    assert f'data-track-play="{finished_track.pk}" data-src="/tracks/{finished_track.pk}/audio/"' in html
    assert f'<a class="play-button" href="/tracks/{finished_track.pk}/audio/"' in html  # plays without scripts too
    assert "<audio" not in html  # the page's one player plays it
    assert "Ready" in html


def test_download_has_a_meaningful_file_name_and_type(alice_client, finished_track):
    response = alice_client.get(f"/tracks/{finished_track.pk}/audio/?download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"rainy-city-night.wav\"; filename*=UTF-8''Rainy%20city%20night.wav"
    )
    assert response["Accept-Ranges"] == "bytes"
    assert b"".join(response.streaming_content) == bytes(range(256)) * 40


@pytest.mark.parametrize(
    ("header", "status", "content_range", "body"),
    [
        ("bytes=0-9", 206, "bytes 0-9/10240", bytes(range(10))),
        ("bytes=300-303", 206, "bytes 300-303/10240", bytes([44, 45, 46, 47])),
        ("bytes=-3", 206, "bytes 10237-10239/10240", bytes([253, 254, 255])),
        ("bytes=10200-", 206, "bytes 10200-10239/10240", bytes(range(216, 256))),
        ("bytes=20000-", 416, "bytes */10240", b""),
    ],
)
def test_audio_honours_http_range(alice_client, finished_track, header, status, content_range, body):
    response = alice_client.get(f"/tracks/{finished_track.pk}/audio/", HTTP_RANGE=header)
    assert response.status_code == status
    assert response["Content-Range"] == content_range
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content == body


def test_another_user_gets_404_for_the_project_its_generations_and_files(client, bob, project, finished_track):
    client.force_login(bob)
    gen = finished_track.generation
    for url in (
        f"/projects/{project.pk}/",
        f"/projects/{project.pk}/cards/?ids={gen.pk}",
        f"/projects/{project.pk}/generate/fields/?model=pixazo-eleven-music",
        f"/generations/{gen.pk}/",
        f"/tracks/{finished_track.pk}/audio/",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/projects/{project.pk}/generate/", {"model": "pixazo-eleven-music", "prompt": "x"})
    assert response.status_code == 404
    assert Generation.objects.count() == 1
    assert project.name not in client.get("/").content.decode()


def test_callbacks_with_a_wrong_token_or_provider_change_nothing(client, project, alice):
    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", state=S.RUNNING, external_id="m_1")
    body = {"request_id": "m_1", "status": "COMPLETED", "output": {"media_url": ["https://x.test/a.wav"]}}
    for url in (
        f"/hooks/pixazo/{gen.pk}/{'x' * 43}/",
        f"/hooks/runware/{gen.pk}/{gen.callback_token}/",
        f"/hooks/pixazo/{gen.pk + 1}/{gen.callback_token}/",
    ):
        assert client.post(url, body, content_type="application/json").status_code == 404
    assert client.post(f"/hooks/pixazo/{gen.pk}/{gen.callback_token}/", "not json", content_type="application/json").status_code == 400
    assert client.post(f"/hooks/pixazo/{gen.pk}/{gen.callback_token}/", b"x" * 300_000, content_type="application/json").status_code == 413
    gen.refresh_from_db()
    assert gen.state == S.RUNNING and gen.transitions.count() == 0


def test_signup_is_closed_by_default(client, db):
    assert client.get("/accounts/signup/").status_code == 404


def test_signup_when_open_creates_an_account_and_signs_in(client, db, settings):
    settings.SIGNUP_OPEN = True
    response = client.post(
        "/accounts/signup/", {"username": "carol", "password1": "a-Long-pass-2026", "password2": "a-Long-pass-2026"}
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_password_reset_sends_an_email(client, alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_sign_out_is_a_post(alice_client):
    assert alice_client.post("/accounts/logout/").status_code == 302
    assert alice_client.get("/").status_code == 302


def _pending_cards(project, alice, count):
    from django.utils import timezone

    an_hour_ago = timezone.now() - timedelta(hours=1)
    return [
        Generation.objects.create(
            project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": f"p{i}"},
            state=S.RUNNING, updated_at=an_hour_ago,
        )
        for i in range(count)
    ]


def shown(gens):
    """The "ids" a page sends for these cards: id and the version it shows."""
    return [f"{g.pk}:{g.card_version}" for g in gens]


def test_a_poll_re_renders_only_the_cards_changed_since_the_page_showed_them(alice_client, project, alice):
    from studio.jobs.transitions import touch

    gens = _pending_cards(project, alice, 3)
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert all(f'name="ids" value="{v}"' in page for v in shown(gens))
    touch(gens[1].pk, only_in=(S.RUNNING,), provider_status="running", progress=40)
    response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": shown(gens)}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200  # still polling: all three are pending
    assert f'id="gen-{gens[1].pk}"' in html and "40%" in html
    assert f'id="gen-{gens[0].pk}"' not in html and f'id="gen-{gens[2].pk}"' not in html
    # The new copy carries its new version: the next poll sends nothing back for it.
    gens[1].refresh_from_db()
    assert f'name="ids" value="{gens[1].pk}:{gens[1].card_version}"' in html
    again = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": shown(gens)}, **HTMX).content.decode()
    assert "<article" not in again


def test_a_change_stamped_before_the_page_was_rendered_is_still_sent(alice_client, project, alice):
    """A worker stamps its change a moment before committing it: a version, unlike a time mark,
    cannot miss a commit that lands after the page read the row."""
    gens = _pending_cards(project, alice, 1)
    stale = shown(gens)
    Generation.objects.filter(pk=gens[0].pk).update(provider_status="running", progress=10, updated_at=gens[0].updated_at - timedelta(seconds=5))
    html = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": stale}, **HTMX).content.decode()
    assert f'id="gen-{gens[0].pk}"' in html and "10%" in html


def test_a_card_that_finished_is_sent_even_if_its_version_looks_the_same(alice_client, project, alice):
    gens = _pending_cards(project, alice, 2)
    Generation.objects.filter(pk=gens[0].pk).update(state=S.SUCCEEDED)  # updated_at stays an hour ago
    html = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": shown(gens)}, **HTMX).content.decode()
    assert f'id="gen-{gens[0].pk}"' in html and 'name="ids" value="%d:' % gens[0].pk not in html
    assert f'id="gen-{gens[1].pk}"' not in html


def test_a_poll_without_versions_re_renders_every_card_asked_for(alice_client, project, alice):
    gens = _pending_cards(project, alice, 2)
    ids = [str(g.pk) for g in gens] + ["nonsense", "12x:3"]
    html = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": ids}, **HTMX).content.decode()
    assert all(f'id="gen-{g.pk}"' in html for g in gens)


def look_in(response) -> int | None:
    import json

    trigger = json.loads(response.headers.get("HX-Trigger") or "{}")
    return trigger["cards-look"]["in"] if "cards-look" in trigger else None


@pytest.mark.parametrize(
    ("state", "provider_status", "soon"),
    [(S.FETCHING, "succeeded", True), (S.RUNNING, "succeeded", True), (S.RUNNING, "running", False), (S.QUEUED, "", False)],
)
def test_a_poll_asks_for_a_quick_extra_look_only_when_audio_is_moments_away(alice_client, project, alice, state, provider_status, soon):
    gens = _pending_cards(project, alice, 2)
    Generation.objects.filter(pk=gens[0].pk).update(state=state, provider_status=provider_status)
    response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": shown(gens)}, **HTMX)
    assert response.status_code == 200
    assert look_in(response) == (250 if soon else None)


@pytest.mark.parametrize(("check_in", "look"), [(0.8, 1100), (0.1, 400), (-0.1, 200), (2.0, None), (-1.0, None)])
def test_a_poll_asks_for_a_look_just_after_a_planned_status_check_before_the_next_refresh(
    alice_client, project, alice, check_in, look, monkeypatch
):
    from django.utils import timezone

    from studio.jobs import cards

    now = timezone.now()
    monkeypatch.setattr(cards.timezone, "now", lambda: now)  # the answer is measured from this moment
    gens = _pending_cards(project, alice, 2)
    Generation.objects.filter(pk=gens[1].pk).update(next_check_at=now + timedelta(seconds=check_in))
    Generation.objects.filter(pk=gens[0].pk).update(next_check_at=now + timedelta(seconds=30))
    asked = look_in(alice_client.get(f"/projects/{project.pk}/cards/", {"ids": shown(gens)}, **HTMX))
    assert asked == look


def test_the_poller_takes_the_extra_look_it_is_asked_for(alice_client, project, alice):
    _pending_cards(project, alice, 1)
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert 'hx-trigger="cards-refresh"' in page and 'data-refresh="1500"' in page and 'data-idle-refresh="12000"' in page
    assert 'data-hidden-slowdown="4"' in page and 'data-look-gap="750"' in page
    assert "/static/cards.js" in page


def test_a_poll_for_someone_elses_project_is_404_even_with_real_ids(client, project, alice, bob):
    gens = _pending_cards(project, alice, 2)
    client.force_login(bob)
    response = client.get(f"/projects/{project.pk}/cards/", {"ids": shown(gens)}, **HTMX)
    assert response.status_code == 404


def test_a_viewer_polls_cards_without_the_controls(client, project, alice, bob):
    from studio.models import Membership

    Membership.objects.create(project=project, user=bob, role="viewer")
    client.force_login(bob)
    gens = _pending_cards(project, alice, 1)
    html = client.get(f"/projects/{project.pk}/cards/", {"ids": [str(gens[0].pk)]}, **HTMX).content.decode()
    assert f'id="gen-{gens[0].pk}"' in html and "Cancel" not in html
    client.force_login(alice)
    html = client.get(f"/projects/{project.pk}/cards/", {"ids": [str(gens[0].pk)]}, **HTMX).content.decode()
    assert "Cancel" in html


@pytest.mark.parametrize("count", [1, 50])
def test_a_poll_costs_the_same_few_queries_for_one_card_or_fifty(alice_client, project, alice, count, django_assert_max_num_queries):
    gens = _pending_cards(project, alice, count)
    finished = gens[0]
    Generation.objects.filter(pk=finished.pk).update(state=S.SUCCEEDED)
    Track.objects.create(
        generation=finished, project=project, title="t", file="tracks/x.wav", content_type="audio/wav",
        extension="wav", size=1, sha256="0" * 64,
    )
    # session, user, the versions (with the membership), the changed cards, their tracks
    with django_assert_max_num_queries(5):
        response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": shown(gens)}, **HTMX)
    assert f'id="gen-{finished.pk}"' in response.content.decode()


def test_a_poll_whose_changed_cards_have_no_audio_yet_skips_the_tracks_query(alice_client, project, alice, django_assert_num_queries):
    from studio.jobs.transitions import touch

    gens = _pending_cards(project, alice, 50)
    versions = shown(gens)
    for gen in gens[:5]:
        touch(gen.pk, only_in=(S.RUNNING,), provider_status="running", progress=40)
    # session, user, the versions (with the membership and whether audio is saved), the changed cards
    with django_assert_num_queries(4):
        response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": versions}, **HTMX)
    assert response.content.decode().count("Generating at Pixazo · 40%") == 5


def test_a_poll_shows_the_audio_saved_so_far_of_a_job_still_saving(alice_client, project, alice):
    from studio.jobs.transitions import touch

    gen, other = _pending_cards(project, alice, 2)
    versions = shown([gen, other])
    Generation.objects.filter(pk=gen.pk).update(state=S.FETCHING)
    Track.objects.create(
        generation=gen, project=project, title="first of two", file="tracks/x.wav", content_type="audio/wav",
        extension="wav", size=1, sha256="0" * 64,
    )
    touch(gen.pk, only_in=(S.FETCHING,), progress=None)
    html = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": versions}, **HTMX).content.decode()
    assert "first of two" in html and "Saving the audio" in html


def test_a_job_that_finishes_while_a_poll_reads_it_still_shows_its_audio(alice_client, project, alice):
    """The versions are read first and the changed cards next: a job saving its audio in between
    must not show up Ready with no track (being no longer pending, it would never be sent again)."""
    from django.db import connection

    gen, other = _pending_cards(project, alice, 2)
    versions = shown([gen, other])
    Generation.objects.filter(pk=gen.pk).update(state=S.FETCHING, updated_at=timezone.now())  # the page shows it running
    finished = []

    def finish_after_the_versions_query(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "EXISTS" in sql and not finished:
            finished.append(True)
            Track.objects.create(
                generation=gen, project=project, title="just saved", file="tracks/x.wav", content_type="audio/wav",
                extension="wav", size=1, sha256="0" * 64,
            )
            Generation.objects.filter(pk=gen.pk).update(state=S.SUCCEEDED)
        return result

    with connection.execute_wrapper(finish_after_the_versions_query):
        html = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": versions}, **HTMX).content.decode()
    assert finished
    assert f'id="gen-{gen.pk}"' in html and "just saved" in html


def test_a_fields_help_text_is_the_text_its_input_points_screen_readers_to():
    import re

    from django.contrib.auth.forms import SetPasswordForm
    from django.template.loader import render_to_string

    html = render_to_string("form_fields.html", {"form": SetPasswordForm(user=None)})
    described = re.search(r'aria-describedby="([^"]+)"', html).group(1)
    assert f'id="{described}"' in html


def test_a_track_moved_to_another_project_leaves_its_old_projects_card(project, alice, bob):
    """bob is a member of the old project only: its job card must not show the moved track."""
    track = make_track(project, alice, title="Old title")
    add_member(project, bob)
    elsewhere = make_project(alice, name="Alice's secret project")
    track.title, track.project = "Secret new title", elsewhere
    track.save()
    client = Client()
    client.force_login(bob)

    for url in (f"/projects/{project.pk}/", f"/generations/{track.generation_id}/"):
        page = client.get(url)
        assert page.status_code == 200, url
        assert "Secret new title" not in page.content.decode(), url
