"""Watching: a project page with 50 pending cards, polled the way the browser polls it.

    .venv/bin/python bench/watching.py [--mode pg|embedded|all] [--polls 300]

Counts the page's polling elements (requests per refresh interval), then sends the page's
own poll request (views.cards_poll, with the id and shown version of each pending card, as
the poller carries them) and reports SQL queries and server time per poll, measured
in-process through the whole middleware stack.
"""

from __future__ import annotations

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PENDING = 50
TARGET_QUERIES = 5
TARGET_MEDIAN_MS = 10.0


def make_cards(project, user, *, pending: int, ready: int) -> None:
    """Pending cards at the provider, and older finished ones with a track each."""
    from django.utils import timezone

    from studio.models import Generation, Track

    S = Generation.State
    now = timezone.now()
    for n in range(ready):
        gen = Generation.objects.create(
            project=project, created_by=user, model_key="pixazo-eleven-music", params={"prompt": f"done {n}"},
            state=S.SUCCEEDED, created_at=now - timezone.timedelta(hours=1, seconds=n), finished_at=now,
        )  # fmt: skip
        Track.objects.create(
            generation=gen, project=project, title=f"done {n}", file=f"tracks/{project.pk}/x{n}.mp3",
            content_type="audio/mpeg", extension="mp3", size=1000, sha256="0" * 64, duration_seconds=3.0,
        )  # fmt: skip
    for n in range(pending):
        Generation.objects.create(
            project=project, created_by=user, model_key="pixazo-eleven-music", params={"prompt": f"pending {n}"},
            state=S.RUNNING, provider_status="running",
            external_id=f"ext-{n}", created_at=now - timezone.timedelta(minutes=1, seconds=n),
            updated_at=now - timezone.timedelta(minutes=1),
        )  # fmt: skip


CARD_INPUT = re.compile(r'<input type="hidden" name="ids" value="(\d+):?(\d*)">')


def shown_versions(html: str) -> dict[str, str]:
    """id → version of each pending card in a page or a poll answer."""
    return dict(CARD_INPUT.findall(html))


class QueryCounter:
    """Counts the queries a request sends, and nothing more: Django's CaptureQueriesContext
    would switch on the debug cursor, which formats every statement, a cost production has not."""

    queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def wait_one_interval(seconds: float, *, idle: bool) -> None:
    """The page's own pace: changes accumulate over one refresh interval. A studio watched by
    many pages never sits idle that long, and a virtual machine's core that does takes
    milliseconds to wake: so by default this process keeps its core busy while it waits."""
    if idle:
        time.sleep(seconds)
        return
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def poll_figures(client, project, polls: int, *, changing: int, use_versions: bool = True, idle: bool = False) -> tuple[list[int], list[float], int, int]:
    """Poll as htmx does: the id and shown version of each card still pending in the page, the
    versions updated from each answer's out-of-band swaps. `changing` cards get a new status
    line before each poll (one refresh interval apart), as a busy worker would."""
    from django.conf import settings
    from django.db import connection
    from django.urls import reverse

    from studio.jobs.transitions import touch

    page = client.get(reverse("project", args=[project.pk])).content.decode()
    pollers = len(re.findall(r'hx-trigger="every ', page))
    url = reverse("cards_poll", args=[project.pk])
    versions = shown_versions(page)
    pending = [int(i) for i in versions]
    queries, times, rendered = [], [], []
    for n in range(polls):
        if changing:
            wait_one_interval(settings.CARD_REFRESH_MS / 1000, idle=idle)
        for pk in pending[(n * changing) % len(pending):][:changing]:
            touch(pk, only_in=("queued", "submitting", "running", "fetching"), progress=n % 100)
        ids = [f"{pk}:{version}" if use_versions else pk for pk, version in versions.items()]
        counted = QueryCounter()
        with connection.execute_wrapper(counted):
            start = time.perf_counter()
            response = client.get(url, {"ids": ids}, headers={"HX-Request": "true"})
            html = response.content.decode()
            elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.status_code
        versions.update(shown_versions(html))
        if n >= 5:  # the first requests warm caches (templates, the connection)
            queries.append(counted.queries)
            times.append(elapsed * 1000)
            rendered.append(html.count("<article "))
    return queries, times, pollers, max(rendered)


def run(mode: str, polls: int, use_versions: bool, idle: bool) -> list[tuple]:
    from django.test import Client

    rows = []
    scenarios = ((5, 0, 0), (PENDING, 0, 0), (PENDING, 20, 0), (PENDING, 20, 5))
    for pending, ready, changing in scenarios:
        user, project = c.bench_user_and_project(f"watch-{mode}-{pending}-{ready}-{changing}")
        make_cards(project, user, pending=pending, ready=ready)
        client = Client()
        client.force_login(user)
        paced = min(polls, 45) if changing else polls  # paced polls take one refresh interval each
        queries, times, pollers, rendered = poll_figures(client, project, paced, changing=changing, use_versions=use_versions, idle=idle)
        label = f"{mode}, {pending} pending" + (f" + {ready} ready" if ready else "")
        label += f", {changing} changed per poll" if changing else ", none changed"
        q = max(queries)
        med = c.median(times)
        rows += [
            (f"{label}: requests per interval per page", pollers, 1, pollers == 1),
            (f"{label}: cards re-rendered per poll (max)", rendered, "", None),
            (f"{label}: SQL queries per poll", q if min(queries) == q else f"{min(queries)}-{q}", f"<= {TARGET_QUERIES}", q <= TARGET_QUERIES),
            (f"{label}: server time per poll, median", f"{med:.1f} ms", f"< {TARGET_MEDIAN_MS:g} ms", med < TARGET_MEDIAN_MS),
            (f"{label}: server time per poll, p95", f"{c.percentile(times, 95):.1f} ms", "", None),
        ]
    return rows


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--no-versions", action="store_true", help="send bare ids, as if cards carried no version: every card re-rendered")
    parser.add_argument("--idle", action="store_true", help="sleep between paced polls instead of keeping the core busy")
    args = parser.parse_args()
    modes = ("pg", "embedded") if args.mode == "all" else (args.mode,)
    if len(modes) > 1:
        for mode in modes:
            extra = (["--no-versions"] if args.no_versions else []) + (["--idle"] if args.idle else [])
            c.subprocess.run([sys.executable, __file__, "--mode", mode, "--polls", str(args.polls), *extra], check=False)
        return
    # As production runs: DEBUG off (with it on, Django keeps the text of every query), and so
    # static files collected, as the page names them by their hashed names.
    c.configure(
        modes[0], DEBUG="false", SECRET_KEY="bench-only-" + "k" * 50, SECURE_SSL_REDIRECT="false",
        STATIC_ROOT=c.tempfile.mkdtemp(prefix="studio-bench-static-"),
    )  # fmt: skip
    c.setup_django(modes[0])
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    rows = run(modes[0], args.polls, not args.no_versions, args.idle)
    c.print_table(f"Watching: one page polling its pending cards ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
