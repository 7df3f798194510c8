"""Fan-out: 1,000 generations submitted at once, each taking 5 s at the emulator, completed by
polling only (no callbacks), on one worker process of 8 threads.

    .venv/bin/python bench/fanout.py [--mode pg|embedded|all] [--jobs 1000] [--job-seconds 5]

pg: PostgreSQL + Redis, the worker is `manage.py rundramatiq --processes 1 --threads 8`.
embedded: SQLite + the in-process StubBroker worker (8 threads) beside the emulator.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 10
MODEL_KEY = "pixazo-eleven-v3-speech"
TARGET_AFTER_LAST = 15.0
TARGET_POLLS = 4


def speech_params(model) -> dict:
    from studio.jobs.forms import GenerateForm

    form = GenerateForm({"model": model.key, "text": "Fan-out check.", "voice": "Aria"}, catalog_model=model)
    assert form.is_valid(), form.errors
    return form.parameters()


def run(mode: str, jobs: int, job_seconds: float) -> list[tuple]:
    from django.db import close_old_connections
    from django.db.models import Count

    from providers.emulator import start_emulator
    from studio.catalog import BY_KEY
    from studio.jobs.services import start_generation
    from studio.models import Generation

    emulator = start_emulator(port=PORT if mode == "pg" else PORT + 1, queued_seconds=1.0, job_seconds=job_seconds)
    c.point_providers_at(emulator.base_url)
    user, project = c.bench_user_and_project(f"fanout-{mode}")
    model = BY_KEY[MODEL_KEY]
    params = speech_params(model)
    worker = None
    in_process = None
    try:
        if mode == "pg":
            worker = c.start_worker(threads=8)
            time.sleep(3)  # let it boot (and run its boot sweep over an empty table)
        else:
            import dramatiq
            import studio.jobs.actors  # noqa: F401

            in_process = dramatiq.Worker(dramatiq.get_broker(), worker_threads=8)
            in_process.start()
        t0 = time.time()
        for _ in range(jobs):
            start_generation(project=project, user=user, model=model, params=params)
        submitted = time.time() - t0

        def all_finished():
            close_old_connections()
            left = Generation.objects.filter(state__in=Generation.PENDING_STATES).count()
            return left == 0

        c.wait_until(all_finished, timeout=60 + jobs * 0.2, interval=0.2, what="every job finished")
        states = dict(Generation.objects.values_list("state").annotate(n=Count("pk")))
        finished_at = max(Generation.objects.values_list("finished_at", flat=True))
        all_ready_wall = finished_at.timestamp() - t0
        last_done = max(job.done_wall() for job in emulator.emulator.jobs()) - t0
        stats = emulator.emulator.stats()
        per_job = list(stats["status_calls"]["by_request_id"].values())
        memory = c.peak_rss_mb(worker.pid) if worker else c.status_kb(os.getpid(), "VmHWM") / 1024
    finally:
        if worker:
            worker.stop()
        if in_process:
            in_process.stop()
        emulator.stop()
    ready = states.get(Generation.State.SUCCEEDED, 0)
    polls_avg = sum(per_job) / max(1, len(per_job))
    return [
        (f"{mode}: jobs Ready", f"{ready}/{jobs}", jobs, ready == jobs),
        (f"{mode}: submitting {jobs} (studio side)", f"{submitted:.1f} s", "", None),
        (f"{mode}: wall time until all Ready", f"{all_ready_wall:.1f} s", "", None),
        (f"{mode}: studio overhead (wall - {job_seconds:g} s)", f"{all_ready_wall - job_seconds:.1f} s", "", None),
        (f"{mode}: emulator finished its last job at", f"{last_done:.1f} s", "", None),
        (
            f"{mode}: all Ready after the last provider finish",
            f"{all_ready_wall - last_done:.1f} s",
            f"<= {TARGET_AFTER_LAST:g} s",
            all_ready_wall - last_done <= TARGET_AFTER_LAST,
        ),
        (f"{mode}: status calls per job (mean)", round(polls_avg, 2), f"<= {TARGET_POLLS}", None),
        (f"{mode}: status calls per job (max)", max(per_job, default=0), f"<= {TARGET_POLLS}", max(per_job, default=0) <= TARGET_POLLS),
        (f"{mode}: media fetches", stats["media_fetches"]["total"], jobs, stats["media_fetches"]["total"] == jobs),
        (
            f"{mode}: peak worker memory" + ("" if worker else " (whole process, emulator included)"),
            f"{memory:.0f} MB",
            "",
            None,
        ),
    ]


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--job-seconds", type=float, default=5.0)
    args = parser.parse_args()
    modes = ("pg", "embedded") if args.mode == "all" else (args.mode,)
    if len(modes) > 1:  # each mode needs its own settings: one process per mode
        for mode in modes:
            c.subprocess.run([sys.executable, __file__, "--mode", mode, "--jobs", str(args.jobs),
                              "--job-seconds", str(args.job_seconds)], check=False)  # fmt: skip
        return
    mode = modes[0]
    c.configure(mode)
    c.setup_django(mode)
    rows = run(mode, args.jobs, args.job_seconds)
    c.print_table(f"Fan-out: {args.jobs} jobs x {args.job_seconds:g} s, polling only ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
