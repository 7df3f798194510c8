"""Watching: simulated pages polling a project's pending cards over HTTP against gunicorn, as the
page polls (the ids and versions they hold, the extra look when an answer asks for it), counting
the requests they actually make over the whole run.

    .venv/bin/python bench/watching.py [--cards 50] [--watchers 20] [--seconds 30] [--changing 0,5]

PostgreSQL; gunicorn with the deployment's settings (3 sync workers), DEBUG off, static files
collected. Each watcher opens the project page with its own session, reads the pending cards'
ids and shown versions from it, then does what static/cards.js and htmx do: a refresh every
CARD_REFRESH_MS with the ids and versions it holds (the versions and finished cards updated
from each answer's out-of-band cards), one extra look when an answer's HX-Trigger asks for it
(never closer than the poller's look gap to its previous request, which also skips a regular
refresh falling just after a look), and no more requests after a 286. Watchers start at random
phases of the interval; page loads come before the measured run. With --changing N, N cards get
a new status line and a next check every interval (a busy worker's touches). A second, in-process table counts the SQL queries of one poll (through the
whole middleware stack; an execute wrapper, no debug cursor) for 5 and for --cards cards.
"""

from __future__ import annotations

import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 60
TARGET_PER_INTERVAL = 2.0  # the regular refresh and at most one extra look
TARGET_P95_MS = 100.0
TARGET_QUERIES = 5

ARTICLE = re.compile(r'<article id="gen-(\d+)"(.*?)</article>', re.S)
CARD_INPUT = re.compile(r'<input type="hidden" name="ids" value="(\d+):([^"]*)">')
POLLER = re.compile(r'<div id="card-poller"[^>]*data-look-gap="(\d+)"')


def make_cards(project, user, *, pending: int, ready: int) -> list[int]:
    """Pending cards at the provider, and older finished ones with a track each; answer the pending ids."""
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
    return [
        Generation.objects.create(
            project=project, created_by=user, model_key="pixazo-eleven-music", params={"prompt": f"pending {n}"},
            state=S.RUNNING, provider_status="running",
            external_id=f"ext-{n}", created_at=now - timezone.timedelta(minutes=1, seconds=n),
            updated_at=now - timezone.timedelta(minutes=1),
        ).pk
        for n in range(pending)
    ]  # fmt: skip


def cards_shown(html: str) -> dict[str, str | None]:
    """id → the version a pending card shows; None for a card that is no longer pending."""
    shown = {}
    for pk, body in ARTICLE.findall(html):
        found = CARD_INPUT.search(body)
        shown[pk] = found.group(2) if found else None
    return shown


