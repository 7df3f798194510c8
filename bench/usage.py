"""Spend: the usage page of a project with 100,000 jobs this month, its CSV export, and what the
budget check adds to starting a job.

    .venv/bin/python bench/usage.py [--mode pg|embedded|all] [--jobs 100000] [--repeat 30]

Seeds one project with --jobs jobs spread over this month so far (ten members, every model,
most succeeded, some failed or still running; reported, priced, estimated and unknown costs),
counts them into the per-day totals (ledger.rebuild, as `manage.py spend_rebuild` does) and, on
PostgreSQL, runs VACUUM ANALYZE. Then, through Django's test client (view and template, no
network): the usage page, the same month's figures aggregated from the jobs themselves (the
other way the page could work, for comparison), the CSV export, check_start with and without
limits, and the generate request with and without them.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

MEMBERS = 10
TARGET_PAGE_MS = 100.0
TARGET_CHECK_MS = 2.0
HIGH = Decimal("1000000000")  # limits that apply (and are read) but never refuse


def seed(jobs: int):
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from studio.catalog import MODELS
    from studio.models import Generation, Membership, Role, SpendBasis
    from studio.spend import budgets, ledger

    owner, project = c.bench_user_and_project("bench-usage")
    members = [owner] + [get_user_model().objects.create_user(username=f"bench-member-{n}") for n in range(1, MEMBERS)]
    Membership.objects.bulk_create(Membership(project=project, user=m, role=Role.EDITOR) for m in members[1:])
    rng = random.Random(7)
    now = timezone.now()
    start = budgets.midnight(budgets.month_start(now))
    span = max((now - start).total_seconds() - 60, 1.0)  # the last minute stays free for the rate limit
    S = Generation.State
    started = time.perf_counter()
    for first in range(0, jobs, 5000):
        batch = []
        for _ in range(min(5000, jobs - first)):
            model = rng.choice(MODELS)
            state = rng.choices((S.SUCCEEDED, S.FAILED, S.RUNNING), (90, 7, 3))[0]
            spend, basis = Decimal(rng.randint(1, 200)) / 100, rng.choice(list(SpendBasis))
            spend = None if basis == SpendBasis.UNKNOWN else (Decimal(0) if basis == SpendBasis.NOT_CHARGED else spend)
            created = start + timedelta(seconds=rng.uniform(0, span))
            batch.append(Generation(
                project=project, created_by=rng.choice(members), model_key=model.key, params={"prompt": "bench"},
                state=state, created_at=created, updated_at=created, spend=spend, spend_basis=basis,
                cost=spend, cost_unit="usd" if spend is not None else "", audio_seconds=rng.uniform(5, 120) if state == S.SUCCEEDED else 0,
            ))  # fmt: skip
        with transaction.atomic():
            Generation.objects.bulk_create(batch)
    rows = ledger.rebuild([project.pk])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE studio_generation")
            cursor.execute("VACUUM ANALYZE studio_dailyspend")
    print(f"seeded {jobs:,} jobs ({rows:,} rows of per-day totals) in {time.perf_counter() - started:.1f} s")
    return project, owner


def timed(action, repeat: int) -> tuple[float, float]:
    """Median and p95 of `action`, in milliseconds, after one unmeasured call."""
    action()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), c.percentile(times, 95)


@contextmanager
def limits_on():
    """A monthly budget, daily and monthly limits and a rate, all applying and none refusing: as
    deployment defaults, so switching them costs no database write between paired calls."""
    from django.conf import settings

    names = ("SPEND_PROJECT_MONTHLY_BUDGET", "SPEND_MEMBER_DAILY_LIMIT", "SPEND_MEMBER_MONTHLY_LIMIT", "SPEND_MEMBER_JOBS_PER_MINUTE")
    before = {name: getattr(settings, name) for name in names}
    for name in names:
        setattr(settings, name, 1_000_000 if name.endswith("MINUTE") else HIGH)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(settings, name, value)


def paired(action, repeat: int) -> tuple[float, float, float]:
    """`action` without limits and with them, call for call in turn, so the machine's load weighs
    on both alike: the medians (ms) and the median of the pairs' differences."""
    action()
    without, with_limits = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        without.append((time.perf_counter() - began) * 1000)
        with limits_on():
            began = time.perf_counter()
            action()
            with_limits.append((time.perf_counter() - began) * 1000)
    differences = [w - o for o, w in zip(without, with_limits)]
    return statistics.median(without), statistics.median(with_limits), statistics.median(differences)


