"""No job is lost or paid for twice: a few hundred jobs through a worker process that is killed
(SIGKILL) and restarted mid-run, against an emulator answering 429s, 500s, held answers,
malformed bodies, expired and truncated media, repeated and out-of-order callbacks at random;
then a broker flushed mid-run. Each test prints its figures."""

from __future__ import annotations

import hashlib
import random
import time
from collections import Counter

import pytest
from django.core.files.storage import default_storage
from django.test import override_settings

from studio.catalog import BY_KEY
from studio.jobs.services import start_generation
from studio.models import Generation

from tests.faults.conftest import Sweeper, wait_until

pytestmark = pytest.mark.faults

S = Generation.State
MODELS = (BY_KEY["apiframe-eleven-music"], BY_KEY["runware-eleven-music"])  # async APIs that call back
SEED = 20261123
FAULTS = {
    "fault_seed": SEED,
    "fault_429_rate": 0.04,
    "fault_500_rate": 0.04,
    "fault_timeout_rate": 0.02,
    "fault_timeout_seconds": 2.5,
    "fault_malformed_rate": 0.03,
    "fault_expired_media_rate": 0.06,
    "fault_truncated_media_rate": 0.04,
    "fault_duplicate_callback_rate": 0.25,
    "fault_out_of_order_callback_rate": 0.25,
}


def start_jobs(project, user, count: int) -> list[int]:
    ids = []
    with override_settings(MAX_PENDING_PER_USER=count):  # one person starts the whole run at once, on purpose
        for i in range(count):
            model = MODELS[i % len(MODELS)]
            gen = start_generation(
                project=project, user=user, model=model, params={model.spec.prompt_param: f"Fault run track {i}"}
            )
            ids.append(gen.pk)
    return ids


def pending(ids) -> int:
    return Generation.objects.filter(pk__in=ids).exclude(state__in=Generation.TERMINAL_STATES).count()


def queued_count(ids) -> int:
    return Generation.objects.filter(pk__in=ids, state=S.QUEUED).count()


def audit(ids, emulator) -> dict:
    """What every fault run must show: nothing lost, nothing paid twice, every file intact."""
    gens = list(Generation.objects.filter(pk__in=ids).prefetch_related("tracks"))
    submissions = emulator.stats()["submissions"]["by_request_id"]
    ours = {g.external_id for g in gens if g.external_id}
    duplicates = sum(n - 1 for n in submissions.values() if n > 1) + len(set(submissions) - ours)
    bad_files, unsubmitted = [], []
    for gen in gens:
        if gen.state != S.SUCCEEDED:
            continue
        if submissions.get(gen.external_id) != 1:
            unsubmitted.append(gen.pk)
        for track in gen.tracks.all():
            with default_storage.open(track.file.name, "rb") as fh:
                actual = hashlib.sha256(fh.read()).hexdigest()
            if not actual == track.sha256 == emulator.media_sha256(gen.external_id):
                bad_files.append(gen.pk)
    states = Counter(g.state for g in gens)
    return {
        "jobs": len(gens),
        "states": dict(states),
        "lost": sum(1 for g in gens if g.state not in Generation.TERMINAL_STATES),
        "duplicate_submissions": duplicates,
        "succeeded_without_one_submission": unsubmitted,
        "bad_files": bad_files,
        "failed": [(g.pk, g.error) for g in gens if g.state != S.SUCCEEDED],
        "no_track": [g.pk for g in gens if g.state == S.SUCCEEDED and not g.tracks.all()],
        "unfinished": [
            (g.pk, g.model_key, g.state, g.error_kind, list(g.transitions.values_list("reason", flat=True))[-4:])
            for g in gens
            if g.state not in Generation.TERMINAL_STATES
        ][:10],
    }


def report(capsys, title: str, figures: dict) -> None:
    with capsys.disabled():
        print(f"\n--- {title}")
        for name, value in figures.items():
            print(f"{name:>24}: {value}")


def check(result: dict) -> None:
    assert result["lost"] == 0, result
    assert result["duplicate_submissions"] == 0, result
    assert result["succeeded_without_one_submission"] == [], result
    assert result["bad_files"] == [] and result["no_track"] == [], result
    # Only transient faults were injected: every job must have come through them.
    assert result["failed"] == [], result
    assert result["states"] == {S.SUCCEEDED: result["jobs"]}, result


