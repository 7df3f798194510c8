"""What an operator sees and does: one structured log line per job move, and the admin's view of
jobs by state with a re-drive action for stuck ones."""

import logging
from datetime import timedelta

from django.utils import timezone

from studio.catalog import BY_KEY
from studio.jobs import actors
from studio.jobs.services import start_generation
from studio.jobs.transitions import move
from studio.models import Generation

S = Generation.State
MUSIC = BY_KEY["pixazo-eleven-music"]


def quiet_generation(project, alice, state, minutes=10, **fields):
    return Generation.objects.create(
        project=project, created_by=alice, model_key=MUSIC.key, state=state,
        updated_at=timezone.now() - timedelta(minutes=minutes), **fields,
    )  # fmt: skip


def test_every_move_logs_the_ids_an_operator_searches_by_and_no_secret(project, alice, caplog):
    caplog.set_level(logging.INFO, logger="studio.transitions")
    gen = Generation.objects.create(project=project, created_by=alice, model_key=MUSIC.key, params={"prompt": "private words"})
    move(gen.pk, S.SUBMITTING, reason="sending to Pixazo")
    move(gen.pk, S.RUNNING, reason="accepted", external_id="job-123")

    records = [r for r in caplog.records if r.name == "studio.transitions"]
    assert [(r.from_state, r.to_state) for r in records] == [("queued", "submitting"), ("submitting", "running")]
    last = records[-1]
    assert (last.generation_id, last.provider, last.model, last.external_id) == (gen.pk, "pixazo", MUSIC.key, "job-123")
    line = last.getMessage()
    assert line.startswith("generation moved ")
    assert f"generation_id={gen.pk} " in line and 'external_id="job-123"' in line and 'provider="pixazo"' in line
    text = caplog.text
    assert gen.callback_token not in text and "private words" not in text and "test-pixazo-key" not in text


def test_a_new_generation_logs_its_first_state(project, alice, caplog, django_capture_on_commit_callbacks):
    caplog.set_level(logging.INFO, logger="studio.transitions")
    with django_capture_on_commit_callbacks(execute=False):
        gen = start_generation(project=project, user=alice, model=MUSIC, params={"prompt": "x"})
    assert f'generation_id={gen.pk} from_state="" to_state="queued"' in caplog.text


def test_a_refused_move_logs_nothing(project, alice, caplog):
    caplog.set_level(logging.INFO, logger="studio.transitions")
    gen = quiet_generation(project, alice, S.SUCCEEDED)
    assert not move(gen.pk, S.RUNNING)
    assert caplog.records == []


def test_the_admin_lists_stuck_jobs(admin_client, project, alice):
    stuck = quiet_generation(project, alice, S.RUNNING, external_id="ext-stuck")
    quiet_generation(project, alice, S.SUCCEEDED, external_id="ext-done")
    quiet_generation(project, alice, S.RUNNING, minutes=0, external_id="ext-moving")

    page = admin_client.get("/admin/studio/generation/?stuck=yes").content.decode()
    assert "ext-stuck" in page and "ext-done" not in page and "ext-moving" not in page
    by_state = admin_client.get("/admin/studio/generation/?state__exact=succeeded").content.decode()
    assert "ext-done" in by_state and "ext-stuck" not in by_state
    assert stuck.pk


def test_redrive_sends_each_pending_job_the_step_its_state_needs(admin_client, project, alice, monkeypatch):
    sent = []
    for name, actor in (("submit", actors.submit_generation), ("poll", actors.poll_generation), ("fetch", actors.fetch_audio)):
        monkeypatch.setattr(actor, "send_with_options", lambda name=name, **kw: sent.append((name, kw["args"])))
    queued = quiet_generation(project, alice, S.QUEUED)
    running = quiet_generation(project, alice, S.RUNNING, status_checks=3)
    fetching = quiet_generation(project, alice, S.FETCHING)
    done = quiet_generation(project, alice, S.SUCCEEDED)

    response = admin_client.post(
        "/admin/studio/generation/",
        {"action": "redrive", "_selected_action": [g.pk for g in (queued, running, fetching, done)]},
        follow=True,
    )
    page = response.content.decode()
    assert "Re-drove 3 pending job(s)." in page and "Skipped 1 job(s) that are not pending." in page
    assert sorted(sent) == sorted([("submit", (queued.pk, 0)), ("poll", (running.pk, 3)), ("fetch", (fetching.pk,))])
    done.refresh_from_db()
    assert done.state == S.SUCCEEDED
