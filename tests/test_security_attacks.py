"""The studio under attack: forged callbacks, token-less posts, other people's ids, markup in
user and provider text, secrets hunted for in pages and logs. Walks the URL configuration so a
new view is covered the day it lands."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pytest
import respx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from providers.apiframe.emulator import webhook_signature
from studio.jobs import pipeline, transitions
from studio.models import Generation, Invitation, Membership, Project, Role, Track, Transition, invitation_token_hash

from tests.conftest import PIXAZO_TEST_URL

S = Generation.State
HTMX = {"HTTP_HX_REQUEST": "true"}
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


# --- the URL configuration, walked ------------------------------------------------------


def studio_routes():
    """(route pattern, its converters by name, view name) for every URL outside the admin."""

    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace == "admin":
                    continue
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry.name

    return list(walk(get_resolver().url_patterns))


def fill(route: str, ids: dict[str, object]) -> str | None:
    """The route with each `<conv:name>` replaced by ids[name]; None if a name has no test object
    (a route with a new kind of id: give it one in `alices_things`)."""
    missing = []

    def value(match):
        name = match.group(2)
        if name not in ids:
            missing.append(name)
            return ""
        return str(ids[name])

    path = "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)
    return None if missing else path


@pytest.fixture
def alices_things(project, alice):
    gen = Generation.objects.create(
        project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "Night drive"},
        state=S.FAILED, error="boom",
    )
    name = default_storage.save(f"tracks/{project.pk}/abc.wav", ContentFile(b"RIFF" + b"\x00" * 100))
    track = Track.objects.create(
        generation=gen, project=project, title="Night drive", file=name, content_type="audio/wav",
        extension="wav", size=104, sha256="0" * 64,
    )
    invitation = Invitation.objects.create(
        project=project, email="new@example.com", invited_by=alice, token_hash=invitation_token_hash("alices-invitation"),
        expires_at=timezone.now() + timedelta(days=7),
    )
    return {
        "project_id": project.pk, "generation_id": gen.pk, "track_id": track.pk, "invitation_id": invitation.pk,
        # One token fills every <token>: a callback's, and so no live invitation's either.
        "provider": "pixazo", "token": gen.callback_token,
        "uidb64": "MQ",  # django.contrib.auth's password reset confirmation
    }


def snapshot():
    return (
        list(Generation.objects.values_list("pk", "state", "params", "error").order_by("pk")),
        Project.objects.count(), Track.objects.count(), Membership.objects.count(), Transition.objects.count(),
        list(Invitation.objects.values_list("pk", "token_hash", "expires_at", "accepted_at", "revoked_at").order_by("pk")),
    )


# --- CSRF ---------------------------------------------------------------------------------


def test_every_token_less_post_is_refused_but_the_provider_callback(alice, alices_things):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    before = snapshot()
    exempt = []
    for route, name in studio_routes():
        path = fill(route, alices_things)
        if path is None:
            continue
        for headers in ({}, HTMX):  # htmx requests are no exception
            response = client.post(path, {"name": "x", "model": "pixazo-eleven-music", "prompt": "x"}, **headers)
            if response.status_code != 403:
                exempt.append(name)
    # The probes answer ahead of every middleware, whatever the method, and change nothing.
    assert set(exempt) - {"healthz", "readyz"} == {"provider_callback"}
    assert snapshot() == before


def test_htmx_posts_carry_the_token_the_page_gives_them(alice, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "x"})
    html = client.get(f"/projects/{project.pk}/").content.decode()
    token = re.search(r"hx-headers='\{\"x-csrftoken\": \"([^\"]+)\"\}'", html, re.IGNORECASE)
    assert token, "every htmx request must carry the CSRF token"
    response = client.post(f"/generations/{gen.pk}/cancel/", HTTP_X_CSRFTOKEN=token.group(1), **HTMX)
    assert response.status_code == 200
    gen.refresh_from_db()
    assert gen.state == S.CANCELLED


# --- IDOR ---------------------------------------------------------------------------------


def test_another_user_gets_404_for_every_id_of_someone_elses(client, bob, alices_things):
    """Bob, signed in but no member, tries each of Alice's ids on every route that takes one."""
    client.force_login(bob)
    before = snapshot()
    leaks, tried = [], 0
    for route, name in studio_routes():
        if "<" not in route or name in ("provider_callback", "password_reset_confirm"):
            continue
        path = fill(route, alices_things)
        if path is None:
            continue
        tried += 1
        for method in ("get", "post"):
            response = getattr(client, method)(path, {"model": "pixazo-eleven-music", "prompt": "x"}, **HTMX)
            if response.status_code not in (404, 405):
                leaks.append((method.upper(), path, response.status_code))
    assert leaks == []
    assert tried >= 12  # every project, generation, track and invitation route
    assert snapshot() == before


