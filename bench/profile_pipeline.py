"""Where a job's worker CPU goes: submit, then one status check that finds the job done and
fetches its audio, for N jobs one after another in this thread, step by step.

    .venv/bin/python bench/profile_pipeline.py [--mode pg|embedded] [--jobs 300] [--profile cprofile|pyinstrument|none]

Prints, per step and per job: CPU time (process time, so other load on the machine does not
count), wall time and SQL statements; the queue's messages are left unconsumed (no worker runs).
A profile per step goes to /tmp/studio-bench-profile-<step>.txt: cProfile's functions by own
time and by cumulative time, or pyinstrument's tree. Profiled runs are slower; the CPU figures
come from a first, unprofiled pass over half the jobs.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 20


class StatementCounter:
    """Counts the SQL statements sent (Django's execute wrapper: no debug cursor, no query text kept)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(call, ids) -> tuple[float, float, float]:
    """CPU ms, wall ms and statements per job."""
    from django.db import connection

    counter = StatementCounter()
    with connection.execute_wrapper(counter):
        cpu, wall = time.process_time(), time.perf_counter()
        for pk in ids:
            call(pk)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / len(ids) * 1000, wall / len(ids) * 1000, counter.count / len(ids)


def profiled(call, ids, kind: str) -> str:
    if kind == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        with profiler:
            for pk in ids:
                call(pk)
        return profiler.output_text(unicode=True, show_all=False)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for pk in ids:
        call(pk)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(60)
    return out.getvalue()


def run(mode: str, jobs: int, kind: str) -> list[tuple]:
    from bench.fanout import MODEL_KEY, speech_params
    from studio.catalog import BY_KEY
    from studio.jobs import pipeline
    from studio.models import Generation

    emulator = c.EmulatorProcess(PORT, queued_seconds=0.0, job_seconds=0.5)
    c.point_providers_at(emulator.base_url)
    user, project = c.bench_user_and_project(f"profile-{mode}")
    model = BY_KEY[MODEL_KEY]
    params = speech_params(model)
    ids = [
        Generation.objects.create(project=project, created_by=user, model_key=model.key, params=params).pk
        for _ in range(jobs)
    ]
    # The first job warms connections and clients; a profiled run takes the second half.
    measured, profiled_ids = (ids[1:], []) if kind == "none" else (ids[1 : jobs // 2], ids[jobs // 2 :])
    rows = []
    totals = [0.0, 0.0, 0.0]
    try:
        pipeline.submit(ids[0])  # warm: connections, the adapter's client
        for step, call in (
            ("submit", lambda pk: pipeline.submit(pk)),
            ("status check + fetch", lambda pk: pipeline.poll(pk, 0)),
        ):
            if step != "submit":
                time.sleep(1.0)  # every job done at the emulator
            cpu, wall, statements = measure(call, measured)
            totals = [totals[0] + cpu, totals[1] + wall, totals[2] + statements]
            path = f"/tmp/studio-bench-profile-{step.split()[0]}.txt"
            if kind != "none":
                with open(path, "w") as fh:
                    fh.write(profiled(call, profiled_ids, kind))
            rows.append((f"{mode}: {step}", f"{cpu:.2f} ms", f"{wall:.2f} ms", f"{statements:.1f}", path if kind != "none" else ""))
        rows.append((f"{mode}: the job's steps", f"{totals[0]:.2f} ms", f"{totals[1]:.2f} ms", f"{totals[2]:.1f}", ""))
        done = Generation.objects.filter(pk__in=ids, state=Generation.State.SUCCEEDED).count()
        rows.append((f"{mode}: jobs Ready", f"{done}/{jobs}", "", "", ""))
    finally:
        emulator.stop()
    return rows


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0], modes=("pg", "embedded"))
    parser.set_defaults(mode="pg")
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--profile", choices=("cprofile", "pyinstrument", "none"), default="cprofile")
    args = parser.parse_args()
    mode = "pg" if args.mode == "all" else args.mode
    c.configure(mode)
    c.setup_django(mode)
    rows = run(mode, args.jobs, args.profile)
    c.print_table(
        f"Pipeline steps per job, one thread, no queue ({c.load_note()})", rows,
        headers=("step", "CPU", "wall", "SQL statements", "profile"),
    )  # fmt: skip


if __name__ == "__main__":
    main()
