"""Callbacks: 1,000 generations completed by provider callbacks posted over HTTP to gunicorn at a
stated rate, 20 % of them delivered twice and some out of order (a stale "processing" arriving
after "completed").

    .venv/bin/python bench/callbacks.py [--jobs 1000] [--rate 150]

PostgreSQL + Redis; gunicorn (the deployment's settings: 3 sync workers) and the worker
(rundramatiq, 1 process x 8 threads) in their own processes, as production runs them. The
studio submits with a callback URL (PUBLIC_BASE_URL is https, so the 30 s safety-net poll is
the only polling). The emulator only posts to https hosts, so once every job is done this
benchmark posts each job's status document, as the provider's own status endpoint words it, to
the studio's callback URL on loopback: on a fixed schedule of --rate callbacks per second (an
open loop: a slow answer does not delay the next send), from enough client threads that none
waits for another. Latency is from the moment a callback is sent to its answer.
Pixazo callbacks are unsigned hints: each first callback is confirmed by one status request.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 30
TARGET_P99_MS = 25.0
DUPLICATED = 0.20
STALE_AFTER_DONE = 0.10
SENDERS = 32  # client threads: enough that a slow answer never holds back the schedule


def deliveries(gens, emulator, rng: random.Random) -> list[tuple[int, str, str, bytes]]:
    """(generation id, path, kind, body) in delivery order."""
    import json

    from django.urls import reverse

    terminal, late = [], []
    for gen in gens:
        path = reverse("provider_callback", args=["pixazo", gen.pk, gen.callback_token])
        document = emulator.status_document("pixazo", gen.external_id)
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


def post_on_schedule(plan, base_url: str, rate: float) -> tuple[dict[str, list[float]], set[int], float, float]:
    """Send each callback at its moment (start + n / rate); answer latencies by kind, the
    status codes seen, the achieved rate, and the worst lag of a send behind its moment."""
    import httpx

    latencies: dict[str, list[float]] = {"completed": [], "duplicate": [], "stale": []}
    statuses: set[int] = set()
    lags: list[float] = []
    lock = threading.Lock()
    local = threading.local()
    start = time.perf_counter() + 0.5

    def send(n: int, path: str, kind: str, body: bytes) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base_url, timeout=30, trust_env=False)
        moment = start + n / rate
        wait = moment - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        sent = time.perf_counter()
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        took = (time.perf_counter() - sent) * 1000
        with lock:
            latencies[kind].append(took)
            statuses.add(response.status_code)
            lags.append(sent - moment)

    with ThreadPoolExecutor(SENDERS) as pool:
        for future in [pool.submit(send, n, path, kind, body) for n, (_pk, path, kind, body) in enumerate(plan)]:
            future.result()
    elapsed = time.perf_counter() - start
    return latencies, statuses, len(plan) / elapsed, max(lags, default=0.0)


def run(jobs: int, rate: float) -> list[tuple]:
    from django.db import close_old_connections

    from bench.fanout import JOBS_PER_PERSON, MODEL_KEY, speech_params, start_jobs, team
    from studio.catalog import BY_KEY
    from studio.models import Generation

    S = Generation.State
    emulator = c.EmulatorProcess(PORT, queued_seconds=0.5, job_seconds=2.0)
    c.point_providers_at(emulator.base_url)
    _, project = c.bench_user_and_project("callbacks")
    users = team(project, max(1, jobs // JOBS_PER_PERSON))
    model = BY_KEY[MODEL_KEY]
    params = speech_params(model)
    web_port = PORT + 2
    worker = web = None
    try:
        worker = c.start_worker(threads=8)
        web = c.start_web(web_port, workers=3)
        time.sleep(2)
        ids, _ = start_jobs(project, users, model, params, jobs)

        def all_accepted():
            close_old_connections()
            return not Generation.objects.filter(pk__in=ids, state__in=(S.QUEUED, S.SUBMITTING)).exists()

        c.wait_until(all_accepted, timeout=60 + jobs * 0.1, interval=0.2, what="every job accepted")
        gens = list(Generation.objects.filter(pk__in=ids).only("pk", "external_id", "callback_token"))
        finishes = emulator.finishes()
        time.sleep(max(0.0, max(finishes.values()) - time.time()) + 0.1)
        plan = deliveries(gens, emulator, random.Random(5))
        web_cpu = c.cpu_seconds(web.pid)
        latencies, statuses, achieved, lag = post_on_schedule(plan, f"http://127.0.0.1:{web_port}", rate)
        web_cpu = c.cpu_seconds(web.pid) - web_cpu

        def all_finished():
            close_old_connections()
            return not Generation.objects.filter(pk__in=ids, state__in=Generation.PENDING_STATES).exists()

        c.wait_until(all_finished, timeout=60 + jobs * 0.1, interval=0.2, what="every job finished")
        ready = Generation.objects.filter(pk__in=ids, state=S.SUCCEEDED).count()
        stats = emulator.stats()
    finally:
        for proc in (web, worker):
            if proc:
                proc.stop()
        emulator.stop()
    every = [ms for values in latencies.values() for ms in values]
    fetches = list(stats["media_fetches"]["by_request_id"].values())
    polls = list(stats["status_calls"]["by_request_id"].values())
    p99 = c.percentile(every, 99)
    return [
        ("jobs Ready", f"{ready}/{jobs}", jobs, ready == jobs),
        ("callbacks posted (duplicate + stale)", f"{len(every)} ({len(latencies['duplicate'])} + {len(latencies['stale'])})", "", None),
        ("rate achieved (asked)", f"{achieved:.0f}/s ({rate:g}/s)", f">= {rate * 0.95:.0f}/s", achieved >= rate * 0.95),
        ("latest send behind its moment", f"{lag * 1000:.0f} ms", "", None),
        ("handler answers", ",".join(map(str, sorted(statuses))), "200", statuses == {200}),
        ("latency p50, over HTTP", f"{c.median(every):.1f} ms", "", None),
        ("latency p99, over HTTP", f"{p99:.1f} ms", f"< {TARGET_P99_MS:g} ms", p99 < TARGET_P99_MS),
        ("latency max", f"{max(every, default=0):.1f} ms", "", None),
        ("duplicate / stale latency p50", f"{c.median(latencies['duplicate']):.1f} / {c.median(latencies['stale']):.1f} ms", "", None),
        ("gunicorn CPU per callback", f"{web_cpu / max(1, len(every)) * 1000:.2f} ms", "", None),
        ("media fetches per job (max)", max(fetches, default=0), "1", max(fetches, default=0) == 1 and len(fetches) == jobs),
        ("status calls per job (mean / max)", f"{sum(polls) / jobs:.2f} / {max(polls, default=0)}", "1 confirm", max(polls, default=0) <= 1),
    ]  # fmt: skip


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0], modes=("pg",))
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=150.0, help="callbacks per second")
    args = parser.parse_args()
    c.configure("pg", PUBLIC_BASE_URL="https://studio.test")
    c.setup_django("pg")
    rows = run(args.jobs, args.rate)
    c.print_table(
        f"Callbacks: {args.jobs} jobs finished by callback, posted at {args.rate:g}/s to gunicorn ({c.load_note()})", rows
    )


if __name__ == "__main__":
    main()