def test_a_viewer_sees_but_cannot_act_and_an_editor_cannot_touch_another_project(client, alices_things, project):
    from tests.conftest import make_user

    viewer = make_user("victor")
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    gen_id = alices_things["generation_id"]
    assert client.get(f"/generations/{gen_id}/").status_code == 200
    before = snapshot()
    for action in ("cancel", "retry", "resubmit"):
        assert client.post(f"/generations/{gen_id}/{action}/", **HTMX).status_code == 404
    assert client.post(f"/projects/{project.pk}/generate/", {"model": "pixazo-eleven-music", "prompt": "x"}).status_code in (403, 404)
    assert snapshot() == before


# --- callbacks ------------------------------------------------------------------------------


@pytest.fixture
def running_apiframe_job(project, alice):
    gen = Generation.objects.create(project=project, created_by=alice, model_key="apiframe-eleven-music", params={"prompt": "x"})
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="job_1")
    return Generation.objects.get(pk=gen.pk)


def apiframe_body(job_id="job_1", **extra):
    return json.dumps({
        "event": "completed", "jobId": job_id, "status": "COMPLETED", "progress": 100,
        "result": {"tracks": [{"audioUrl": "https://apiframe.test/media/job_1/track-1.mp3", "title": "t"}]},
        **extra,
    }).encode()


def post_signed(client, gen, body, *, key="test-apiframe-key", token=None):
    return client.post(
        f"/hooks/apiframe/{gen.pk}/{token or gen.callback_token}/", body, content_type="application/json",
        HTTP_X_WEBHOOK_SIGNATURE=webhook_signature(key, body), HTTP_X_WEBHOOK_EVENT="completed",
    )


def test_a_forged_or_borrowed_token_is_refused_like_a_missing_page(client, running_apiframe_job, project, alice):
    other = Generation.objects.create(project=project, created_by=alice, model_key="apiframe-eleven-music")
    gen = running_apiframe_job
    forged = gen.callback_token[:-1] + ("A" if gen.callback_token[-1] != "A" else "B")
    for token in (forged, other.callback_token, "", "x" * 500):
        if token:
            assert post_signed(client, gen, apiframe_body(), token=token).status_code == 404
    gen.refresh_from_db()
    assert gen.state == S.RUNNING and gen.transitions.count() == 2


def test_tokens_are_compared_in_constant_time(client, running_apiframe_job, monkeypatch):
    from studio.jobs import webhooks

    compared = []
    real = webhooks.constant_time_compare
    monkeypatch.setattr(webhooks, "constant_time_compare", lambda a, b: compared.append((a, b)) or real(a, b))
    post_signed(client, running_apiframe_job, apiframe_body(), token="wrong")
    assert compared == [("wrong", running_apiframe_job.callback_token)]


@pytest.mark.parametrize("signature", ["bad-key", "missing", "other-body"])
def test_a_bad_signature_changes_nothing(client, running_apiframe_job, signature):
    gen = running_apiframe_job
    body = apiframe_body()
    url = f"/hooks/apiframe/{gen.pk}/{gen.callback_token}/"
    headers = {
        "bad-key": {"HTTP_X_WEBHOOK_SIGNATURE": webhook_signature("not-the-key", body)},
        "missing": {},
        "other-body": {"HTTP_X_WEBHOOK_SIGNATURE": webhook_signature("test-apiframe-key", apiframe_body(progress=99))},
    }[signature]
    response = client.post(url, body, content_type="application/json", **headers)
    assert response.status_code == 400
    gen.refresh_from_db()
    assert gen.state == S.RUNNING and gen.media == []


def test_a_signed_callback_with_unknown_fields_is_accepted_and_the_download_left_to_the_worker(
    client, running_apiframe_job, empty_broker
):
    gen = running_apiframe_job
    body = apiframe_body(surprise={"nested": [1, 2]}, another="field")
    with respx.mock(assert_all_called=False) as mock:
        response = post_signed(client, gen, body)
        assert not mock.calls  # nothing fetched in the request
    assert response.status_code == 200
    gen.refresh_from_db()
    assert gen.state == S.FETCHING
    assert not gen.tracks.exists()


def test_a_signed_callback_for_another_job_is_refused(client, running_apiframe_job):
    response = post_signed(client, running_apiframe_job, apiframe_body(job_id="someone-elses"))
    assert response.status_code == 400
    running_apiframe_job.refresh_from_db()
    assert running_apiframe_job.state == S.RUNNING


def test_repeated_and_stale_callbacks_are_harmless(client, running_apiframe_job, empty_broker):
    gen = running_apiframe_job
    for _ in range(3):
        assert post_signed(client, gen, apiframe_body()).status_code == 200
    stale = json.dumps({"event": "progress", "jobId": "job_1", "status": "PROCESSING", "progress": 40}).encode()
    assert post_signed(client, gen, stale).status_code == 200
    gen.refresh_from_db()
    assert gen.state == S.FETCHING
    assert gen.transitions.filter(to_state=S.FETCHING).count() == 1


