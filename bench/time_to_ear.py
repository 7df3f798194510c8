"""Time to ear: from the emulator marking a job complete to the card showing a playable track
(its audio, loaded as the page's player loads it, has its metadata) in a real browser, over 20 jobs, with callbacks and
with polling. The jobs are started from the page's own form.

    .venv/bin/python bench/time_to_ear.py [--via callbacks|polling|all] [--jobs 20]

PostgreSQL + Redis, the web server (gunicorn, the deployment's settings) and the worker
(rundramatiq, 1 process x 8 threads) in their own processes, as production runs them (DEBUG off),
Playwright driving /usr/bin/chromium with the flags of tests/browser/conftest.py. With callbacks,
this process posts the emulator's status document to the studio over loopback the moment each
job completes (the emulator only posts to https).

Every poll request the page makes is recorded, from the page's load to the last track playable
(the 20 Generate clicks included): their gaps, and the most that fall within one refresh interval.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

PORT = c.PORT_BASE + 50
JOB_SECONDS = 8.0
WARM_UP = 4
WARM_UP_ROUNDS = 3
WINDOW_SLACK = 0.05  # seconds: a browser timer's jitter
SPACING = 0.31  # seconds between submissions, so completions fall at every phase of the page's poll

# Records, per card, when a player appeared and when it could play (metadata loaded).
OBSERVER = """
window.__ear = {};
new MutationObserver(() => {
  for (const track of document.querySelectorAll('article [data-track-play]')) {
    const id = track.closest('article').id.replace('gen-', '');
    if (window.__ear[id]) continue;
    const entry = window.__ear[id] = {appeared: Date.now(), playable: null};
    const audio = new Audio();  // what the page's one player loads when the track is played
    audio.preload = 'metadata';
    audio.src = track.dataset.src;
    const done = () => { entry.playable = entry.playable || Date.now(); };
    if (audio.readyState >= 1) done();
    audio.addEventListener('loadedmetadata', done, {once: true});
  }
}).observe(document, {childList: true, subtree: true});
"""


def relay_callbacks(emulator, web_port: int, stop: threading.Event, posted: dict) -> None:
    """Post each job's terminal status to its callback URL as soon as the emulator completes it."""
    import httpx

    from studio.models import Generation

    with httpx.Client(base_url=f"http://127.0.0.1:{web_port}", timeout=10, trust_env=False) as http:
        while not stop.is_set():
            now = time.time()
            for request_id, done_at in emulator.finishes().items():
                if request_id in posted or done_at > now:
                    continue
                gen = Generation.objects.filter(external_id=request_id).only("pk", "callback_token").first()
                if gen is None:
                    continue
                document = emulator.status_document("pixazo", request_id)
                response = http.post(
                    f"/hooks/pixazo/{gen.pk}/{gen.callback_token}/", content=json.dumps(document),
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                posted[request_id] = (time.time() - done_at, response.status_code)
            stop.wait(0.01)


def run(via: str, jobs: int) -> list[tuple]:
    from django.conf import settings
    from django.db import close_old_connections
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from bench.fanout import MODEL_KEY, speech_params
    from studio.catalog import BY_KEY
    from studio.jobs.services import start_generation
    from studio.models import Generation, Transition
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    S = Generation.State
    emulator = c.EmulatorProcess(PORT + (via == "polling"), queued_seconds=1.0, job_seconds=JOB_SECONDS)
    c.point_providers_at(emulator.base_url)
    user, project = c.bench_user_and_project(f"ear-{via}")
    model = BY_KEY[MODEL_KEY]
    params = speech_params(model)
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    web_port = PORT + 2
    stop = threading.Event()
    posted: dict = {}
    worker = web = relay = None
    try:
        worker = c.start_worker(threads=8)
        web = c.start_web(web_port, workers=2)
        time.sleep(2)
        # Rounds of unmeasured jobs first: a running worker has seen the model before and its
        # estimate of the model's duration has settled (the first round only has blind backoff).
        if via == "callbacks":
            relay = threading.Thread(target=relay_callbacks, args=(emulator, web_port, stop, posted), daemon=True)
            relay.start()
        for _ in range(WARM_UP_ROUNDS):
            warm = [start_generation(project=project, user=user, model=model, params=params) for _ in range(WARM_UP)]
            c.wait_until(
                lambda: Generation.objects.filter(pk__in=[g.pk for g in warm], state=S.SUCCEEDED).count() == WARM_UP,
                timeout=60, interval=0.2, what="the warm-up jobs",
            )  # fmt: skip
        last_warm = warm[-1].pk
        stats_before = emulator.stats()["status_calls"]["total"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            # The benchmark waits on evaluated expressions, which the page's own policy refuses.
            context = browser.new_context(bypass_csp=True)
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": f"http://127.0.0.1:{web_port}"}])
            page = context.new_page()
            page.set_default_timeout(30_000)
            page.add_init_script(OBSERVER)
            poll_requests = []  # every poll the page makes, from its load to the end
            page.on("request", lambda r: poll_requests.append(time.time()) if "/cards/" in r.url else None)
            page.goto(f"http://127.0.0.1:{web_port}/projects/{project.pk}/")
            # Generate from the page itself, as a user does: each click adds a card that the page polls.
            shown = page.locator("#cards article").count()  # the page opens with the latest cards only
            page.get_by_label("Model", exact=True).select_option(MODEL_KEY)
            page.get_by_label("Text").fill("Time to ear.")
            for n in range(jobs):
                page.get_by_role("button", name="Generate").click()
                page.wait_for_function(f"document.querySelectorAll('#cards article').length >= {shown + n + 1}")
                time.sleep(SPACING)
            close_old_connections()
            gens = list(Generation.objects.filter(project=project, pk__gt=last_warm))
            assert len(gens) == jobs, len(gens)
            measured = json.dumps([str(g.pk) for g in gens])
            page.wait_for_function(
                f"{measured}.every(id => window.__ear[id] && window.__ear[id].playable)", timeout=120_000, polling=100
            )
            seen = page.evaluate("window.__ear")
            browser.close()
        close_old_connections()
        done_at = emulator.finishes()
        ears, appears, fetches, stored = [], [], [], []
        for gen in Generation.objects.filter(pk__in=[g.pk for g in gens]):
            assert gen.state == S.SUCCEEDED, gen.state
            entry = seen[str(gen.pk)]  # fmt: skip
            ears.append(entry["playable"] / 1000 - done_at[gen.external_id])
            appears.append(entry["appeared"] / 1000 - done_at[gen.external_id])
            moves = dict(Transition.objects.filter(generation=gen).values_list("to_state", "at"))
            fetches.append((moves[S.SUCCEEDED] - moves[S.FETCHING]).total_seconds())
            stored.append(moves[S.SUCCEEDED].timestamp() - done_at[gen.external_id])
        polls = (emulator.stats()["status_calls"]["total"] - stats_before) / jobs
    finally:
        stop.set()
        if relay:
            relay.join(timeout=5)
        for proc in (web, worker):
            if proc:
                proc.stop()
        emulator.stop()
    refresh = settings.CARD_REFRESH_MS / 1000
    download = c.percentile(fetches, 95)
    target = refresh + download
    p95 = c.percentile(ears, 95)
    gaps = [b - a for a, b in zip(poll_requests, poll_requests[1:])]
    busiest = most_within(poll_requests, refresh - WINDOW_SLACK)
    look_gap = settings.CARD_REFRESH_MS / 2 / 1000  # context_processors.py: a look never closer than this
    rows = [
        (f"{via}: time to a playable track, median", f"{c.median(ears):.2f} s", "", None),
        (f"{via}: time to a playable track, p95", f"{p95:.2f} s", f"<= {target:.2f} s", p95 <= target),
        (f"{via}: time to the player showing, median / p95", f"{c.median(appears):.2f} / {c.percentile(appears, 95):.2f} s", "", None),
        (f"{via}: download (fetching -> ready), p95", f"{download:.2f} s", "", None),
        (f"{via}: provider done -> track stored, median / p95", f"{c.median(stored):.2f} / {c.percentile(stored, 95):.2f} s", "", None),
        (f"{via}: page poll requests, whole run (clicks included)", len(poll_requests), "", None),
        (
            f"{via}: gaps between polls, min / p5 / median / p95 / max",
            " / ".join(f"{g:.2f}" for g in (min(gaps, default=0), c.percentile(gaps, 5), c.median(gaps), c.percentile(gaps, 95), max(gaps, default=0))) + " s",
            f"min >= {look_gap - WINDOW_SLACK:.2f} s",
            bool(gaps) and min(gaps) >= look_gap - WINDOW_SLACK,
        ),
        (f"{via}: most polls within one refresh interval", busiest, "<= 2 (the refresh and one extra look)", busiest <= 2),
        (f"{via}: provider status calls per job", f"{polls:.2f}", "", None),
    ]
    if via == "callbacks":
        relay_lag = [lag for lag, _status in posted.values()]
        rows.append((f"{via}: callback posted after completion, median", f"{c.median(relay_lag) * 1000:.0f} ms", "", None))
    return rows


def most_within(moments: list[float], window: float) -> int:
    """The most moments inside any window of `window` seconds."""
    most, start = 0, 0
    for end, at in enumerate(moments):
        while at - moments[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def main() -> None:
    parser = c.arguments(__doc__.splitlines()[0], modes=("pg",))
    parser.add_argument("--via", choices=("callbacks", "polling", "all"), default="all")
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    if args.via == "all":
        for via in ("callbacks", "polling"):
            c.subprocess.run([sys.executable, __file__, "--via", via, "--jobs", str(args.jobs)], check=False)
        return
    extra = {"PUBLIC_BASE_URL": "https://studio.test"} if args.via == "callbacks" else {}
    c.configure("pg", MAX_PENDING_PER_USER="100", **extra)
    c.setup_django("pg")
    rows = run(args.via, args.jobs)
    c.print_table(f"Time to ear: {args.jobs} jobs of {JOB_SECONDS:g} s in Chromium ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
