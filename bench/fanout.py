"""Fan-out: thousands of generations started at once, each taking 5 s at the provider, completed
by polling only (no callbacks), with the worker's own CPU per job as the headline.

    .venv/bin/python bench/fanout.py [--mode pg|embedded|all] [--jobs 1000] [--job-seconds 5]
                                     [--processes 1] [--threads 8]
    .venv/bin/python bench/fanout.py --jobs 5000 --processes 1,2,4   # how the work spreads

pg: PostgreSQL + Redis, the worker is `manage.py rundramatiq --processes P --threads 8`, run as
production runs it (DEBUG off). embedded: SQLite + the in-process StubBroker worker (8 threads).
The provider emulator runs in its own process either way: its CPU is not the studio's.

The jobs are started by a team of editors, 20 each (the default limit per person). A warm-up
round (20 jobs per worker process) comes first: a running worker has seen the model
before and times its status checks by it (studio/jobs/poll_timing.py), and the worker's memory
after it is the baseline that the big round's must stay near. Then all jobs are started in one
transaction (the rules' check for each, as the form does), so their messages reach the broker
together and the clock starts at the commit.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 10
MODEL_KEY = "pixazo-eleven-v3-speech"
QUEUED_SECONDS = 1.0
WARM_UP_PER_PROCESS = 20
JOBS_PER_PERSON = 20  # the default limit of jobs in progress per person (MAX_PENDING_PER_USER)
TARGET_CPU_MS = 5.0  # worker CPU per job: submit + one status check + fetch of a small file + stored
TARGET_AFTER_LAST = 15.0  # seconds from the provider's last finish to the last card Ready
TARGET_POLLS_MEAN = 2.0
TARGET_POLLS_MAX = 4
TARGET_MEMORY_GROWTH_MB = 10.0  # worker memory from the warm-up round to the big one


def speech_params(model) -> dict:
    from studio.jobs.forms import GenerateForm

    form = GenerateForm({"model": model.key, "text": "Fan-out check.", "voice": "Aria"}, catalog_model=model)
    assert form.is_valid(), form.errors
    return form.parameters()


def team(project, size: int) -> list:
    """Editors of the project, so that each starts a share of the jobs (the rules count each
    person's jobs in progress). No passwords: hashing them would only slow the setup."""
    from django.contrib.auth import get_user_model

    from studio.models import Membership, Role

    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"{project.name}-{n}") for n in range(size)
    )  # fmt: skip
    Membership.objects.bulk_create(Membership(project=project, user=u, role=Role.EDITOR) for u in users)
    return users


def start_jobs(project, users, model, params, count: int) -> tuple[list[int], float]:
    """`count` jobs started by the team in one transaction, each through the rules as the form
    does; answer their ids and the moment of the commit (their messages are sent once it is done)."""
    from django.db import transaction

    from studio.jobs.services import start_generation

    with transaction.atomic():
        ids = [
            start_generation(project=project, user=users[n % len(users)], model=model, params=params).pk
            for n in range(count)
        ]
        committed_at = time.time()
    return ids, committed_at


def wait_finished(ids: list[int], *, timeout: float) -> None:
    from django.db import close_old_connections

    from studio.models import Generation

    def finished():  # Ready, failed, or handed to the user (needs attention)
        close_old_connections()
        return not Generation.objects.filter(pk__in=ids, state__in=Generation.PENDING_STATES).exists()

    c.wait_until(finished, timeout=timeout, interval=0.2, what="every job finished")


def memory_mb(pids: list[int], field: str) -> float:
    """The largest of the worker processes' figures (each process holds its own jobs)."""
    return max((c.status_kb(pid, field) for pid in pids), default=0) / 1024