def queries_of(action) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        action()
    return len(queries.captured_queries)


def month_from_jobs(project_id: int) -> None:
    """The page's figures straight from the jobs (the alternative to per-day totals)."""
    from django.db.models import Count, Q, Sum
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from studio.models import Generation
    from studio.spend import budgets

    jobs = Generation.objects.filter(project_id=project_id, created_at__gte=budgets.midnight(budgets.month_start(timezone.now()))).order_by()
    sums = {"n": Count("pk"), "failed": Count("pk", filter=Q(state="failed")), "spend": Sum("spend"), "audio": Sum("audio_seconds")}
    jobs.aggregate(**sums)
    list(jobs.values("created_by_id").annotate(**sums))
    list(jobs.values("model_key").annotate(**sums))
    list(jobs.annotate(day=TruncDate("created_at")).values("day").annotate(**sums))


def run(args) -> list[tuple]:
    from django.db import transaction
    from django.test import Client

    from studio import rules
    from studio.catalog import BY_KEY

    project, owner = seed(args.jobs)
    client = Client()
    client.force_login(owner)
    url = f"/projects/{project.pk}/usage/"
    assert client.get(url).status_code == 200
    page = timed(lambda: client.get(url), args.repeat)
    page_queries = queries_of(lambda: client.get(url))
    from_jobs = timed(lambda: month_from_jobs(project.pk), max(5, args.repeat // 3))
    began = time.perf_counter()
    csv_rows = sum(1 for _ in client.get(f"/projects/{project.pk}/usage.csv").streaming_content) - 1
    csv_seconds = time.perf_counter() - began

    music = BY_KEY["pixazo-eleven-music"]
    asked = [rules.StartRequest(music.key, {"prompt": "bench"})]

    def check() -> None:
        with transaction.atomic():
            rules.check_start(user=owner, project_id=project.pk, requests=asked)

    def generate() -> None:
        response = client.post(f"/projects/{project.pk}/generate/", {"model": music.key, "prompt": "bench"})
        assert response.status_code == 302, response.status_code

    queries_without = queries_of(check)
    with limits_on():
        queries_with = queries_of(check)
    check_without, check_with, added_ms = paired(check, args.repeat * 10)
    generate_without, generate_with, generate_added = paired(generate, args.repeat)
    on_pg = os.environ["DATABASE_URL"].startswith("postgres")
    return [
        (f"usage page, {args.jobs:,} jobs this month: median ms", page[0], f"< {TARGET_PAGE_MS:g}" if on_pg else "", page[0] < TARGET_PAGE_MS if on_pg else None),
        ("usage page: p95 ms", page[1], "", None),
        ("usage page: queries", page_queries, "same for any number of jobs", None),
        ("the month aggregated from the jobs instead: median ms", from_jobs[0], "(comparison)", None),
        (f"CSV export of the month: {csv_rows:,} rows, s", csv_seconds, "", None),
        ("check_start without limits: median ms", check_without, "", None),
        ("check_start with budget and limits: median ms", check_with, "", None),
        ("budget check adds (median of paired calls): ms", added_ms, f"< {TARGET_CHECK_MS:g}", added_ms < TARGET_CHECK_MS),
        ("budget check adds: queries", queries_with - queries_without, "<= 1", queries_with - queries_without <= 1),
        ("generate request without limits: median ms (server)", generate_without, "", None),
        ("generate request with budget and limits: median ms (server)", generate_with, "", None),
        ("generate request: added by the check (paired) ms", generate_added, "", None),
    ]


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    modes = ("pg", "embedded") if args.mode == "all" else (args.mode,)
    if len(modes) > 1:  # each mode needs its own settings: one process per mode
        for mode in modes:
            c.subprocess.run([sys.executable, __file__, "--mode", mode, "--jobs", str(args.jobs), "--repeat", str(args.repeat)], check=False)
        return
    mode = modes[0]
    # Models offered (emulator keys, never called here) at the demonstration prices; no pending cap.
    c.configure(mode, STUDIO_EMULATOR="true", MAX_PENDING_PER_USER="1000000")
    c.setup_django(mode)
    rows = run(args)
    c.print_table(f"Spend, {mode} ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
