"""Generations submitted through the web and finished by `rundramatiq` workers in their own
processes, on Redis and on RabbitMQ; graceful shutdown on SIGTERM."""

import hashlib
import os
import signal
import subprocess
import sys

import pytest

from studio.catalog import BY_KEY
from studio.models import Generation, Track

from ..conftest import wait_for

pytestmark = pytest.mark.integration
S = Generation.State
MUSIC = BY_KEY["pixazo-eleven-music"]
SPEECH = BY_KEY["elevenlabs-speech"]  # synchronous: the worker holds the call while it renders
HTMX = {"HTTP_HX_REQUEST": "true"}


def submit(client, project, model=MUSIC, **params) -> Generation:
    params = {"model": model.key, model.spec.prompt_param: "Rain on a tin roof", **params}
    response = client.post(f"/projects/{project.pk}/generate/", params, **HTMX)
    assert response.status_code == 200, response.content.decode()[:500]
    return Generation.objects.latest("pk")


def settled(*generations):
    def check():
        states = list(Generation.objects.filter(pk__in=[g.pk for g in generations]).values_list("state", flat=True))
        return all(s in Generation.TERMINAL_STATES or s == S.NEEDS_ATTENTION for s in states)

    return check


def assert_served(client, gen, emulator):
    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED, (gen.state, gen.error_kind, gen.error)
    track = Track.objects.get(generation=gen)
    body = b"".join(client.get(f"/tracks/{track.pk}/audio/").streaming_content)
    assert hashlib.sha256(body).hexdigest() == track.sha256
    return track


def test_a_worker_process_finishes_a_generation_submitted_through_the_web(alice_client, project, emulator, workers):
    worker = workers.start()
    gen = submit(alice_client, project)
    wait_for(settled(gen), timeout=60)

    track = assert_served(alice_client, gen, emulator)
    assert track.sha256 == emulator.emulator.media_sha256(gen.external_id)
    assert list(gen.transitions.values_list("to_state", flat=True)) == ["queued", "submitting", "running", "fetching", "succeeded"]
    assert worker.poll() is None  # still serving
    # the worker's log has one structured line per move, with the ids an operator searches by
    logs = workers.logs()
    assert f"generation_id={gen.pk} " in logs and f'external_id="{gen.external_id}"' in logs
    assert 'provider="pixazo"' in logs and 'model="pixazo-eleven-music"' in logs
    assert gen.callback_token not in logs


def test_two_workers_share_the_jobs_and_the_bucket(s3_bucket, alice_client, project, emulator, workers):
    workers.start(), workers.start()
    generations = [submit(alice_client, project, prompt=f"Take {n}") for n in range(4)]
    wait_for(settled(*generations), timeout=90)

    keys = {item["Key"] for item in s3_bucket.client.list_objects_v2(Bucket=s3_bucket.name).get("Contents", [])}
    for gen in generations:
        track = assert_served(alice_client, gen, emulator)  # read back by this process from the bucket
        assert track.file.name in keys


def test_sigterm_lets_the_running_step_finish_before_the_worker_exits(alice_client, project, emulator, workers):
    emulator.emulator.configure(elevenlabs_seconds=4.0)  # the render holds the worker for 4 s
    worker = workers.start()
    gen = submit(alice_client, project, model=SPEECH, voice_id="21m00Tcm4TlvDq8ikWAM")
    wait_for(lambda: Generation.objects.filter(pk=gen.pk, state=S.SUBMITTING, provider_status="running").exists(), timeout=60)

    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=40) == 0, workers.logs()
    gen.refresh_from_db()
    assert gen.state == S.SUCCEEDED, (gen.state, gen.error_kind, workers.logs())  # finished, not abandoned


def test_sigterm_hands_waiting_steps_to_the_next_worker(alice_client, project, emulator, workers):
    emulator.emulator.configure(music_seconds=4.0, job_seconds=4.0)
    first = workers.start()
    gen = submit(alice_client, project)
    wait_for(lambda: Generation.objects.filter(pk=gen.pk, state=S.RUNNING).exists(), timeout=60)

    first.send_signal(signal.SIGTERM)  # its next poll is a delayed message, not yet due
    assert first.wait(timeout=40) == 0, workers.logs()
    gen.refresh_from_db()
    assert gen.state == S.RUNNING

    workers.start()
    wait_for(settled(gen), timeout=60)
    assert_served(alice_client, gen, emulator)
    assert "needs_attention" not in gen.transitions.values_list("to_state", flat=True)


def test_one_scheduler_runs_and_a_second_one_finds_the_lock_taken(tmp_path):
    from tests.integration.conftest import ROOT, make_broker

    broker, url = make_broker("redis")
    broker.close()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/scheduler.sqlite3",
        "BROKER_URL": url,
        "SCHEDULER_LOCK_WAIT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "manage.py", "crontab"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in first.stdout:
            lines.append(line)
            if "Starting scheduler" in line:
                break
        assert "Loaded tasks from studio." in "".join(lines), lines
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert "Another scheduler is already running." in second.stderr, second.stdout + second.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)  # releases the lock
        first.communicate(timeout=30)


def test_a_worker_beside_the_scheduler_runs_all_it_is_sent_and_dead_letters_nothing(transactional_db, tmp_path):
    """The scheduler sends the sweep (every few seconds here) and its library's `heartbeat` (every
    minute): the worker must know both actors. Runs until a heartbeat has been handled (up to a
    minute and a quarter), then reads both logs and the broker's dead letters."""
    from tests.integration.conftest import ROOT, Workers, database_url, make_broker

    broker, url = make_broker("redis")
    broker.client.flushdb()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url(),
        "BROKER_URL": url,
        "SCHEDULER_REDIS_URL": url,
        "SWEEP_EVERY_SECONDS": "5",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    workers = Workers(env=env, log_dir=tmp_path)
    workers.start()
    scheduler_log = open(tmp_path / "scheduler.log", "wb")
    scheduler = subprocess.Popen(
        [sys.executable, "manage.py", "crontab"], cwd=ROOT, env=env, stdout=scheduler_log, stderr=subprocess.STDOUT
    )
    try:
        heartbeat_seen = wait_for(lambda: "♡" in workers.logs(), timeout=80, interval=1)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        scheduler.wait(timeout=30)
        workers.stop_all()
    logs = workers.logs() + (tmp_path / "scheduler.log").read_text(errors="replace")
    dead = {key.decode(): broker.client.zcard(key) for key in broker.client.keys("dramatiq:*.XQ")}
    broker.close()
    assert heartbeat_seen
    assert " ERROR " not in logs and "undefined actor" not in logs, logs[-3000:]
    assert sum(dead.values()) == 0, dead
