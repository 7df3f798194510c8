"""Callbacks: 1,000 generations completed by provider callbacks, 20 % of them delivered twice
and some out of order (a stale "processing" arriving after "completed").

    .venv/bin/python bench/callbacks.py [--mode pg|embedded|all] [--jobs 1000]

The studio submits with a callback URL (PUBLIC_BASE_URL is https, so the 30 s safety-net
poll is the only polling). The emulator cannot reach https://studio.test, so this benchmark
delivers the emulator's own status documents to the handler (studio/webhooks.py
provider_callback) through Django's test client, in this process, timing each one.
Pixazo callbacks are unsigned hints: each first callback is confirmed by one status request.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 30
TARGET_P99_MS = 25.0
DUPLICATED = 0.20
STALE_AFTER_DONE = 0.10


def deliveries(gens, emulator, rng: random.Random) -> list[tuple[int, str, str, bytes]]:
    """(generation id, path, kind, body) in delivery order."""
    from django.urls import reverse

    api = emulator.emulator.providers["pixazo"]
    by_external = {job.request_id: job for job in emulator.emulator.jobs()}
    terminal, late = [], []
    for gen in gens:
        job = by_external[gen.external_id]
        path = reverse("provider_callback", args=["pixazo", gen.pk, gen.callback_token])
        document = api.status_document(job, f"{emulator.base_url}/pixazo")
        terminal.append((gen.pk, path, "completed", json.dumps(document).encode()))
        if rng.random() < DUPLICATED:
            late.append((gen.pk, path, "duplicate", json.dumps(document).encode()))
        if rng.random() < STALE_AFTER_DONE:
            stale = {**document, "status": "PROCESSING", "output": None, "completed_at": None}
            late.append((gen.pk, path, "stale", json.dumps(stale).encode()))
    rng.shuffle(terminal)
    order = list(terminal)
    for item in late:  # somewhere after the first delivery of its job
        first = next(n for n, t in enumerate(order) if t[0] == item[0])
        order.insert(rng.randint(first + 1, len(order)), item)
    return order


def run(mode: str, jobs: int) -> list[tuple]:
    from django.db import close_old_connections
    from django.test import Client

    from bench.fanout import MODEL_KEY, speech_params
    from providers.emulator import start_emulator
    from studio.catalog import BY_KEY
    from studio.jobs.services import start_generation
    from studio.models import Generation

    S = Generation.State
    emulator = start_emulator(port=PORT + (mode != "pg"), queued_seconds=0.5, job_seconds=2.0)
    c.point_providers_at(emulator.base_url)
    user, project = c.bench_user_and_project(f"callbacks-{mode}")
    model = BY_KEY[MODEL_KEY]
    params = speech_params(model)
    worker = in_process = None
    try:
        if mode == "pg":
            worker = c.start_worker(threads=8)
            time.sleep(3)
        else:
            import dramatiq
            import studio.jobs.actors  # noqa: F401

            in_process = dramatiq.Worker(dramatiq.get_broker(), worker_threads=8)
            in_process.start()
        for _ in range(jobs):
            start_generation(project=project, user=user, model=model, params=params)

        def all_accepted():
            close_old_connections()
            return not Generation.objects.filter(state__in=(S.QUEUED, S.SUBMITTING)).exists()

        c.wait_until(all_accepted, timeout=60 + jobs * 0.1, interval=0.2, what="every job accepted")
        gens = list(Generation.objects.filter(project=project).only("pk", "external_id", "callback_token"))
        time.sleep(max(0.0, max(j.done_wall() for j in emulator.emulator.jobs()) - time.time()) + 0.1)
        plan = deliveries(gens, emulator, random.Random(5))
        client = Client()
        latencies: dict[str, list[float]] = {"completed": [], "duplicate": [], "stale": []}
        statuses = set()
        started = time.time()
        for _pk, path, kind, body in plan:
            start = time.perf_counter()
            response = client.post(path, body, content_type="application/json")
            latencies[kind].append((time.perf_counter() - start) * 1000)
            statuses.add(response.status_code)
        delivered = time.time() - started

        def all_finished():
            close_old_connections()
            return not Generation.objects.filter(state__in=Generation.PENDING_STATES).exists()

        c.wait_until(all_finished, timeout=60 + jobs * 0.1, interval=0.2, what="every job finished")
        ready = Generation.objects.filter(state=S.SUCCEEDED).count()
        stats = emulator.emulator.stats()
    finally:
        if worker:
            worker.stop()
        if in_process:
            in_process.stop()
        emulator.stop()
    every = [ms for values in latencies.values() for ms in values]
    fetches = list(stats["media_fetches"]["by_request_id"].values())
    polls = list(stats["status_calls"]["by_request_id"].values())
    p99 = c.percentile(every, 99)
    return [
        (f"{mode}: jobs Ready", f"{ready}/{jobs}", jobs, ready == jobs),
        (f"{mode}: callbacks delivered (dup + stale)", f"{len(every)} ({len(latencies['duplicate'])} + {len(latencies['stale'])})", "", None),
        (f"{mode}: handler answers", ",".join(map(str, sorted(statuses))), "200", statuses == {200}),
        (f"{mode}: handler latency median", f"{c.median(every):.1f} ms", "", None),
        # The target is PostgreSQL's: embedded SQLite takes one writer at a time, the worker's included.
        (f"{mode}: handler latency p99", f"{p99:.1f} ms", *((f"< {TARGET_P99_MS:g} ms", p99 < TARGET_P99_MS) if mode == "pg" else ("", None))),
        (f"{mode}: duplicate / stale latency median", f"{c.median(latencies['duplicate']):.1f} / {c.median(latencies['stale']):.1f} ms", "", None),
        (f"{mode}: callbacks per second (one client)", round(len(every) / delivered), "", None),
        (f"{mode}: media fetches per job (max)", max(fetches, default=0), "1", max(fetches, default=0) == 1 and len(fetches) == jobs),
        (f"{mode}: status calls per job (mean / max)", f"{sum(polls) / jobs:.2f} / {max(polls, default=0)}", "1 confirm", max(polls, default=0) <= 1),
    ]


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    args = parser.parse_args()
    modes = ("pg", "embedded") if args.mode == "all" else (args.mode,)
    if len(modes) > 1:
        for mode in modes:
            c.subprocess.run([sys.executable, __file__, "--mode", mode, "--jobs", str(args.jobs)], check=False)
        return
    c.configure(modes[0], PUBLIC_BASE_URL="https://studio.test")
    c.setup_django(modes[0])
    rows = run(modes[0], args.jobs)
    c.print_table(f"Callbacks: {args.jobs} jobs finished by callback ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
