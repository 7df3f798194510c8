"""No job is lost or paid for twice: a few hundred jobs through a worker process that is killed
(SIGKILL) and restarted mid-run, against an emulator answering 429s, 500s, held answers,
malformed bodies, expired and truncated media, repeated and out-of-order callbacks at random;
then a broker flushed mid-run. Each test prints its figures."""

from __future__ import annotations

import random
import time

import pytest

from studio.catalog import BY_KEY
from studio.jobs.services import start_generation
from studio.models import Generation

from .audit import audit, check
from .conftest import Sweeper, wait_until

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


def start_jobs(project, user, count: int, *, first: int = 0) -> dict[int, str]:
    """`count` jobs, each with a prompt of its own: id → prompt."""
    jobs = {}
    for i in range(first, first + count):
        model = MODELS[i % len(MODELS)]
        prompt = f"Fault run track #{i:04d}."
        jobs[start_generation(project=project, user=user, model=model, params={model.spec.prompt_param: prompt}).pk] = prompt
    return jobs


def pending(ids) -> int:
    return Generation.objects.filter(pk__in=ids, state__in=Generation.PENDING_STATES).count()


def queued_count(ids) -> int:
    return Generation.objects.filter(pk__in=ids, state=S.QUEUED).count()


def report(capsys, title: str, figures: dict) -> None:
    with capsys.disabled():
        print(f"\n--- {title}")
        for name, value in figures.items():
            print(f"{name:>24}: {value}")


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

    result = audit(ids, fault_emulator.emulator, worker_process.kill_times)
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
            "needs attention (why)": result["attention_explained"],
            "lost": len(result["lost"]),
            "paid twice": len(result["paid_twice"]),
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
    ids = start_jobs(project, alice, 60, first=1)
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
    result = audit({**warm_up, **ids}, fault_emulator.emulator, worker_process.kill_times)
    report(
        capsys,
        "broker flushed mid-run",
        {
            "jobs": result["jobs"],
            "pending at the flush": before,
            "queued at the flush": queued,
            "succeeded": result["states"].get(S.SUCCEEDED, 0),
            "sweeps sent": sweeper.sent,
            "needs attention (why)": result["attention_explained"],
            "lost": len(result["lost"]),
            "paid twice": len(result["paid_twice"]),
            "seconds after the flush": round(time.monotonic() - began, 1),
        },
    )
    assert queued > 0, "the flush came too late to lose any message"
    assert finished, (result["unfinished"], worker_process.log_tail())
    check(result)
