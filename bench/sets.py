"""Submitting a set of 200 jobs: the server time of the compare form's POST, which checks every job
against its own model's form, runs the rules for all 200 at once, bulk-creates them in one
transaction and sends their 200 messages after the commit. With --run, a worker then runs the
last set while this waits for every job to be Ready.

    .venv/bin/python bench/sets.py [--mode pg|embedded|all] [--repeat 5] [--run]

The set is 50 prompts × the four Eleven Music gateways. Requests go through Django's test client
in this process (view, forms, database and broker; no network), after one small warm-up set.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 62
MODELS = ["pixazo-eleven-music", "aimlapi-eleven-music", "apiframe-eleven-music", "runware-eleven-music"]
PROMPTS = 50
TARGET_SECONDS = 1.0


def submit(client, project, prompts: int) -> tuple[float, int]:
    """One compare-form POST: its time (seconds) and its SQL queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    data = {
        "models": MODELS,
        "prompts": "\n".join(f"Bench set prompt {n}: strings and a soft pulse" for n in range(prompts)),
        "length_seconds": "30",
        "output_format": "mp3_192",
    }
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        response = client.post(f"/projects/{project.pk}/compare/", data, secure=True)  # as behind the TLS proxy
        seconds = time.perf_counter() - start
    assert response.status_code == 302, response.content[:2000]
    return seconds, len(queries)


def run_last_set(mode: str, client, project, emulator, jobs: int) -> list[tuple]:
    """One more set, run by the worker until every job is Ready."""
    from django.db import close_old_connections

    from studio.models import Generation, GenerationSet

    t0 = time.time()
    submit(client, project, PROMPTS)
    latest = GenerationSet.objects.latest("pk")

    def all_finished():
        close_old_connections()
        return not latest.generations.filter(state__in=Generation.PENDING_STATES).exists()

    c.wait_until(all_finished, timeout=600, interval=0.5, what="every job of the set finished")
    ready = latest.generations.filter(state=Generation.State.SUCCEEDED).count()
    submissions = emulator.emulator.stats()["submissions"]["total"]
    return [
        (f"{mode}: the set's jobs Ready", f"{ready}/{jobs}", jobs, ready == jobs),
        (f"{mode}: submit to all Ready (2 s jobs, 8 worker threads)", f"{time.time() - t0:.1f} s", "", None),
        (f"{mode}: submissions at the emulator", submissions, jobs, submissions == jobs),
    ]


def run(mode: str, repeat: int, run_jobs: bool) -> list[tuple]:
    import dramatiq
    from django.test import Client

    from providers.emulator import start_emulator
    from studio.models import Generation

    emulator = start_emulator(port=PORT if mode == "pg" else PORT + 1, queued_seconds=0.5, job_seconds=2.0)
    c.point_providers_at(emulator.base_url)
    user, project = c.bench_user_and_project(f"sets-{mode}")
    client = Client()
    client.force_login(user)
    rows = []
    try:
        submit(client, project, 2)  # warm-up: imports, templates, the first connection, the estimates' first read
        _, small_queries = submit(client, project, 2)
        timings = [submit(client, project, PROMPTS) for _ in range(repeat)]
        seconds = [t for t, _ in timings]
        jobs = len(MODELS) * PROMPTS
        rows += [
            (f"{mode}: jobs per set", jobs, 200, jobs == 200),
            (f"{mode}: submit a {jobs}-job set, median server time", f"{c.median(seconds):.3f} s", f"< {TARGET_SECONDS:g} s", c.median(seconds) < TARGET_SECONDS),
            (f"{mode}: slowest of {repeat}", f"{max(seconds):.3f} s", f"< {TARGET_SECONDS:g} s", max(seconds) < TARGET_SECONDS),
            # SQLite caps the values of one statement, so its bulk inserts go in batches.
            (f"{mode}: SQL queries per submit, 8 jobs / {jobs} jobs", f"{small_queries} / {timings[0][1]}",
             "the same" if mode == "pg" else "", small_queries == timings[0][1] if mode == "pg" else None),
        ]  # fmt: skip
        if run_jobs:
            Generation.objects.all().delete()
            dramatiq.get_broker().flush_all()
            with c.running_worker(mode):
                rows += run_last_set(mode, client, project, emulator, jobs)
    finally:
        emulator.stop()
    return rows


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--run", action="store_true", help="then run the last set with a worker until all are Ready")
    args = parser.parse_args()
    modes = ("pg", "embedded") if args.mode == "all" else (args.mode,)
    if len(modes) > 1:  # each mode needs its own settings: one process per mode
        for mode in modes:
            extra = ["--run"] if args.run else []
            c.subprocess.run([sys.executable, __file__, "--mode", mode, "--repeat", str(args.repeat), *extra], check=False)
        return
    mode = modes[0]
    c.configure(mode, MAX_PENDING_PER_USER="100000", DEBUG="false", SECRET_KEY="bench-only-" + "x" * 40, ALLOWED_HOSTS="testserver")
    c.setup_django(mode)
    rows = run(mode, args.repeat, args.run)
    c.print_table(f"Sets: {len(MODELS)} models x {PROMPTS} prompts in one submit ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
