"""The project page as a team's room: one poll brings cards started by anyone (in any tab), the
library again when a member changed it, and costs the same few queries whatever the number of
cards, tracks or members. Older cards page, failed ones can be hidden, pending ones say how long."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from studio.errors import ErrorKind
from studio.jobs.cards import PAGE_CARDS, Card
from studio.library import services
from studio.models import Generation, Role
from tests.conftest import make_user
from tests.library.fixtures import add_member, make_project, make_track

S = Generation.State
HTMX = {"HTTP_HX_REQUEST": "true"}


def job(project, user, state=S.RUNNING, **fields) -> Generation:
    return Generation.objects.create(
        project=project, created_by=user, model_key="pixazo-eleven-music", params={"prompt": "p"}, state=state, **fields
    )


def poll(client, project, **params):
    return client.get(f"/projects/{project.pk}/cards/", params, **HTMX)


@pytest.fixture
def bob_client(project, bob):
    add_member(project, bob, Role.EDITOR)
    client = Client()
    client.force_login(bob)
    return client


def card_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article id="gen-(\d+)"', html)]


def test_a_job_a_teammate_starts_reaches_every_open_page_of_the_project(alice_client, bob_client, project, alice, bob):
    mine = job(project, alice, state=S.SUCCEEDED)
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert card_ids(page) == [mine.pk]
    theirs = job(project, bob, state=S.QUEUED)
    finished_meanwhile = job(project, bob, state=S.SUCCEEDED)

    html = poll(alice_client, project, after=mine.pk).content.decode()

    assert card_ids(html) == [finished_meanwhile.pk, theirs.pk]  # newest first, pending or finished
    assert 'hx-swap-oob="afterbegin:#cards"' in html
    assert f'name="ids" value="{theirs.pk}:' in html  # from now on it updates in place like one's own
    assert "data-mine" not in html  # the page tells its own jobs from teammates'
    theirs.refresh_from_db()  # the page now follows it, as its other pending cards
    following = f"{theirs.pk}:{theirs.card_version}"
    assert card_ids(poll(alice_client, project, after=finished_meanwhile.pk, ids=following).content.decode()) == []


def test_a_new_card_comes_once_and_hidden_ones_and_copies_never(alice_client, project, alice, bob):
    shown = job(project, alice, state=S.SUCCEEDED)
    job(project, alice, state=S.FAILED, dismissed_at=timezone.now())
    other = make_project(alice, "Other")
    copied = make_track(other, alice)
    services.copy_tracks(user=alice, tracks=[copied], to_project=project)
    assert card_ids(poll(alice_client, project, after=shown.pk).content.decode()) == []


def test_an_outsider_polling_with_real_ids_gets_404_and_no_cards(project, alice, bob):
    job(project, alice)
    client = Client()
    client.force_login(bob)
    assert poll(client, project, after=0).status_code == 404


def library_of(html: str) -> str:
    match = re.search(r'<div id="library-results".*?</div>\s*$', html, re.S)
    return match.group(0) if match else ""


def test_the_library_follows_a_teammates_change_with_the_users_own_search_and_page(alice_client, bob_client, project, alice, bob):
    for i in range(30):
        make_track(project, alice, title=f"Storm {i}" if i % 2 else f"Calm {i}")
    page = alice_client.get(f"/projects/{project.pk}/", {"q": "storm"}).content.decode()
    version = re.search(r'data-library-version="(\d+)"', page).group(1)
    query = re.search(r'data-library-query="([^"]*)"', page).group(1).replace("&amp;", "&")
    assert query == "q=storm&page=1"
    assert poll(alice_client, project, library=version, library_query=query).content.decode().strip() == ""

    storm = project.tracks.filter(title="Storm 3").get()
    bob_client.post(f"/tracks/{storm.pk}/title/", {"title": "Storm renamed by Bob"})

    html = poll(alice_client, project, library=version, library_query=query).content.decode()
    assert '<div id="library-results" data-playlist hx-swap-oob="true"' in html
    assert "Storm renamed by Bob" in html and "15 tracks found" in html and "Calm" not in html
    assert f'data-library-version="{int(version) + 1}"' in html and 'id="tag-names" hx-swap-oob="true"' in html


CHANGES = {
    "tagged": (lambda bob, track, other: services.set_tags(user=bob, track=track, names=["wet"]), {"here"}),
    "bulk tagged": (lambda bob, track, other: services.add_tags(user=bob, tracks=[track], names=["x"]), {"here"}),
    "starred": (lambda bob, track, other: services.set_favorite(user=bob, tracks=[track], favorite=True), {"here"}),
    "renamed": (lambda bob, track, other: services.rename_track(user=bob, track=track, title="New"), {"here"}),
    "deleted": (lambda bob, track, other: services.delete_tracks(user=bob, tracks=[track]), {"here"}),
    "moved": (lambda bob, track, other: services.move_tracks(user=bob, tracks=[track], to_project=other), {"here", "there"}),
    "copied": (lambda bob, track, other: services.copy_tracks(user=bob, tracks=[track], to_project=other), {"there"}),
}


@pytest.mark.parametrize("name", CHANGES)
def test_every_change_to_tracks_moves_the_library_version_of_the_projects_it_touches(project, alice, bob, name):
    change, touched = CHANGES[name]
    add_member(project, bob, Role.EDITOR)
    other = make_project(bob, "Bob's")
    track = make_track(project, alice)
    before = {"here": project.library_version, "there": other.library_version}
    change(bob, track, other)
    project.refresh_from_db(), other.refresh_from_db()
    after = {"here": project.library_version, "there": other.library_version}
    assert {key for key in after if after[key] > before[key]} == touched


@pytest.mark.parametrize("count", [1, 30])
def test_a_poll_costs_the_same_queries_for_any_number_of_cards_tracks_and_members(
    alice_client, project, alice, count, django_assert_max_num_queries
):
    for i in range(count):
        add_member(project, make_user(f"member{i}"), Role.EDITOR)
        make_track(project, alice, title=f"t{i}")
        job(project, alice, provider_status="running")
    pending = list(project.generations.filter(state=S.RUNNING))
    ids = [f"{g.pk}:0" for g in pending]  # every version stale: all re-rendered
    newest_shown = pending[0].pk
    for _ in range(count):
        job(project, alice, state=S.SUCCEEDED)  # new cards since the page's newest
    # session, user, versions (with the membership), changed and new cards, their tracks; the
    # library: the project, tag and member choices, its count, its page of ids, its rows, their tags
    with django_assert_max_num_queries(12):
        response = poll(alice_client, project, ids=ids, after=newest_shown, library=999, library_query="page=1")
    html = response.content.decode()
    assert len(card_ids(html)) == 2 * count and "data-library-version" in html


def test_an_idle_page_looks_with_four_queries(alice_client, project, alice, django_assert_num_queries):
    make_track(project, alice)
    newest = job(project, alice, state=S.SUCCEEDED)
    project.refresh_from_db()
    # session, user, cards newer than the page's (none), the membership (with the library version)
    with django_assert_num_queries(4):
        response = poll(alice_client, project, after=newest.pk, library=project.library_version, library_query="page=1")
    assert response.status_code == 200 and response.content.decode().strip() == ""


def test_older_cards_page_on_from_the_last_shown(alice_client, project, alice):
    jobs = [job(project, alice, state=S.SUCCEEDED) for _ in range(2 * PAGE_CARDS + 3)][::-1]  # newest first
    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert card_ids(page) == [g.pk for g in jobs[:PAGE_CARDS]]
    assert f"?before={jobs[PAGE_CARDS - 1].pk}" in page

    html = alice_client.get(f"/projects/{project.pk}/cards/older/", {"before": jobs[PAGE_CARDS - 1].pk}, **HTMX).content.decode()
    assert card_ids(html) == [g.pk for g in jobs[PAGE_CARDS : 2 * PAGE_CARDS]]
    assert 'hx-swap-oob="beforeend:#cards"' in html and f"?before={jobs[2 * PAGE_CARDS - 1].pk}" in html
    last = alice_client.get(f"/projects/{project.pk}/cards/older/", {"before": jobs[2 * PAGE_CARDS - 1].pk}).content.decode()
    assert card_ids(last) == [g.pk for g in jobs[2 * PAGE_CARDS :]] and "?before=" not in last  # a page, without htmx
    assert "<h1>Older generations</h1>" in last


def test_older_cards_of_another_project_or_a_bad_id_are_404(alice_client, project, alice):
    other = make_project(alice, "Other")
    foreign = job(other, alice)
    for before in (str(foreign.pk), "x", ""):
        assert alice_client.get(f"/projects/{project.pk}/cards/older/", {"before": before}).status_code == 404


def test_a_failed_card_can_be_hidden_and_stays_on_record(alice_client, project, alice):
    failed = job(project, alice, state=S.FAILED, error_kind=ErrorKind.FAILED)
    running = job(project, alice)
    response = alice_client.post(f"/generations/{failed.pk}/dismiss/", **HTMX)
    assert response.status_code == 200 and response.content == b""
    failed.refresh_from_db()
    assert failed.dismissed_at is not None and Generation.objects.filter(pk=failed.pk).exists()
    assert card_ids(alice_client.get(f"/projects/{project.pk}/").content.decode()) == [running.pk]
    alice_client.post(f"/generations/{running.pk}/dismiss/", **HTMX)
    running.refresh_from_db()
    assert running.dismissed_at is None  # a pending job cannot be hidden


def test_a_viewer_cannot_hide_cards(project, alice, bob):
    add_member(project, bob, Role.VIEWER)
    failed = job(project, alice, state=S.FAILED)
    client = Client()
    client.force_login(bob)
    assert client.post(f"/generations/{failed.pk}/dismiss/").status_code == 404
    failed.refresh_from_db()
    assert failed.dismissed_at is None


# --- What a pending card says -------------------------------------------------------------


def test_a_pending_card_counts_down_to_the_usual_finish_then_says_it_is_slow(project, alice):
    now = timezone.now()
    gen = job(project, alice, provider_status="running", submitted_at=now - timedelta(seconds=5),
              expected_finish_at=now + timedelta(seconds=15))  # fmt: skip
    card = Card(gen)
    assert card.eta == "about 15 s left" and card.usual == "20 s" and not card.is_slow
    gen.expected_finish_at = now - timedelta(seconds=3)
    assert Card(gen).eta == "any moment now"
    gen.submitted_at, gen.expected_finish_at = now - timedelta(seconds=40), now - timedelta(seconds=20)
    assert Card(gen).eta == "slower than usual (usually 20 s)" and Card(gen).is_slow


def test_a_pending_card_shows_elapsed_time_progress_and_estimate_for_the_page_to_tick(alice_client, project, alice):
    now = timezone.now()
    gen = job(project, alice, provider_status="running", progress=40, submitted_at=now - timedelta(seconds=5),
              expected_finish_at=now + timedelta(seconds=15), created_at=now - timedelta(seconds=6))  # fmt: skip
    html = alice_client.get(f"/generations/{gen.pk}/").content.decode()
    assert re.search(r'<time datetime="[^"]+" data-elapsed>6 s</time> elapsed', html)
    assert 'data-eta datetime="' in html and 'data-usual="20 s"' in html and "about 1" in html
    assert '<progress max="100" value="40"' in html and "40%" in html


def test_a_retry_says_the_attempt_and_counts_down_to_the_next_try(alice_client, project, alice):
    now = timezone.now()
    gen = job(project, alice, state=S.QUEUED, waiting_for="retry", error_kind=ErrorKind.RATE_LIMITED, attempt=3,
              retrying_since=now - timedelta(seconds=12), next_check_at=now + timedelta(seconds=4))  # fmt: skip
    html = alice_client.get(f"/generations/{gen.pk}/").content.decode()
    assert "Pixazo is limiting requests (429). Attempt 3 did not go through; trying again" in html
    assert re.search(r'<time class="countdown" datetime="[^"]+" data-countdown>in [34] s</time>', html)
    assert re.search(r"refused for <time [^>]*data-elapsed>12 s</time>", html)


def test_after_retrying_for_a_while_the_failure_says_what_happened_without_retrying(project, alice):
    now = timezone.now()
    gen = job(project, alice, state=S.FAILED, error_kind=ErrorKind.RATE_LIMITED, retrying_since=now - timedelta(seconds=40),
              finished_at=now, error="Too Many Requests; retrying")  # fmt: skip
    assert Card(gen).problem == "Pixazo kept refusing with 429 (too many requests) for 40 s; try again later."


@pytest.mark.parametrize(("kind", "owner_words"), [(ErrorKind.AUTH, "operator check its Pixazo API key"), (ErrorKind.CREDIT, "Top up credits at Pixazo")])
def test_a_key_or_credit_failure_offers_no_retry_and_tells_the_owner_what_to_do(alice_client, project, alice, bob, kind, owner_words):
    add_member(project, bob, Role.EDITOR)
    gen = job(project, alice, state=S.FAILED, error_kind=kind, error="Unauthorized")
    owner = alice_client.get(f"/generations/{gen.pk}/").content.decode()
    assert "Retry" not in owner and owner_words in owner and 'data-testid="card-fix"' in owner
    client = Client()
    client.force_login(bob)
    editor = client.get(f"/generations/{gen.pk}/").content.decode()
    assert "Retry" not in editor and "project owner" in editor and owner_words not in editor


def test_provider_jargon_becomes_plain_words_and_the_providers_own_stay_at_hand(alice_client, project, alice):
    gen = job(project, alice, state=S.FAILED, error_kind=ErrorKind.INVALID,
              error="Model 'elevenlabs-music-api-368' not found or is disabled")  # fmt: skip
    card = Card(gen)
    assert card.problem.startswith("Pixazo does not offer this model right now") and "368" not in card.problem
    assert card.provider_words == gen.error
    html = alice_client.get(f"/generations/{gen.pk}/").content.decode()
    assert "What Pixazo said" in html and "elevenlabs-music-api-368" in html


def test_cards_carry_what_the_page_needs_to_keep_times_true(alice_client, project, alice):
    gen = job(project, alice, state=S.SUCCEEDED, finished_at=timezone.now())
    html = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert re.search(rf'<article id="gen-{gen.pk}"[^>]*data-mine', html)
    assert re.search(r'<time datetime="[^"]+" data-relative>', html)
    assert "/static/live_time.js" in html


