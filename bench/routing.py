"""Routing with the preferred gateway down: 100 jobs of "Eleven Music (any gateway)" while Pixazo
(first in ROUTING_ORDER) answers every request 503 (or refuses connections), against a healthy
run of the same jobs.

    .venv/bin/python bench/routing.py [--mode pg|embedded|all] [--jobs 100] [--down unavailable|refused]

Each run starts with fresh circuits, as a new deployment would (Pixazo never used yet), and a
cool-down longer than the run, so no probe job goes back to Pixazo meanwhile. Figures: every job
Ready with exactly one accepted submission across all gateways, the extra time per job (median
from the click to Ready, down run minus healthy run), and how many jobs paid a failed attempt at
Pixazo before its circuit opened (target: at most CIRCUIT_REFUSALS).
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 60
THRESHOLD = 3
JOB_SECONDS = 2.0


def closed_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_run(mode: str, jobs: int, emulator, down: str | None) -> dict:
    from django.db import close_old_connections

    from studio.catalog import BY_KEY
    from studio.jobs.services import start_generation
    from studio.models import GatewayAttempt, GatewayCircuit, Generation

    close_old_connections()
    Generation.objects.all().delete()
    GatewayCircuit.objects.all().delete()  # a fresh deployment: no gateway proven yet
    emulator.emulator.reset()
    if down == "unavailable":
        emulator.emulator.configure(outages={"pixazo": "unavailable"})
    user, project = c.bench_user_and_project(f"routing-{mode}-{down or 'healthy'}")
    model = BY_KEY["eleven-music-any"]
    t0 = time.time()
    gens = [
        start_generation(project=project, user=user, model=model, params={"prompt": f"Routing check {n}", "length_seconds": 10})
        for n in range(jobs)
    ]
    ids = [gen.pk for gen in gens]

    def all_finished():
        close_old_connections()
        return not Generation.objects.filter(pk__in=ids, state__in=(*Generation.PENDING_STATES,)).exists()

    c.wait_until(all_finished, timeout=120 + jobs, interval=0.2, what="every routed job finished")
    wall = time.time() - t0
    rows = list(Generation.objects.filter(pk__in=ids).values_list("state", "gateway", "created_at", "finished_at"))
    ready = [r for r in rows if r[0] == Generation.State.SUCCEEDED]
    per_job = [(finished - created).total_seconds() for _, _, created, finished in ready]
    emulated = emulator.emulator.jobs()
    per_prompt: dict[str, int] = {}
    for job in emulated:
        prompt = job.params.get("prompt") or job.params.get("positivePrompt") or ""
        per_prompt[prompt] = per_prompt.get(prompt, 0) + 1
    return {
        "ready": len(ready),
        "gateways": sorted({r[1] for r in ready}),
        "median": c.median(per_job),
        "p95": c.percentile(per_job, 95),
        "wall": wall,
        "paid": GatewayAttempt.objects.filter(generation_id__in=ids, gateway="pixazo", outcome="refused").count(),
        "one_each": len(emulated) == jobs and set(per_prompt.values()) == {1},
    }


def run(mode: str, jobs: int, down: str) -> list[tuple]:
    from django.conf import settings

    from providers.emulator import start_emulator
    from studio.jobs.adapters import get_adapter

    emulator = start_emulator(port=PORT if mode == "pg" else PORT + 1, queued_seconds=0.5, job_seconds=JOB_SECONDS)
    c.point_providers_at(emulator.base_url)
    try:
        with c.running_worker(mode):
            healthy = one_run(mode, jobs, emulator, None)
        if down == "refused":  # nothing listens there: refused before the request is sent
            os.environ["PIXAZO_BASE_URL"] = settings.PROVIDERS["pixazo"]["base_url"] = f"http://127.0.0.1:{closed_port()}/pixazo"
            get_adapter.cache_clear()
        with c.running_worker(mode):  # a fresh worker reads the settings afresh
            broken = one_run(mode, jobs, emulator, down if down == "unavailable" else "refused-port")
    finally:
        emulator.stop()
    extra = broken["median"] - healthy["median"]
    return [
        (f"{mode}: healthy run: jobs Ready (gateways)", f"{healthy['ready']}/{jobs} ({', '.join(healthy['gateways'])})", jobs, healthy["ready"] == jobs),
        (f"{mode}: healthy run: median / p95 click → Ready", f"{healthy['median']:.2f} s / {healthy['p95']:.2f} s", "", None),
        (f"{mode}: Pixazo {down}: jobs Ready (gateways)", f"{broken['ready']}/{jobs} ({', '.join(broken['gateways'])})", jobs, broken["ready"] == jobs),
        (f"{mode}: Pixazo {down}: median / p95 click → Ready", f"{broken['median']:.2f} s / {broken['p95']:.2f} s", "", None),
        (f"{mode}: extra time per job (median, down - healthy)", f"{extra:+.2f} s", "", None),
        (f"{mode}: wall time for {jobs} jobs, healthy / down", f"{healthy['wall']:.1f} s / {broken['wall']:.1f} s", "", None),
        (f"{mode}: jobs that paid a failed attempt at Pixazo", broken["paid"], f"<= {THRESHOLD}", broken["paid"] <= THRESHOLD),
        (f"{mode}: one accepted submission per job, all gateways", "yes" if broken["one_each"] else "no", "yes", broken["one_each"]),
    ]  # fmt: skip


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--down", choices=("unavailable", "refused"), default="unavailable")
    args = parser.parse_args()
    modes = ("pg", "embedded") if args.mode == "all" else (args.mode,)
    if len(modes) > 1:  # each mode needs its own settings: one process per mode
        for mode in modes:
            c.subprocess.run([sys.executable, __file__, "--mode", mode, "--jobs", str(args.jobs), "--down", args.down], check=False)
        return
    mode = modes[0]
    c.configure(
        mode, MAX_PENDING_PER_USER="100000", ROUTING_ORDER="pixazo runware apiframe aimlapi",
        CIRCUIT_REFUSALS=str(THRESHOLD), CIRCUIT_COOLDOWN_SECONDS="3600", POLL_FIRST_DELAY="0.5", POLL_MAX_DELAY="2",
    )  # fmt: skip
    c.setup_django(mode)
    rows = run(mode, args.jobs, args.down)
    c.print_table(f"Routing: {args.jobs} routed jobs, Pixazo {args.down} ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
