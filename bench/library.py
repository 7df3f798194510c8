"""How the library holds up with many tracks: the project page and search, timed and query-counted.

Seeds one project with --tracks tracks and spreads the rest of --total over nine more projects
(all owned by one bench user), then requests each page --repeat times through Django's test
client (the whole view, template included; no network) and prints median and p95 times and the
number of SQL queries per request. Uses DATABASE_URL when set, otherwise a fresh SQLite file;
migrates it, and removes what it seeded when done (unless --keep).

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
    parser.add_argument("--tracks", type=int, default=10_000, help="tracks in the measured project")
    parser.add_argument("--total", type=int, default=100_000, help="tracks across all projects")
    parser.add_argument("--repeat", type=int, default=30, help="requests per measurement")
    parser.add_argument("--keep", action="store_true", help="leave the seeded data in the database")
    parser.add_argument("--explain", action="store_true", help="print the PostgreSQL plan of the search")
    return parser.parse_args()


def setup_django():
    if not os.environ.get("DATABASE_URL"):
        path = Path(tempfile.mkdtemp(prefix="bench-library-")) / "bench.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    elif os.environ["DATABASE_URL"].startswith("postgres"):
        from bench._common import create_pg_database

        create_pg_database(os.environ["DATABASE_URL"])  # a fresh machine has no bench database yet
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    os.environ.setdefault("STUDIO_EMULATOR", "true")  # models offered, so the page renders its form
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


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
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    request_started.disconnect(reset_queries)  # or each request would empty the captured list
    client.get(url, params, **headers)  # warm
    reset_queries()  # the log keeps 9,000 queries at most: seeding may have filled it
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params, **headers)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, params, **headers)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, len(queries.captured_queries)


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


def main():
    args = parse_args()
    setup_django()
    from django.db import connection
    from django.test import Client

    from studio.models import Project

    user, project = seed(args.total, args.tracks)
    client = Client()
    client.force_login(user)
    htmx = {"HTTP_HX_REQUEST": "true"}
    p = project.pk
    cases = [
        (f"project page, {args.tracks:,} tracks", f"/projects/{p}/", {}, {}),
        ("project page, page 100", f"/projects/{p}/", {"page": "100"}, {}),
        ("project library sorted by title", f"/projects/{p}/tracks/", {"sort": "title"}, htmx),
        ("project search 'storm'", f"/projects/{p}/tracks/", {"q": "storm"}, htmx),
        ("project search 'epic choir' + favorites", f"/projects/{p}/tracks/", {"q": "epic choir", "favorite": "on"}, htmx),
        (f"search all {args.total:,}: rare word", "/search/", {"q": "kavinok"}, htmx),
        (f"search all {args.total:,}: rare + common word", "/search/", {"q": "moteli drums"}, htmx),
        (f"search all {args.total:,}: no match", "/search/", {"q": "zzzz"}, htmx),
        (f"search all {args.total:,}: common word (~12%)", "/search/", {"q": "thunder"}, htmx),
        (f"search all {args.total:,}: full page, rare word", "/search/", {"q": "kavinok"}, {}),
    ]
    print(f"database: {connection.vendor}, {args.repeat} requests each")
    print(f"{'request':<48} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for label, url, params, headers in cases:
        median, p95, queries = measure(client, url, params, args.repeat, **headers)
        print(f"{label:<48} {median:>10.1f} {p95:>8.1f} {queries:>8}")
    if args.explain:
        ids = list(Project.objects.filter(owner=user).values_list("pk", flat=True))
        explain(ids, "kavinok")
        explain(ids, "thunder")
    if not args.keep:
        for project in Project.objects.filter(owner=user):
            project.delete()
        user.delete()


if __name__ == "__main__":
    main()