def test_jobs_survive_random_faults_and_killed_workers(project, alice, fault_emulator, worker_process, capsys):
    fault_emulator.emulator.configure(**FAULTS)
    rng = random.Random(SEED)
    began = time.monotonic()
    ids = start_jobs(project, alice, 200)
    pending_at_kill = []
    # Kill only once the worker is at work, so every kill lands mid-run.
    assert wait_until(lambda: Generation.objects.filter(pk__in=ids).exclude(state=S.QUEUED).exists(), timeout=60)
    with Sweeper(every=3.0) as sweeper:
        for _ in range(8):
            # Each kill lands after the restarted worker has made some progress, at a random moment.
            left = pending(ids)
            wait_until(lambda: pending(ids) < left, timeout=30, interval=0.2)
            # Short enough that a quick worker still meets several kills before the run ends.
            time.sleep(rng.uniform(0.3, 1.2))
            left = pending(ids)
            if not left:
                break
            pending_at_kill.append(left)
            worker_process.kill()
            time.sleep(rng.uniform(0.2, 1.0))
            worker_process.start()
        finished = wait_until(lambda: pending(ids) == 0, timeout=120)
    elapsed = time.monotonic() - began

    result = audit(ids, fault_emulator.emulator)
    stats = fault_emulator.emulator.stats()
    report(
        capsys,
        "fault run: random faults and SIGKILLed workers",
        {
            "jobs": result["jobs"],
            "succeeded": result["states"].get(S.SUCCEEDED, 0),
            "faults injected": dict(sorted(stats["faults_injected"]["by_kind"].items())),
            "worker kills": worker_process.kills,
            "pending at each kill": pending_at_kill,
            "sweeps sent": sweeper.sent,
            "callbacks delivered": stats["callbacks_sent"]["total"],
            "status requests": stats["status_calls"]["total"],
            "lost": result["lost"],
            "duplicate submissions": result["duplicate_submissions"],
            "seconds": round(elapsed, 1),
        },
    )
    assert finished, (result["unfinished"], worker_process.log_tail())
    assert worker_process.kills >= 4, "the run finished before the worker could be killed mid-run"
    faults = stats["faults_injected"]["by_kind"]
    for kind in ("429", "500", "timeout", "malformed", "expired_media", "truncated_media",
                 "duplicate_callback", "out_of_order_callback"):
        assert faults.get(kind, 0) > 0, f"no {kind} fault was injected: the run proves nothing about it"
    check(result)


def test_jobs_finish_through_the_sweep_after_the_broker_is_flushed(
    project, alice, fault_emulator, worker_process, settings, capsys
):
    import redis

    warm_up = start_jobs(project, alice, 1)  # the worker is up and consuming
    assert wait_until(lambda: pending(warm_up) == 0, timeout=60)
    # The worker is quicker than the submissions: frozen while they go in, it is then let loose
    # until it has taken some, and frozen again, so some jobs are mid-flight and the rest's
    # messages certainly wait in the broker when it is flushed.
    worker_process.freeze()
    ids = start_jobs(project, alice, 60)
    worker_process.thaw()
    assert wait_until(lambda: queued_count(ids) < len(ids), timeout=30, interval=0.02)
    worker_process.freeze()
    before = pending(ids)
    queued = queued_count(ids)  # their messages go with the flush
    redis.Redis.from_url(settings.BROKER_URL).flushdb()  # this test's own database number only
    worker_process.thaw()
    began = time.monotonic()
    with Sweeper(every=3.0) as sweeper:
        finished = wait_until(lambda: pending(ids) == 0, timeout=120)
    result = audit(warm_up + ids, fault_emulator.emulator)
    report(
        capsys,
        "broker flushed mid-run",
        {
            "jobs": result["jobs"],
            "pending at the flush": before,
            "queued at the flush": queued,
            "succeeded": result["states"].get(S.SUCCEEDED, 0),
            "sweeps sent": sweeper.sent,
            "lost": result["lost"],
            "duplicate submissions": result["duplicate_submissions"],
            "seconds after the flush": round(time.monotonic() - began, 1),
        },
    )
    assert queued > 0, "the flush came too late to lose any message"
    assert finished, (result["unfinished"], worker_process.log_tail())
    check(result)