class Watcher(threading.Thread):
    """One open project page: its poller, as htmx and static/cards.js drive it."""

    def __init__(self, base_url: str, project_id: int, cookie: str, interval: float, clock: dict, rng: random.Random):
        super().__init__(daemon=True)
        import httpx
        from django.urls import reverse

        self.http = httpx.Client(base_url=base_url, cookies={"sessionid": cookie}, timeout=30, trust_env=False)
        self.project_id, self.poll_url = project_id, reverse("cards_poll", args=[project_id])
        self.interval, self.clock = interval, clock
        self.phase = rng.random() * interval
        self.requests: list[tuple[float, float, int]] = []  # (sent at, ms, which of the page's intervals)
        self.refreshes = 0
        self.errors: list[int] = []
        self.stopped = False
        self.look_asked: float | None = None

    def run(self) -> None:
        html = self.http.get(f"/projects/{self.project_id}/").text
        self.versions = {pk: v for pk, v in cards_shown(html).items() if v is not None}
        found = POLLER.search(html)
        gap = int(found.group(1)) / 1000 if found else 0.0
        self.clock["opened"].wait()  # every page is open: the measured run starts
        until = self.clock["until"]
        self.origin = next_refresh = time.monotonic() + self.phase
        planned_look = None
        last_request = 0.0
        while not self.stopped:
            now = time.monotonic()
            if now >= until:
                return
            due = min(next_refresh, planned_look or next_refresh)
            if now < due:
                time.sleep(min(due - now, until - now))
                continue
            if planned_look is not None and planned_look <= next_refresh:
                planned_look = None
                if now < last_request + gap:  # a regular refresh went first
                    planned_look = last_request + gap
                    continue
                kind = "look"
            else:
                next_refresh += self.interval
                if now - last_request < gap:
                    continue  # a regular refresh just after a look would fetch the same news
                kind = "refresh"
            last_request = now
            self._poll(kind)
            if self.look_asked is not None:
                planned_look = time.monotonic() + self.look_asked

    def _poll(self, kind: str) -> None:
        ids = [f"{pk}:{version}" for pk, version in self.versions.items()]
        sent = time.monotonic()
        response = self.http.get(self.poll_url, params={"ids": ids}, headers={"HX-Request": "true"})
        which = int((sent - self.origin) // self.interval)  # the page's interval this request fell in
        self.requests.append((sent, (time.monotonic() - sent) * 1000, which))
        self.refreshes += kind == "refresh"
        self.look_asked = None
        if response.status_code not in (200, 286):
            self.errors.append(response.status_code)
            return
        for pk, version in cards_shown(response.text).items():
            if version is None:
                self.versions.pop(pk, None)
            else:
                self.versions[pk] = version
        trigger = response.headers.get("HX-Trigger")
        if trigger:
            look = json.loads(trigger).get("cards-look")
            if look:
                self.look_asked = look["in"] / 1000
        if response.status_code == 286:
            self.stopped = True


def keep_changing(pending: list[int], per_interval: int, interval: float, until: float) -> None:
    """A busy worker: `per_interval` cards get a new status line every interval, in turn, and
    their next check with the provider somewhere in the next interval (which answers may turn
    into an extra look)."""
    from datetime import timedelta

    from django.db import close_old_connections
    from django.utils import timezone

    from studio.jobs.transitions import touch

    rng = random.Random(11)
    n = 0
    while time.monotonic() < until:
        started = time.monotonic()
        for pk in pending[(n * per_interval) % len(pending) :][:per_interval]:
            next_check = timezone.now() + timedelta(seconds=rng.uniform(0.1, interval))
            touch(pk, only_in=("running",), progress=n % 100, next_check_at=next_check)
        n += 1
        close_old_connections()
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def sessions(user, count: int) -> list[str]:
    """A signed-in session per watcher (pages are opened by many people)."""
    from django.test import Client

    cookies = []
    for _ in range(count):
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return cookies


def watch(label: str, *, cards: int, watchers: int, seconds: float, changing: int, web, web_port: int) -> list[tuple]:
    from django.conf import settings

    user, project = c.bench_user_and_project(f"watch-{label}")
    pending = make_cards(project, user, pending=cards, ready=20)
    interval = settings.CARD_REFRESH_MS / 1000
    rng = random.Random(7)
    clock = {"opened": threading.Barrier(watchers + 1)}
    crowd = [
        Watcher(f"http://127.0.0.1:{web_port}", project.pk, cookie, interval, clock, rng)
        for cookie in sessions(user, watchers)
    ]
    for w in crowd:
        w.start()  # each opens the page, then waits for the others: page loads are not measured
    while clock["opened"].n_waiting < watchers:
        time.sleep(0.05)
    web_cpu = c.cpu_seconds(web.pid)
    started = time.monotonic()
    clock["until"] = until = started + seconds
    clock["opened"].wait(timeout=120)
    changer = None
    if changing:
        changer = threading.Thread(target=keep_changing, args=(pending, changing, interval, until), daemon=True)
        changer.start()
    for w in crowd:
        w.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started
    web_cpu = c.cpu_seconds(web.pid) - web_cpu
    if changer:
        changer.join(timeout=5)
    polls = [r for w in crowd for r in w.requests]
    times = [ms for _, ms, _ in polls]
    looks = len(polls) - sum(w.refreshes for w in crowd)
    # Requests per interval per page over each page's whole run, and in its busiest interval.
    rates = [len(w.requests) / (w.requests[-1][2] + 1) for w in crowd if w.requests]
    worst = max((Counter(which for *_, which in w.requests).most_common(1)[0][1] for w in crowd if w.requests), default=0)
    errors = sorted({code for w in crowd for code in w.errors})
    p95 = c.percentile(times, 95)
    name = f"{cards} cards, {watchers} watchers, {changing} changing"
    return [
        (f"{name}: poll requests made (looks among them)", f"{len(polls)} ({looks})", "", None),
        (f"{name}: requests per interval per page, mean over the run", f"{c.median(rates) if rates else 0:.2f} median, {max(rates, default=0):.2f} max", f"<= {TARGET_PER_INTERVAL:g}", max(rates, default=0) <= TARGET_PER_INTERVAL),
        (f"{name}: requests in any one interval of one page, max", worst, f"<= {TARGET_PER_INTERVAL:g}", worst <= TARGET_PER_INTERVAL),
        (f"{name}: answers other than 200/286", ",".join(map(str, errors)) or "none", "none", not errors),
        (f"{name}: poll latency p50 / p95", f"{c.median(times):.1f} / {p95:.1f} ms", f"p95 < {TARGET_P95_MS:g} ms", p95 < TARGET_P95_MS),
        (f"{name}: requests per second", f"{len(polls) / elapsed:.0f}", "", None),
        (f"{name}: gunicorn CPU per poll", f"{web_cpu / max(1, len(polls)) * 1000:.2f} ms", "", None),
    ]  # fmt: skip


class QueryCounter:
    """Counts the queries a request sends, and nothing more (no debug cursor: production has none)."""

    queries = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        return execute(sql, params, many, context)


def queries_per_poll(cards: int) -> int:
    """The SQL queries of one poll of `cards` pending cards, in-process (the whole middleware stack)."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    user, project = c.bench_user_and_project(f"queries-{cards}")
    make_cards(project, user, pending=cards, ready=20)
    client = Client()
    client.force_login(user)
    page = client.get(reverse("project", args=[project.pk])).content.decode()
    ids = [f"{pk}:{version}" for pk, version in cards_shown(page).items() if version]
    url = reverse("cards_poll", args=[project.pk])
    client.get(url, {"ids": ids}, headers={"HX-Request": "true"})  # warm
    counted = QueryCounter()
    with connection.execute_wrapper(counted):
        assert client.get(url, {"ids": ids}, headers={"HX-Request": "true"}).status_code == 200
    return counted.queries


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0], modes=("pg",))
    parser.add_argument("--cards", type=int, default=50, help="pending cards in the project")
    parser.add_argument("--watchers", type=int, default=20, help="pages open on the project, polling")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the pages watch")
    parser.add_argument("--changing", default="0,5", help="cards changed per interval, one run per value")
    args = parser.parse_args()
    c.configure("pg")
    c.setup_django("pg")
    web_port = PORT
    rows = []
    with c.start_web(web_port, workers=3) as web:
        for changing in (int(n) for n in args.changing.split(",")):
            rows += watch(
                f"{changing}", cards=args.cards, watchers=args.watchers, seconds=args.seconds, changing=changing,
                web=web, web_port=web_port,
            )  # fmt: skip
    small, large = queries_per_poll(5), queries_per_poll(args.cards)
    rows.append((
        f"SQL queries per poll, 5 / {args.cards} cards", f"{small} / {large}", f"<= {TARGET_QUERIES}, the same",
        large <= TARGET_QUERIES and small == large,
    ))  # fmt: skip
    c.print_table(f"Watching: pages polling their pending cards over HTTP, gunicorn x 3 ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
