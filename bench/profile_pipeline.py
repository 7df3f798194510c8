"""Profile one job's life in the worker, step by step, with pyinstrument (the `bench` extra).

    .venv/bin/python bench/profile_pipeline.py [--mode pg|embedded] [--jobs 200]

Runs submit, poll and fetch for N jobs one after another in this thread (no worker: the
queue's nudges are left unconsumed), prints the time per job of each step and writes a
pyinstrument report per step to /tmp/studio-bench-profile-<step>.txt.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 20


def run(mode: str, jobs: int) -> list[tuple]:
    from pyinstrument import Profiler

    from bench.fanout import MODEL_KEY, speech_params
    from providers.emulator import start_emulator
    from studio.catalog import BY_KEY
    from studio.jobs import pipeline
    from studio.models import Generation

    emulator = start_emulator(port=PORT, queued_seconds=0.0, job_seconds=0.5)
    c.point_providers_at(emulator.base_url)
    user, project = c.bench_user_and_project(f"profile-{mode}")
    model = BY_KEY[MODEL_KEY]
    params = speech_params(model)
    ids = [
        Generation.objects.create(project=project, created_by=user, model_key=model.key, params=params).pk
        for _ in range(jobs)
    ]
    rows = []
    try:
        for step, call in (
            ("submit", lambda pk: pipeline.submit(pk)),
            ("poll", lambda pk: pipeline.poll(pk, 0)),
            ("fetch", lambda pk: pipeline.fetch(pk)),
        ):
            if step == "poll":
                time.sleep(1.0)  # every job done at the emulator
            profiler = Profiler(interval=0.0005)
            start = time.perf_counter()
            with profiler:
                for pk in ids:
                    call(pk)
            per_job = (time.perf_counter() - start) / jobs * 1000
            path = f"/tmp/studio-bench-profile-{step}.txt"
            with open(path, "w") as fh:
                fh.write(profiler.output_text(unicode=True, show_all=False))
            rows.append((f"{mode}: {step} per job", f"{per_job:.1f} ms", path, None))
        done = Generation.objects.filter(state=Generation.State.SUCCEEDED).count()
        rows.append((f"{mode}: jobs Ready", f"{done}/{jobs}", jobs, done == jobs))
    finally:
        emulator.stop()
    return rows


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0], modes=("pg", "embedded"))
    parser.set_defaults(mode="pg")
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    mode = "pg" if args.mode == "all" else args.mode
    c.configure(mode)
    c.setup_django(mode)
    rows = run(mode, args.jobs)
    c.print_table(f"Pipeline steps, one thread ({c.load_note()})", rows, headers=("step", "time", "report", "ok"))


if __name__ == "__main__":
    main()