def test_an_oversized_callback_is_refused_before_it_is_read(client, running_apiframe_job):
    gen = running_apiframe_job
    body = apiframe_body(padding="x" * 300_000)
    assert post_signed(client, gen, body).status_code == 413
    gen.refresh_from_db()
    assert gen.state == S.RUNNING


# --- markup is text ---------------------------------------------------------------------------


def test_markup_in_prompts_titles_names_and_provider_errors_is_shown_escaped(alice_client, project, alice):
    Project.objects.filter(pk=project.pk).update(name=f"Game {XSS}")
    failed = Generation.objects.create(
        project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": f"Song {XSS}"},
        state=S.FAILED, error=f"Pixazo: {XSS}",
    )
    done = Generation.objects.create(
        project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "ok"}, state=S.SUCCEEDED,
    )
    name = default_storage.save(f"tracks/{project.pk}/t.wav", ContentFile(b"RIFF" + b"\x00" * 100))
    Track.objects.create(
        generation=done, project=project, title=f"Title {XSS}", file=name, content_type="audio/wav", extension="wav",
        size=104, sha256="0" * 64,
    )
    pages = [
        alice_client.get("/").content.decode(),
        alice_client.get(f"/projects/{project.pk}/").content.decode(),
        alice_client.get(f"/generations/{failed.pk}/").content.decode(),
        alice_client.get(f"/generations/{done.pk}/").content.decode(),
        alice_client.get(f"/projects/{project.pk}/cards/?ids={failed.pk},{done.pk}", **HTMX).content.decode(),
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in pages[1]


# --- secrets ------------------------------------------------------------------------------------


SECRET_KEY = "sk-live-0123456789abcdef-secret"


@respx.mock
def test_api_keys_never_reach_pages_errors_logs_or_the_admin(settings, project, alice, alice_client, admin_client, caplog):
    settings.PROVIDERS = {**settings.PROVIDERS, "pixazo": {**settings.PROVIDERS["pixazo"], "api_key": SECRET_KEY}}
    respx.post(f"{PIXAZO_TEST_URL}/elevenlabs-music-api-368/v1/elevenlabs-music-api-request").respond(
        401, json={"statusCode": 401, "message": "Access denied due to invalid subscription key."}
    )
    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "x"})
    with caplog.at_level(logging.DEBUG):
        pipeline.submit(gen.pk)
    gen.refresh_from_db()
    assert gen.state == S.FAILED and gen.error
    seen = [caplog.text, gen.error]
    seen += [alice_client.get(url).content.decode() for url in (f"/projects/{project.pk}/", f"/generations/{gen.pk}/")]
    seen += [
        admin_client.get(url).content.decode()
        for url in ("/admin/studio/generation/", f"/admin/studio/generation/{gen.pk}/change/", "/admin/studio/transition/",
                    "/admin/studio/project/", "/admin/studio/track/", "/admin/studio/invitation/")
    ]
    for text in seen:
        assert SECRET_KEY not in text
        assert gen.callback_token not in text


def test_a_callback_with_a_nonsense_content_length_is_refused_not_crashed(client, running_apiframe_job):
    gen = running_apiframe_job
    response = client.post(
        f"/hooks/apiframe/{gen.pk}/{gen.callback_token}/", apiframe_body(), content_type="application/json",
        CONTENT_LENGTH="lots",
    )
    assert response.status_code == 400
    gen.refresh_from_db()
    assert gen.state == S.RUNNING


def test_a_signed_callback_that_names_no_job_is_refused(client, running_apiframe_job):
    body = json.loads(apiframe_body())
    del body["jobId"]
    response = post_signed(client, running_apiframe_job, json.dumps(body).encode())
    assert response.status_code == 400
    running_apiframe_job.refresh_from_db()
    assert (running_apiframe_job.state, running_apiframe_job.media) == (S.RUNNING, [])


@pytest.mark.parametrize("length", ["²", "٣", "-1", " 12", "9" * 400])
def test_a_callback_whose_content_length_is_not_plain_digits_is_refused_not_crashed(client, running_apiframe_job, length):
    gen = running_apiframe_job
    response = client.post(
        f"/hooks/apiframe/{gen.pk}/{gen.callback_token}/", apiframe_body(), content_type="application/json",
        CONTENT_LENGTH=length,
    )
    assert response.status_code in (400, 413)
    gen.refresh_from_db()
    assert gen.state == S.RUNNING


def test_a_callback_body_nested_too_deep_is_refused_before_it_is_parsed(client, running_apiframe_job):
    body = b"[" * 50_000
    response = post_signed(client, running_apiframe_job, body)
    assert response.status_code == 400
    running_apiframe_job.refresh_from_db()
    assert running_apiframe_job.state == S.RUNNING