def run(mode: str, jobs: int, job_seconds: float, processes: int, threads: int) -> dict:
    from django.db.models import Count

    from studio.catalog import BY_KEY
    from studio.models import Generation

    emulator = c.EmulatorProcess(PORT + (mode != "pg"), queued_seconds=QUEUED_SECONDS, job_seconds=job_seconds)
    c.point_providers_at(emulator.base_url)
    _, project = c.bench_user_and_project(f"fanout-{mode}")
    users = team(project, max(1, jobs // JOBS_PER_PERSON))
    model = BY_KEY[MODEL_KEY]
    params = speech_params(model)
    worker = in_process = None
    try:
        if mode == "pg":
            worker = c.start_worker(processes=processes, threads=threads)
            pids = c.worker_processes(worker, processes)
            time.sleep(2)  # let them boot (and run the boot sweep over an empty table)
        else:
            import dramatiq

            import studio.jobs.actors  # noqa: F401  (declares the actors on the in-process broker)

            in_process = dramatiq.Worker(dramatiq.get_broker(), worker_threads=threads)
            in_process.start()
            pids = [os.getpid()]
        warm_ids, _ = start_jobs(project, users, model, params, WARM_UP_PER_PROCESS * processes)
        wait_finished(warm_ids, timeout=60 + job_seconds)
        warm_peak = memory_mb(pids, "VmHWM")
        stats_before = emulator.stats()
        # Embedded, the worker's threads share this process with the benchmark's own (which
        # starts the jobs and waits): that thread's CPU is taken out.
        cpu_before, emulator_cpu_before, own_before = c.cpu_seconds(*pids), emulator.cpu_seconds(), time.thread_time()
        started = time.time()
        ids, t0 = start_jobs(project, users, model, params, jobs)
        start_seconds = t0 - started
        wait_finished(ids, timeout=120 + jobs * 0.2)
        cpu = c.cpu_seconds(*pids) - cpu_before - (time.thread_time() - own_before if in_process else 0.0)
        emulator_cpu = emulator.cpu_seconds() - emulator_cpu_before
        peak = memory_mb(pids, "VmHWM")
        rows = Generation.objects.filter(pk__in=ids)
        states = dict(rows.values_list("state").annotate(n=Count("pk")))
        ready = rows.filter(state=Generation.State.SUCCEEDED)
        all_ready = max(ready.values_list("finished_at", flat=True)).timestamp() - t0
        accepted = max(ready.values_list("submitted_at", flat=True)).timestamp() - t0
        external = set(rows.values_list("external_id", flat=True))
        finishes = emulator.finishes()
        last_done = max(at for request_id, at in finishes.items() if request_id in external) - t0
        stats = emulator.stats()
    finally:
        if worker:
            worker.stop()
        if in_process:
            in_process.stop()
        emulator.stop()

    def per_job(tally: str) -> list[int]:
        before = stats_before[tally]["by_request_id"]
        return [n - before.get(key, 0) for key, n in stats[tally]["by_request_id"].items() if key in external]

    polls = per_job("status_calls")
    return {
        "mode": mode, "jobs": jobs, "job_seconds": job_seconds, "processes": processes, "threads": threads,
        "ready": states.get(Generation.State.SUCCEEDED, 0), "states": states, "start_seconds": start_seconds,
        "all_ready": all_ready, "accepted": accepted, "last_done": last_done,
        "cpu_ms_per_job": cpu / jobs * 1000, "emulator_cpu_ms_per_job": emulator_cpu / jobs * 1000,
        "polls_mean": sum(polls) / max(1, len(polls)), "polls_max": max(polls, default=0),
        "fetches": sum(per_job("media_fetches")), "warm_peak_mb": warm_peak, "peak_mb": peak,
    }  # fmt: skip


def _others(states: dict) -> str:
    others = {state: n for state, n in states.items() if state != "succeeded"}
    return f" ({', '.join(f'{n} {state}' for state, n in others.items())})" if others else ""


def rows_for(r: dict) -> list[tuple]:
    mode, jobs = r["mode"], r["jobs"]
    label = f"{mode}, {r['processes']} x {r['threads']} threads" if mode == "pg" else f"{mode}, {r['threads']} threads"
    throughput = jobs / max(r["all_ready"] - r["job_seconds"] - QUEUED_SECONDS, 1e-9)
    after_last = r["all_ready"] - r["last_done"]
    growth = r["peak_mb"] - r["warm_peak_mb"]
    return [
        (f"{label}: jobs Ready", f"{r['ready']}/{jobs}" + _others(r["states"]), jobs, r["ready"] == jobs),
        (f"{label}: starting {jobs} jobs (rules, rows; one transaction)", f"{r['start_seconds']:.1f} s", "", None),
        (f"{label}: wall time, commit -> all Ready", f"{r['all_ready']:.1f} s", "", None),
        (f"{label}: submit throughput (accepted by the provider)", f"{jobs / r['accepted']:.0f} jobs/s", "", None),
        (
            f"{label}: worker CPU per job (process CPU time)",
            f"{r['cpu_ms_per_job']:.2f} ms",
            f"<= {TARGET_CPU_MS:g} ms",
            r["cpu_ms_per_job"] <= TARGET_CPU_MS,
        ),
        (
            f"{label}: throughput, jobs / (wall - provider time)",
            f"{throughput:.0f} jobs/s, {throughput / r['processes']:.0f} per process",
            "",
            None,
        ),
        (f"{label}: provider finished its last job at", f"{r['last_done']:.1f} s", "", None),
        (
            f"{label}: all Ready after the provider's last finish",
            f"{after_last:.1f} s",
            f"<= {TARGET_AFTER_LAST:g} s",
            after_last <= TARGET_AFTER_LAST,
        ),
        (
            f"{label}: status calls per job, mean",
            f"{r['polls_mean']:.2f}",
            f"<= {TARGET_POLLS_MEAN:g}",
            r["polls_mean"] <= TARGET_POLLS_MEAN,
        ),
        (f"{label}: status calls per job, max", r["polls_max"], f"<= {TARGET_POLLS_MAX}", r["polls_max"] <= TARGET_POLLS_MAX),
        (f"{label}: media fetches", r["fetches"], jobs, r["fetches"] == jobs),
        (
            f"{label}: worker peak memory, warm-up -> {jobs} jobs"
            + ("" if mode == "pg" else " (whole process)"),
            f"{r['warm_peak_mb']:.0f} -> {r['peak_mb']:.0f} MB (+{growth:.1f})",
            f"+ <= {TARGET_MEMORY_GROWTH_MB:g} MB",
            growth <= TARGET_MEMORY_GROWTH_MB,
        ),
        (f"{label}: emulator CPU per job (the provider's, for scale)", f"{r['emulator_cpu_ms_per_job']:.2f} ms", "", None),
    ]


def scaling_rows(results: list[dict]) -> list[tuple]:
    rows = []
    for r in results:
        throughput = r["jobs"] / max(r["all_ready"] - r["job_seconds"] - QUEUED_SECONDS, 1e-9)
        rows.append((
            r["processes"], f"{throughput:.0f}", f"{throughput / r['processes']:.0f}", f"{r['cpu_ms_per_job']:.2f}",
            f"{r['all_ready'] - r['last_done']:.1f}", f"{r['polls_mean']:.2f}",
        ))  # fmt: skip
    return rows


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--job-seconds", type=float, default=5.0)
    parser.add_argument("--processes", default="1", help="worker processes (pg); a list such as 1,2,4 runs each in turn")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--json-out", help=argparse.SUPPRESS)  # where one run writes its figures for the scaling table
    args = parser.parse_args()
    modes = ("pg", "embedded") if args.mode == "all" else (args.mode,)
    counts = [int(n) for n in args.processes.split(",")]
    if len(modes) > 1 or len(counts) > 1:  # each run needs its own settings and a fresh worker: one process each
        results = []
        for mode in modes:
            for processes in counts if mode == "pg" else counts[:1]:
                with tempfile.NamedTemporaryFile(suffix=".json") as out:
                    c.subprocess.run([
                        sys.executable, __file__, "--mode", mode, "--jobs", str(args.jobs), "--job-seconds",
                        str(args.job_seconds), "--processes", str(processes), "--threads", str(args.threads),
                        "--json-out", out.name,
                    ], check=False)  # fmt: skip
                    text = open(out.name).read()
                    if text:
                        results.append(json.loads(text))
        scaled = [r for r in results if r["mode"] == "pg"]
        if len(scaled) > 1:
            c.print_table(
                f"Fan-out, how the work spreads: {args.jobs} jobs, worker processes x {args.threads} threads ({c.load_note()})",
                scaling_rows(scaled),
                headers=("processes", "jobs/s", "jobs/s per process", "CPU ms/job", "Ready after last finish, s", "status calls/job"),
            )  # fmt: skip
        return
    mode = modes[0]
    c.configure(mode, MAX_PENDING_PER_USER=str(JOBS_PER_PERSON + WARM_UP_PER_PROCESS * 4))  # the warm-up's too
    c.setup_django(mode)
    result = run(mode, args.jobs, args.job_seconds, counts[0], args.threads)
    c.print_table(f"Fan-out: {args.jobs} jobs x {args.job_seconds:g} s, polling only ({c.load_note()})", rows_for(result))
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(result, fh)


if __name__ == "__main__":
    main()
