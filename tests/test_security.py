"""The web surface: deploy settings, CSRF, sign-in throttling, secrets kept out of logs."""

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from studio.models import Generation
from studio.ops.log_filters import RedactSecrets


def production(tmp_path, **more) -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": "x7#Lq9-production-secret-for-the-check-only-3f8a2c1e9d0b7a6f5e4d",
        "ALLOWED_HOSTS": "studio.example.com",
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path}/deploy.sqlite3",
        "PIXAZO_API_KEY": "a-real-key",
        **more,
    }


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = production(tmp_path, EMAIL_URL="smtp+tls://studio:secret@mail.example.com:587")  # not contacted
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "security.W" not in output


def test_check_deploy_fails_when_production_mail_would_only_be_printed(tmp_path):
    env = production(tmp_path)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "studio.E002" in result.stderr and "EMAIL_URL" in result.stderr


def test_request_logs_redact_tokens_in_every_mode(tmp_path):
    """With DEBUG on, Django's own console handler used to print the path as it came."""
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('Not Found: %s', '/hooks/pixazo/7/SECRET-CALLBACK-TOKEN/'); "
        "logging.getLogger('django.request').warning('Not Found: %s', '/invitations/SECRET-INVITATION-TOKEN/')"
    )
    for debug in ("true", "false"):
        env = {"DEBUG": debug, "SECRET_KEY": "k" * 50, "PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "studio.settings",
               "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
        result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "SECRET-" not in output, (debug, output)
        assert output.count("[redacted]") == 2, (debug, output)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {"DEBUG": "false", "PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    result = subprocess.run([sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_state_changing_posts_need_the_csrf_token(alice, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    for url in (f"/projects/{project.pk}/generate/", "/projects/new/", "/accounts/logout/"):
        assert client.post(url, {"model": "pixazo-eleven-music", "prompt": "x", "name": "p"}).status_code == 403, url
    assert Generation.objects.count() == 0


def test_provider_callbacks_are_the_only_csrf_exemption(alice, project):
    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music")
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/hooks/pixazo/{gen.pk}/{gen.callback_token}/", "{}", content_type="application/json")
    assert response.status_code != 403


def test_repeated_wrong_passwords_lock_the_sign_in(db, alice, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "alice", "password": "guess"})
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_good_password_still_works_before_the_limit(db, alice):
    client = Client()
    client.post("/accounts/login/", {"username": "alice", "password": "guess"})
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_signing_in_rotates_the_session_key(db, alice):
    client = Client()
    client.get("/accounts/login/")
    client.session.save()
    before = client.session.session_key
    client.post("/accounts/login/", {"username": "alice", "password": "pw-alice"})
    assert client.session.session_key != before


def test_callback_tokens_never_reach_the_logs():
    record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"POST %s HTTP/1.1" 200 11', ("/hooks/pixazo/12/AbC-secret_token/",), None)
    RedactSecrets().filter(record)
    assert "AbC-secret_token" not in record.getMessage()
    assert "/hooks/pixazo/12/[redacted]" in record.getMessage()


def test_the_admin_never_shows_callback_tokens(admin_client, project, alice):
    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music")
    for url in ("/admin/studio/generation/", f"/admin/studio/generation/{gen.pk}/change/"):
        page = admin_client.get(url).content.decode()
        assert gen.callback_token not in page, url


def test_health_and_readiness(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] is True


@pytest.mark.parametrize("target", ["broker"])
def test_readiness_answers_503_when_the_broker_is_down(client, db, monkeypatch, target):
    from studio.ops import health

    monkeypatch.setattr(health, "_broker_ok", lambda: False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["broker"] is False


def test_every_page_carries_the_content_security_policy_and_the_permissions_policy(alice_client, project):
    response = alice_client.get(f"/projects/{project.pk}/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "camera=()" in response["Permissions-Policy"] and "microphone=()" in response["Permissions-Policy"]
    assert '"allowEval": false' in response.content.decode() and '"includeIndicatorStyles": false' in response.content.decode()


def test_no_template_holds_an_inline_script_handler_or_eval_needing_htmx():
    """What the policy would block: inline <script>, on* attributes, hx-on, htmx trigger filters."""
    offenders = []
    pattern = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|hx-on|hx-trigger=\"[^\"]*\[|\sstyle=\"")
    for path in Path(__file__).resolve().parents[1].joinpath("templates").rglob("*.html"):
        for match in pattern.finditer(path.read_text()):
            offenders.append(f"{path.name}: {match.group()}")
    assert offenders == []
