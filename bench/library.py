"""How the library holds up with many tracks: the project page and search, timed and query-counted
at two sizes, so that "the same number of queries whatever the number of tracks" is measured.

For each size in --sizes (all tracks; the measured project holds a tenth), seeds one project
with its share and spreads the rest over nine more (all owned by one bench user), then requests
each page --repeat times through Django's test client (the whole view, template included; no
network), as production runs it (DEBUG off, static files collected), and prints median and p95
times and the SQL queries per request, each with its target. Uses DATABASE_URL when set,
otherwise a fresh SQLite file; migrates it, and removes what it seeded when done (unless --keep).

    .venv/bin/python bench/library.py                       # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/studio_library_bench .venv/bin/python bench/library.py
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import _common as c  # noqa: E402

TARGET_MEDIAN_MS = 50.0
TARGET_SEARCH_ALL_MS = 100.0  # median, across every project (PostgreSQL's trigram index serves it)

WORDS = (
    "rain storm thunder forest jungle city night dawn choir piano drums synth bass violin cello flute "
    "tribal epic calm dark bright lo-fi ambient cinematic retro arcade chase battle victory menu river "
    "ocean wind fire crackle footsteps door bell voice whisper narrator trailer intro outro loop"
).split()
BENCH_USER = "bench-library"
# Besides the common words above (each in about one prompt in eight), every prompt carries two
# of 4,400 made-up words (each in about one track in 2,200): the specific words people search for.
RARE = sorted({a + b + c for a in ("ka", "mo", "ri", "tu", "ve", "lo", "za", "pe", "ni", "so") for b in
        ("ran", "tel", "vin", "dor", "mus", "pak", "lis", "gor", "fen", "bur") for c in
        ("a", "o", "i", "u", "e", "an", "el", "is", "ok", "ur", "ax", "em", "ot", "ul", "yn",
         "ar", "et", "io", "ua", "ey", "ab", "ic", "od", "uf", "eg", "ah", "ij", "ok", "ul", "em",
         "an", "ep", "iq", "or", "us", "at", "iv", "ow", "ux", "ey", "az", "ib", "oc", "ud", "ef",
         "ag", "ih", "oj", "uk", "el")})  # fmt: skip


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="tracks across all projects, one run per size")
    parser.add_argument("--repeat", type=int, default=30, help="requests per measurement")
    parser.add_argument("--keep", action="store_true", help="leave the seeded data in the database")
    parser.add_argument("--explain", action="store_true", help="print the PostgreSQL plan of the search")
    return parser.parse_args()


def setup_django():
    if not os.environ.get("DATABASE_URL"):
        path = Path(tempfile.mkdtemp(prefix="bench-library-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    elif os.environ["DATABASE_URL"].startswith("postgres"):
        c.create_pg_database(os.environ["DATABASE_URL"])  # a fresh machine has no bench database yet
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.setdefault("STUDIO_EMULATOR", "true")  # models offered, so the page renders its form
    # As production runs: DEBUG off (no query text kept), hashed static files.
    os.environ.update(
        DEBUG="false", SECRET_KEY="bench-only-" + "k" * 50, SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING",
        CONN_MAX_AGE="60",  # a deployment's persistent connections
        STATIC_ROOT=tempfile.mkdtemp(prefix="studio-bench-static-"),
    )  # fmt: skip
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def prompt(rng: random.Random) -> str:
    return f"{sentence(rng, 6)} {rng.choice(RARE)} {rng.choice(RARE)}"


def seed(total: int, first: int):
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from studio.models import Generation, Track, search_words, sort_key
    from studio.teams.services import create_project

    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER)
    existing = list(user.owned_projects.order_by("pk"))
    if existing and Track.objects.filter(project__in=existing).count() == total:
        print(f"reusing {total:,} seeded tracks (--keep)")
        return user, existing[0]
    for project in existing:
        project.delete()
    rng = random.Random(42)
    projects = [create_project(owner=user, name=f"Bench {i}") for i in range(10)]
    sizes = [first] + [(total - first) // 9] * 9
    sizes[-1] += total - sum(sizes)
    now = timezone.now()
    started = time.perf_counter()
    n = 0
    for project, size in zip(projects, sizes):
        for start in range(0, size, 5000):
            count = min(5000, size - start)
            with transaction.atomic():
                gens = Generation.objects.bulk_create(
                    Generation(
                        project=project, created_by=user, model_key=rng.choice(("pixazo-eleven-music", "elevenlabs-speech")),
                        params={"prompt": prompt(rng)}, state=Generation.State.SUCCEEDED,
                        created_at=now - timedelta(seconds=n + i),
                    )
                    for i in range(count)
                )
                tracks = []
                for i, gen in enumerate(gens):
                    title = sentence(rng, 3).capitalize()
                    tracks.append(Track(
                        generation=gen, project=project, title=title, file=f"tracks/{project.pk}/bench-{n + i}.mp3",
                        content_type="audio/mpeg", extension="mp3", size=rng.randint(50_000, 900_000),
                        sha256="0" * 64, duration_seconds=round(rng.uniform(2, 180), 1), created_at=gen.created_at,
                        favorite=rng.random() < 0.05,
                        search_text=search_words(f"{title}\n{gen.params['prompt']}"), sort_title=sort_key(title),
                    ))  # fmt: skip
                Track.objects.bulk_create(tracks)
            n += count
    from django.db import connection

    if connection.vendor == "postgresql":
        # As autovacuum leaves a table that has settled: statistics, and the visibility map
        # that lets the library page through ids with index-only scans.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE studio_track")
            cursor.execute("VACUUM ANALYZE studio_generation")
    print(f"seeded {total:,} tracks in {time.perf_counter() - started:.1f} s")
    return user, projects[0]


def measure(client, url: str, params: dict, repeat: int, **headers):
    """Median and p95 ms over `repeat` requests, and the SQL statements one request sends
    (counted with an execute wrapper: no debug cursor, as production)."""
    from django.db import connection

    class Counter:
        statements = 0

        def __call__(self, execute, sql, params, many, context):
            self.statements += 1
            return execute(sql, params, many, context)

    client.get(url, params, **headers)  # warm
    counter = Counter()
    with connection.execute_wrapper(counter):
        response = client.get(url, params, **headers)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, params, **headers)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), c.percentile(times, 95), counter.statements


def explain(project_ids, word: str):
    from django.db import connection

    from studio.library.find import TrackFilters, filter_tracks, page_of, tracks_in

    if connection.vendor != "postgresql":
        return
    tracks = filter_tracks(tracks_in(project_ids), TrackFilters(q=word))
    page = page_of(tracks, 1)
    print(f"--- {word}: {page.paginator.count} matches; first page:")
    print(page.object_list.explain(analyze=True))
    print("--- count:")
    print(tracks.values("pk").order_by().explain(analyze=True))


def cases(project_id: int, total: int) -> list[tuple]:
    """(label, url, params, headers, median target in ms) of each request measured."""
    htmx = {"HTTP_HX_REQUEST": "true"}
    p = project_id
    every = "search all"
    return [
        ("project page", f"/projects/{p}/", {}, {}, TARGET_MEDIAN_MS),
        ("project page, page 100", f"/projects/{p}/", {"page": "100"}, {}, TARGET_MEDIAN_MS),
        ("project library sorted by title", f"/projects/{p}/tracks/", {"sort": "title"}, htmx, TARGET_MEDIAN_MS),
        ("project search 'storm'", f"/projects/{p}/tracks/", {"q": "storm"}, htmx, TARGET_MEDIAN_MS),
        ("project search 'epic' + favorites", f"/projects/{p}/tracks/", {"q": "epic", "favorite": "on"}, htmx, TARGET_MEDIAN_MS),
        (f"{every}: rare word", "/search/", {"q": "kavinok"}, htmx, TARGET_SEARCH_ALL_MS),
        (f"{every}: rare + common word", "/search/", {"q": "moteli drums"}, htmx, TARGET_SEARCH_ALL_MS),
        (f"{every}: no match", "/search/", {"q": "zzzz"}, htmx, TARGET_SEARCH_ALL_MS),
        (f"{every}: common word (~12%, count capped)", "/search/", {"q": "thunder"}, htmx, TARGET_SEARCH_ALL_MS),
        (f"{every}: full page, rare word", "/search/", {"q": "kavinok"}, {}, TARGET_SEARCH_ALL_MS),
    ]  # fmt: skip


def main():
    args = parse_args()
    setup_django()
    from django.db import connection
    from django.test import Client

    from studio.models import Project

    sizes = [int(n) for n in args.sizes.split(",")]
    measured: list[dict] = []  # per size: label position -> (median, p95, queries)
    rows = []
    for total in sizes:
        tracks = max(1, total // 10)
        user, project = seed(total, tracks)
        client = Client()
        client.force_login(user)
        figures = []
        for label, url, params, headers, target in cases(project.pk, total):
            median, p95, queries = measure(client, url, params, args.repeat, **headers)
            figures.append(queries)
            rows.append((f"{total:,}: {label}, median / p95", f"{median:.1f} / {p95:.1f} ms", f"< {target:g} ms", median < target))
        measured.append(figures)
        if args.explain:
            ids = list(Project.objects.filter(owner=user).values_list("pk", flat=True))
            explain(ids, "kavinok")
            explain(ids, "thunder")
    labels = [label for label, *_ in cases(0, 0)]
    for n, label in enumerate(labels):
        counts = [figures[n] for figures in measured]
        rows.append((
            f"queries: {label.split(':')[-1].strip()}", " / ".join(str(q) for q in counts) + f" at {' / '.join(f'{t:,}' for t in sizes)}",
            "the same at every size", len(set(counts)) == 1,
        ))  # fmt: skip
    c.print_table(
        f"Library: {connection.vendor}, {args.repeat} requests each, through the test client ({c.load_note()})", rows
    )
    if not args.keep:
        for project in Project.objects.filter(owner=user):
            project.delete()
        user.delete()


if __name__ == "__main__":
    main()
