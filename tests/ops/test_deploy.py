"""Production configuration: the deploy check, probes, readiness against dead services, startup
checks, the static files gunicorn serves through WhiteNoise, and the compose example."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from django.test import Client

from studio.ops.checks import check_mail, check_providers, check_scheduler

from tests.conftest import S3_CREDENTIALS, closed_port

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7#Lq9-production-secret-for-the-check-only-3f8a2c1e9d0b7a6f5e4d",
    "ALLOWED_HOSTS": "studio.example.com",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "PUBLIC_BASE_URL": "https://studio.example.com",
} | {f"{name}_API_KEY": "a-real-key" for name in ("PIXAZO", "AIMLAPI", "ELEVENLABS", "APIFRAME", "RUNWARE")} | {
    # What jobs cost: a rate for each unit reported, a price for each model of a provider that reports none.
    "AIMLAPI_USD_PER_CREDIT": "0.000001",
    "APIFRAME_USD_PER_CREDIT": "0.01",
    "ELEVENLABS_USD_PER_1K_CHARACTERS": "0.30",
    "MODEL_USD_PRICES": "pixazo-eleven-music=0.50,pixazo-eleven-v3-speech=0.05",
}


def manage(*args, env, timeout=60):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_check_deploy_has_nothing_to_say_about_a_full_production_configuration(tmp_path, s3_server):
    bucket = "deploy-check"
    import boto3

    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", **{k.lower(): v for k, v in S3_CREDENTIALS.items()}).create_bucket(Bucket=bucket)
    env = PRODUCTION | S3_CREDENTIALS | {
        "DATABASE_URL": f"sqlite:///{tmp_path}/deploy.sqlite3",
        "BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/",  # not contacted by the check
        "SCHEDULER_REDIS_URL": "redis://127.0.0.1:6379/0",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": s3_server,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "DRAMATIQ_PROMETHEUS": "true",
        "EMAIL_URL": "smtp+tls://studio:secret@mail.example.com:587",  # not contacted by the check
    }
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output, output


def probe_in_a_process(path: str, **env) -> tuple[int, dict]:
    """GET `path` through the whole middleware stack in a fresh process with `env` settings."""
    script = (
        "import django, json; django.setup(); from django.test import Client; "
        f"r = Client(HTTP_HOST='10.0.0.7:8000').get({path!r}); print(json.dumps([r.status_code, r.json()]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=PRODUCTION | {"DJANGO_SETTINGS_MODULE": "studio.settings"} | env,
    )
    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    return status, body


def test_readiness_answers_503_when_the_database_is_down():
    status, body = probe_in_a_process("/readyz", DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/studio")
    assert (status, body["database"], body["status"]) == (503, False, "unavailable")


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_readiness_answers_503_when_the_broker_is_down(tmp_path, scheme):
    url = {"redis": f"redis://127.0.0.1:{closed_port()}/0", "amqp": f"amqp://guest:guest@127.0.0.1:{closed_port()}/"}[scheme]
    status, body = probe_in_a_process("/readyz", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", BROKER_URL=url)
    assert (status, body["database"], body["broker"]) == (503, True, False)


def test_liveness_needs_neither_database_nor_broker():
    status, body = probe_in_a_process(
        "/healthz",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/studio",
        BROKER_URL=f"redis://127.0.0.1:{closed_port()}/0",
    )
    assert (status, body) == (200, {"status": "ok"})


def test_probes_answer_plain_http_on_any_host_header_while_pages_stay_strict(db, settings):
    settings.ALLOWED_HOSTS = ["studio.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    client = Client(HTTP_HOST="10.0.0.7:8000")
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/accounts/login/").status_code == 400  # DisallowedHost
    assert Client(HTTP_HOST="studio.example.com").get("/accounts/login/").status_code == 301  # to https


def test_prometheus_middleware_is_added_only_when_asked(tmp_path):
    script = "import django; django.setup(); import dramatiq; print([type(m).__name__ for m in dramatiq.get_broker().middleware])"
    base = {"PATH": PRODUCTION["PATH"], "DJANGO_SETTINGS_MODULE": "studio.settings", "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    on = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=base | {"DRAMATIQ_PROMETHEUS": "true"}, capture_output=True, text=True, timeout=60)
    off = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60)
    assert "'Prometheus'" in on.stdout, on.stderr
    assert "Prometheus" not in off.stdout, off.stderr
    assert "SweepOnBoot" in on.stdout and "SweepOnBoot" in off.stdout


# --- Startup checks ---------------------------------------------------------------


def test_the_check_names_providers_without_a_key(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "runware": {"api_key": "", "base_url": "https://runware.test"}}
    messages = check_providers(None)
    assert [(m.id, m.msg) for m in messages] == [("studio.I001", "No API key for runware: their models are hidden.")]


def test_the_check_says_callbacks_are_off_without_https(settings):
    settings.PUBLIC_BASE_URL = "http://studio.internal"
    assert "studio.W002" in [m.id for m in check_providers(None)]


def test_the_check_explains_the_scheduler_lock_on_rabbitmq(settings):
    settings.BROKER_URL, settings.SCHEDULER_REDIS_URL = "amqp://guest:guest@rabbit:5672/", ""
    assert [m.id for m in check_scheduler(None)] == ["studio.I002"]
    settings.SCHEDULER_REDIS_URL = "redis://redis:6379/0"
    assert check_scheduler(None) == []


def test_the_check_says_when_mail_would_reach_no_one_in_production(settings):
    settings.DEBUG, settings.EMAIL_BACKEND = False, "django.core.mail.backends.console.EmailBackend"
    assert [m.id for m in check_mail(None)] == ["studio.I003"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert check_mail(None) == []


# --- gunicorn + WhiteNoise --------------------------------------------------------


def free_port() -> int:
    return closed_port()  # free now; gunicorn binds it a moment later


def test_gunicorn_serves_compressed_hashed_static_files_and_the_probes(tmp_path):
    env = PRODUCTION | {
        "DATABASE_URL": f"sqlite:///{tmp_path}/web.sqlite3",
        "STATIC_ROOT": str(tmp_path / "static"),
        "SECURE_SSL_REDIRECT": "false",
        "WEB_CONCURRENCY": "1",
    }
    collected = manage("collectstatic", "--noinput", env=env, timeout=120)
    assert collected.returncode == 0, collected.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    hashed = manifest["studio.css"]
    assert hashed != "studio.css" and (tmp_path / "static" / (hashed + ".gz")).exists()

    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    web = subprocess.Popen(
        [str(gunicorn), "-c", "studio/gunicorn.conf.py", "studio.wsgi"],
        cwd=ROOT, env=env | {"BIND": f"127.0.0.1:{port}"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                assert web.poll() is None and time.monotonic() < deadline, web.stderr.read().decode() if web.poll() is not None else "gunicorn did not start"
                time.sleep(0.2)
        assert health.json() == {"status": "ok"}
        css = httpx.get(f"{base}/static/{hashed}", headers={"Accept-Encoding": "gzip", "Host": "studio.example.com"})
        assert css.status_code == 200
        assert css.headers["Content-Encoding"] == "gzip"
        assert "immutable" in css.headers["Cache-Control"]
        assert css.text == (ROOT / "static" / "studio.css").read_text()
    finally:
        web.terminate()
        web.wait(timeout=30)


# --- Packaging --------------------------------------------------------------------


def test_compose_example_runs_one_image_as_web_workers_and_scheduler():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "scheduler"} <= set(services)
    studio = [name for name, s in services.items() if "build" in s or s.get("image") == services["web"].get("image")]
    assert {"migrate", "web", "worker", "scheduler"} <= set(studio)
    assert "rundramatiq" in " ".join(services["worker"]["command"])
    assert "crontab" in " ".join(services["scheduler"]["command"])
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert services["worker"]["stop_grace_period"]  # time to finish running jobs on SIGTERM
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # every variable a studio container reads comes from one shared block
    for name in studio:
        env = services[name]["environment"]
        assert {"DATABASE_URL", "BROKER_URL", "SECRET_KEY"} <= set(env), name


def test_compose_publishes_the_web_port_on_loopback_and_trusts_only_the_proxy():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    web = compose["services"]["web"]
    assert all(str(port).startswith("127.0.0.1:") for port in web["ports"]), web["ports"]
    trusted = web["environment"]["FORWARDED_ALLOW_IPS"]
    assert "*" not in trusted and trusted.endswith("172.30.0.1}")
    assert compose["networks"]["default"]["ipam"]["config"][0]["gateway"] == "172.30.0.1"
    assert web["environment"]["TRUSTED_PROXY_COUNT"] == "${TRUSTED_PROXY_COUNT:-1}"


def test_dockerfile_builds_one_non_root_image_with_static_files_and_a_healthcheck():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2  # multi-stage
    assert "USER studio" in dockerfile
    assert "collectstatic --noinput" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert '.[s3,prometheus]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".git", "media"} <= {line.strip("/") for line in ignored}
