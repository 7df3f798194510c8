"""Watching: simulated pages polling a project's pending cards over HTTP against gunicorn, as the
page polls (the ids and versions they hold, the extra look when an answer asks for it, the
watch token the page was given), counting the requests they actually make over the whole run.

    .venv/bin/python bench/watching.py [--cards 50] [--watchers 20] [--seconds 30] [--changing 0,5]
    .venv/bin/python bench/watching.py --watchers 250,500,1000 --seconds 20   # capacity

PostgreSQL; gunicorn with the deployment's settings (3 sync workers), DEBUG off, static files
collected. Each watcher opens the project page with its own session (which hands it its watch
token), reads the pending cards' ids and shown versions from it, then does what static/cards.js
and htmx do: a refresh every CARD_REFRESH_MS with the ids and versions it holds (the versions
and finished cards updated from each answer's out-of-band cards), one extra look when an
answer's HX-Trigger asks for it (never closer than the poller's look gap to its previous
request, which also skips a regular refresh falling just after a look), and no more requests
after a 286. Watchers are asyncio tasks speaking HTTP/1.1 on loopback, each keeping its
connection open as a browser does and opening it again when the server closed it (gunicorn's
sync workers close each one), at random phases of the interval; page loads
come before the measured run. With --changing N, N cards get a new status line and a next check
every interval (a busy worker's touches). Each run reports requests per interval per page,
latency, requests/s, and the CPU per request of gunicorn and of PostgreSQL (from /proc). A
second, in-process table counts the SQL queries of one poll (through the whole middleware stack;
an execute wrapper, no debug cursor) for 5 and for --cards cards.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 60
TARGET_PER_INTERVAL = 2.0  # the regular refresh and at most one extra look
TARGET_P95_MS = 100.0
TARGET_QUERIES = 1  # an unchanged poll: the versions, with the membership
TARGET_WATCHERS_QUIET = 1000  # watchers held at p95 < 100 ms with nothing changing
TARGET_WATCHERS_BUSY = 500  # ... and with 5 cards changing per interval

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


class Connection:
    """A page's connection to the studio, as a browser keeps one: open across requests while the
    server keeps it open (HTTP/1.1 keep-alive), opened again after the server closed it."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.opened = 0

    async def get(self, path: str, cookies: dict[str, str]) -> tuple[int, dict[str, str], str, dict[str, str]]:
        """One GET: status, headers, body and the cookies set. A kept connection the server closed
        while it was idle is opened again and the request sent again, as a browser does."""
        kept = self.writer is not None
        try:
            return await self._get(path, cookies)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            if not kept or (isinstance(exc, asyncio.IncompleteReadError) and exc.partial):
                raise
            return await self._get(path, cookies)

    async def _get(self, path: str, cookies: dict[str, str]) -> tuple[int, dict[str, str], str, dict[str, str]]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.opened += 1
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nHX-Request: true\r\n\r\n".encode())
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.rstrip("\r\n").split("\r\n")
        headers, set_cookies = {}, {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
            if name.strip().lower() == "set-cookie":
                key, _, rest = value.strip().partition("=")
                set_cookies[key] = rest.split(";", 1)[0]
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:  # no length: the body runs to the end of the connection
            body = await self.reader.read()
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return int(lines[0].split()[1]), headers, body.decode(), set_cookies

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Watcher:
    """One open project page: its poller, as htmx and static/cards.js drive it."""

    def __init__(self, port: int, project_id: int, cookie: str, interval: float, rng: random.Random):
        from django.urls import reverse

        self.connection, self.cookies = Connection(port), {"sessionid": cookie}
        self.page_url, self.poll_url = f"/projects/{project_id}/", reverse("cards_poll", args=[project_id])
        self.interval = interval
        self.phase = rng.random() * interval
        self.requests: list[tuple[float, float, int]] = []  # (sent at, ms, which of the page's intervals)
        self.refreshes = 0
        self.errors: list[int] = []
        self.stopped = False
        self.look_asked: float | None = None

    async def open(self) -> None:
        status, _, html, set_cookies = await self.connection.get(self.page_url, self.cookies)
        assert status == 200, f"the project page answered {status}"
        self.cookies.update(set_cookies)  # the watch token
        self.versions = {pk: v for pk, v in cards_shown(html).items() if v is not None}
        found = POLLER.search(html)
        self.gap = int(found.group(1)) / 1000 if found else 0.0

    async def watch(self, until: float) -> None:
        try:
            await self._watch(until)
        finally:
            self.connection.close()

    async def _watch(self, until: float) -> None:
        loop = asyncio.get_running_loop()
        self.origin = next_refresh = loop.time() + self.phase
        planned_look = None
        last_request = 0.0
        while not self.stopped:
            now = loop.time()
            if now >= until:
                return
            due = min(next_refresh, planned_look or next_refresh)
            if now < due:
                await asyncio.sleep(min(due - now, until - now))
                continue
            if planned_look is not None and planned_look <= next_refresh:
                planned_look = None
                if now < last_request + self.gap:  # a regular refresh went first
                    planned_look = last_request + self.gap
                    continue
                kind = "look"
            else:
                next_refresh += self.interval
                if now - last_request < self.gap:
                    continue  # a regular refresh just after a look would fetch the same news
                kind = "refresh"
            last_request = now
            await self._poll(kind)
            if self.look_asked is not None:
                planned_look = loop.time() + self.look_asked

    async def _poll(self, kind: str) -> None:
        loop = asyncio.get_running_loop()
        ids = ",".join(f"{pk}:{version}" for pk, version in self.versions.items())  # one parameter, as cards.js sends them
        query = urlencode({"ids": ids} if ids else {})
        sent = loop.time()
        status, headers, body, set_cookies = await self.connection.get(f"{self.poll_url}?{query}", self.cookies)
        which = int((sent - self.origin) // self.interval)  # the page's interval this request fell in
        self.requests.append((sent, (loop.time() - sent) * 1000, which))
        self.cookies.update(set_cookies)  # a renewed token
        self.refreshes += kind == "refresh"
        self.look_asked = None
        if status not in (200, 286):
            self.errors.append(status)
            return
        for pk, version in cards_shown(body).items():
            if version is None:
                self.versions.pop(pk, None)
            else:
                self.versions[pk] = version
        trigger = headers.get("hx-trigger")
        if trigger:
            look = json.loads(trigger).get("cards-look")
            if look:
                self.look_asked = look["in"] / 1000
        if status == 286:
            self.stopped = True


async def open_all(crowd: list[Watcher], at_once: int = 8) -> None:
    """Every page opened before the run, a few at a time (page loads are not what is measured)."""
    gate = asyncio.Semaphore(at_once)

    async def one(watcher):
        async with gate:
            await watcher.open()

    await asyncio.gather(*(one(w) for w in crowd))


async def watch_all(crowd: list[Watcher], until: float) -> None:
    await asyncio.gather(*(w.watch(until) for w in crowd))


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


def watch(label: str, *, cards: int, watchers: int, seconds: float, changing: int, web, web_port: int) -> dict:
    from django.conf import settings

    user, project = c.bench_user_and_project(f"watch-{label}")
    pending = make_cards(project, user, pending=cards, ready=20)
    interval = settings.CARD_REFRESH_MS / 1000
    rng = random.Random(7)
    crowd = [Watcher(web_port, project.pk, cookie, interval, rng) for cookie in sessions(user, watchers)]
    loop = asyncio.new_event_loop()
    loop.run_until_complete(open_all(crowd))
    web_cpu, pg_cpu, own_cpu = c.cpu_seconds(web.pid), c.postgres_cpu_seconds(), time.process_time()
    started = time.monotonic()
    until = started + seconds
    changer = None
    if changing:
        changer = threading.Thread(target=keep_changing, args=(pending, changing, interval, until), daemon=True)
        changer.start()
    loop.run_until_complete(watch_all(crowd, loop.time() + seconds))
    loop.close()
    elapsed = time.monotonic() - started
    web_cpu, pg_cpu = c.cpu_seconds(web.pid) - web_cpu, c.postgres_cpu_seconds() - pg_cpu
    own_cpu = time.process_time() - own_cpu  # the simulated pages (and the changer) share the two cores
    if changer:
        changer.join(timeout=5)
    polls = [r for w in crowd for r in w.requests]
    times = [ms for _, ms, _ in polls]
    # Requests per interval per page over each page's whole run, and in its busiest interval.
    rates = [len(w.requests) / (w.requests[-1][2] + 1) for w in crowd if w.requests]
    return {
        "cards": cards, "watchers": watchers, "changing": changing, "polls": len(polls),
        "looks": len(polls) - sum(w.refreshes for w in crowd),
        "rate_median": c.median(rates) if rates else 0, "rate_max": max(rates, default=0),
        "worst": max((Counter(which for *_, which in w.requests).most_common(1)[0][1] for w in crowd if w.requests), default=0),
        "errors": sorted({code for w in crowd for code in w.errors}),
        "p50": c.median(times), "p95": c.percentile(times, 95), "per_second": len(polls) / elapsed,
        "web_ms": web_cpu / max(1, len(polls)) * 1000, "pg_ms": pg_cpu / max(1, len(polls)) * 1000,
        "client_ms": own_cpu / max(1, len(polls)) * 1000,
    }  # fmt: skip


def target_watchers(changing: int) -> int:
    """The watchers a project must hold at p95 under 100 ms: 1,000 when nothing changes, 500
    when 5 cards change per interval."""
    return TARGET_WATCHERS_QUIET if changing == 0 else TARGET_WATCHERS_BUSY


def rows_of(run: dict) -> list[tuple]:
    name = f"{run['cards']} cards, {run['watchers']} watchers, {run['changing']} changing"
    held = run["watchers"] <= target_watchers(run["changing"])  # within the size the target names
    p95_ok = run["p95"] < TARGET_P95_MS
    return [
        (f"{name}: poll requests made (looks among them)", f"{run['polls']} ({run['looks']})", "", None),
        (f"{name}: requests per interval per page, mean over the run", f"{run['rate_median']:.2f} median, {run['rate_max']:.2f} max", f"<= {TARGET_PER_INTERVAL:g}", run["rate_max"] <= TARGET_PER_INTERVAL),
        (f"{name}: requests in any one interval of one page, max", run["worst"], f"<= {TARGET_PER_INTERVAL:g}", run["worst"] <= TARGET_PER_INTERVAL),
        (f"{name}: answers other than 200/286", ",".join(map(str, run["errors"])) or "none", "none", not run["errors"]),
        (f"{name}: poll latency p50 / p95", f"{run['p50']:.1f} / {run['p95']:.1f} ms", f"p95 < {TARGET_P95_MS:g} ms" if held else "(past the target's size)", p95_ok if held else None),
        (f"{name}: requests per second", f"{run['per_second']:.0f}", "", None),
        (f"{name}: CPU per poll, gunicorn / PostgreSQL / the simulated pages", f"{run['web_ms']:.2f} / {run['pg_ms']:.2f} / {run['client_ms']:.2f} ms", "", None),
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
    params = {"ids": ",".join(ids)}
    client.get(url, params, headers={"HX-Request": "true"})  # warm
    counted = QueryCounter()
    with connection.execute_wrapper(counted):
        assert client.get(url, params, headers={"HX-Request": "true"}).status_code == 200
    return counted.queries


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0], modes=("pg",))
    parser.add_argument("--cards", type=int, default=50, help="pending cards in the project")
    parser.add_argument("--watchers", default="20", help="pages open on the project, polling; a list runs each")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long the pages watch")
    parser.add_argument("--changing", default="0,5", help="cards changed per interval, one run per value")
    args = parser.parse_args()
    c.configure("pg")
    c.setup_django("pg")
    web_port = PORT
    runs = []
    with c.start_web(web_port, workers=3) as web:
        for changing in (int(n) for n in args.changing.split(",")):
            for watchers in (int(n) for n in args.watchers.split(",")):
                runs.append(watch(
                    f"{changing}-{watchers}", cards=args.cards, watchers=watchers, seconds=args.seconds,
                    changing=changing, web=web, web_port=web_port,
                ))  # fmt: skip
    rows = [row for run in runs for row in rows_of(run)]
    small, large = queries_per_poll(5), queries_per_poll(args.cards)
    rows.append((
        f"SQL queries per unchanged poll, 5 / {args.cards} cards", f"{small} / {large}", f"<= {TARGET_QUERIES}, the same",
        large <= TARGET_QUERIES and small == large,
    ))  # fmt: skip
    c.print_table(f"Watching: pages polling their pending cards over HTTP, gunicorn x 3 ({c.load_note()})", rows)
    if len(runs) > 1:
        capacity = [
            (run["watchers"], run["changing"], f"{run['per_second']:.0f}", f"{run['p50']:.1f}", f"{run['p95']:.1f}",
             f"{run['web_ms']:.2f}", f"{run['pg_ms']:.2f}", f"{run['client_ms']:.2f}",
             f"p95 < {TARGET_P95_MS:g} ms" if run["watchers"] <= target_watchers(run["changing"]) else "",
             run["p95"] < TARGET_P95_MS if run["watchers"] <= target_watchers(run["changing"]) else None)
            for run in runs
        ]  # fmt: skip
        c.print_table(
            f"Watcher capacity ({c.load_note()})", capacity,
            headers=("watchers", "changing/interval", "requests/s", "p50 ms", "p95 ms", "gunicorn CPU ms/poll", "PostgreSQL CPU ms/poll", "pages' CPU ms/poll", "target", "ok"),
        )  # fmt: skip


if __name__ == "__main__":
    main()
