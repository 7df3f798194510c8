import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studio.models import Generation, Project, Track

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
    assert f'<input type="hidden" name="ids" value="{gen.pk}">' in html  # the new card asks to be polled
    assert 'id="card-poller" hx-swap-oob="true"' in html and 'hx-trigger="every' in html  # a fresh poller
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


def test_polling_stops_with_286_when_nothing_is_pending(alice_client, project, finished_track):
    gen = finished_track.generation
    response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": str(gen.pk)}, **HTMX)
    assert response.status_code == 286
    html = response.content.decode()
    assert f'id="gen-{gen.pk}"' in html and 'hx-swap-oob="true"' in html
    assert 'name="ids"' not in html  # the finished card no longer asks to be polled
    assert "card-poller" not in html  # a poll answer never replaces the poller


def test_a_poll_keeps_going_while_an_asked_card_is_pending(alice_client, project, alice, finished_track):
    pending = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "p"})
    ids = [str(finished_track.generation_id), str(pending.pk)]
    response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": ids}, **HTMX)
    assert response.status_code == 200
    assert f'<input type="hidden" name="ids" value="{pending.pk}">' in response.content.decode()


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
    assert f'<audio controls preload="metadata" src="/tracks/{finished_track.pk}/audio/"' in html
    assert "Ready" in html


def test_download_has_a_meaningful_file_name_and_type(alice_client, finished_track):
    response = alice_client.get(f"/tracks/{finished_track.pk}/audio/?download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"] == 'attachment; filename="rainy-city-night.wav"'
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
    from datetime import timedelta

    from django.utils import timezone

    an_hour_ago = timezone.now() - timedelta(hours=1)
    return [
        Generation.objects.create(
            project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": f"p{i}"},
            state=S.RUNNING, updated_at=an_hour_ago,
        )
        for i in range(count)
    ]


def test_a_poll_re_renders_only_the_cards_changed_since_the_last_one(alice_client, project, alice):
    import re
    import time

    from studio.transitions import touch

    gens = _pending_cards(project, alice, 3)
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert 'hx-include="#cards input[name=ids], #poll-since"' in page
    since = re.search(r'id="poll-since" name="since" value="([\d.]+)"', page).group(1)
    touch(gens[1].pk, only_in=(S.RUNNING,), status_detail="Generating at Pixazo · 40%")
    query = {"ids": [str(g.pk) for g in gens], "since": since}
    response = alice_client.get(f"/projects/{project.pk}/cards/", query, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200  # still polling: all three are pending
    assert f'id="gen-{gens[1].pk}"' in html and "40%" in html
    assert f'id="gen-{gens[0].pk}"' not in html and f'id="gen-{gens[2].pk}"' not in html
    # A later mark, swapped in out of band for the next poll.
    later = re.search(r'id="poll-since" name="since" value="([\d.]+)" hx-swap-oob="true"', html).group(1)
    assert float(since) < float(later) <= time.time()


def test_a_card_that_finished_is_sent_even_if_its_change_is_older_than_the_mark(alice_client, project, alice):
    import time

    gens = _pending_cards(project, alice, 2)
    Generation.objects.filter(pk=gens[0].pk).update(state=S.SUCCEEDED)  # updated_at stays an hour ago
    query = {"ids": [str(g.pk) for g in gens], "since": f"{time.time():.3f}"}
    html = alice_client.get(f"/projects/{project.pk}/cards/", query, **HTMX).content.decode()
    assert f'id="gen-{gens[0].pk}"' in html and 'name="ids" value="%d"' % gens[0].pk not in html
    assert f'id="gen-{gens[1].pk}"' not in html


def test_a_poll_without_a_mark_re_renders_every_card_asked_for(alice_client, project, alice):
    gens = _pending_cards(project, alice, 2)
    ids = [str(g.pk) for g in gens]
    html = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": ids, "since": "nonsense"}, **HTMX).content.decode()
    assert all(f'id="gen-{g.pk}"' in html for g in gens)


@pytest.mark.parametrize("count", [1, 50])
def test_a_poll_costs_the_same_few_queries_for_one_card_or_fifty(alice_client, project, alice, count, django_assert_max_num_queries):
    gens = _pending_cards(project, alice, count)
    finished = gens[0]
    Generation.objects.filter(pk=finished.pk).update(state=S.SUCCEEDED)
    Track.objects.create(
        generation=finished, project=project, title="t", file="tracks/x.wav", content_type="audio/wav",
        extension="wav", size=1, sha256="0" * 64,
    )
    ids = [str(g.pk) for g in gens]
    # session, user, membership, the watched cards, their tracks
    with django_assert_max_num_queries(5):
        response = alice_client.get(f"/projects/{project.pk}/cards/", {"ids": ids, "since": "0"}, **HTMX)
    assert f'id="gen-{finished.pk}"' in response.content.decode()
