"""Pages of tracks: ids first, then the page's rows with their details (studio/library.py).

Every page must hold the rows an OFFSET over the whole query would give, in the same order, for
every sort and filter, at the same cost in queries whatever its number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from studio.library import find
from studio.library.find import (
    PAGE_SIZE,
    SORTS,
    TrackFilters,
    filter_tracks,
    page_of,
    tracks_in,
)
from studio.models import Generation, Tag, Track
from tests.library.fixtures import make_project

HTMX = {"HTTP_HX_REQUEST": "true"}
COUNT = 2 * PAGE_SIZE + 7  # two full pages and a short last one


def shelve(project, user, count: int = COUNT) -> list[Track]:
    """Tracks made three at the same instant, with repeating titles and durations (every fifth
    unknown), so that every sort meets ties that only the id breaks."""
    gen = Generation.objects.create(project=project, created_by=user, model_key="pixazo-eleven-music",
                                    params={"prompt": "x"}, state=Generation.State.SUCCEEDED)
    now = timezone.now()
    Track.objects.bulk_create(
        Track(generation=gen, project=project, position=i, title="abc"[i % 3], file=f"tracks/{project.pk}/{i}.wav",
              content_type="audio/wav", extension="wav", size=1, sha256="0" * 64,
              duration_seconds=None if i % 5 == 0 else float(i % 4), created_at=now - timedelta(minutes=i // 3),
              search_text=f"take {i} {'even' if i % 2 == 0 else 'odd'}", sort_title="abc"[i % 3])
        for i in range(count)
    )  # fmt: skip
    return list(Track.objects.filter(generation=gen))


EXPECTED_ORDER = {  # the sorts of SORTS, written again in Python
    "new": lambda t: (-t.created_at.timestamp(), -t.pk),
    "old": lambda t: (t.created_at, t.pk),
    "longest": lambda t: (t.duration_seconds is None, -(t.duration_seconds or 0), -t.pk),
    "shortest": lambda t: (t.duration_seconds is None, t.duration_seconds or 0, t.pk),
    "title": lambda t: (t.title, t.pk),
}


def every_page(tracks) -> list[list[int]]:
    first = page_of(tracks, 1)
    return [[t.pk for t in page_of(tracks, n).object_list] for n in first.paginator.page_range]


def test_every_sort_is_tested():
    assert EXPECTED_ORDER.keys() == SORTS.keys()


@pytest.mark.parametrize("sort", SORTS)
def test_pages_hold_the_rows_of_each_sort_in_order_ties_broken_by_id(project, alice, sort):
    tracks = shelve(project, alice)
    expected = [t.pk for t in sorted(tracks, key=EXPECTED_ORDER[sort])]
    pages = every_page(filter_tracks(tracks_in([project.pk]), TrackFilters(sort=sort)))
    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    assert sum(pages, []) == expected


@pytest.mark.parametrize("sort", SORTS)
def test_a_tag_filter_across_projects_pages_without_duplicates(project, alice, sort):
    other = make_project(alice)
    tracks = shelve(project, alice) + shelve(other, alice, 20)
    kept = [t for t in tracks if t.position % 2]
    for p in (project, other):  # one "keep" tag in each project: the join must not repeat tracks
        Tag.objects.create(project=p, name="keep").tracks.add(*(t for t in kept if t.project_id == p.pk))
    f = TrackFilters(tag="keep", q="odd", sort=sort)
    pages = every_page(filter_tracks(tracks_in([project.pk, other.pk]), f))
    assert sum(pages, []) == [t.pk for t in sorted(kept, key=EXPECTED_ORDER[sort])]
    assert page_of(filter_tracks(tracks_in([project.pk, other.pk]), f), 1).paginator.count == len(kept)


def test_the_last_page_and_pages_out_of_range(project, alice):
    tracks = filter_tracks(tracks_in([project.pk]), TrackFilters(sort="old"))
    expected = [t.pk for t in sorted(shelve(project, alice), key=EXPECTED_ORDER["old"])]
    last = page_of(tracks, 3)
    assert [t.pk for t in last.object_list] == expected[2 * PAGE_SIZE:]
    assert (last.number, last.paginator.num_pages, last.has_next(), last.has_previous()) == (3, 3, False, True)
    assert (last.start_index(), last.end_index()) == (2 * PAGE_SIZE + 1, COUNT)
    for beyond in (4, 99, 0, -1):  # as Django's paginator: the last page
        assert [t.pk for t in page_of(tracks, beyond).object_list] == expected[2 * PAGE_SIZE:]
    for nonsense in (None, "", "x", "2.5"):  # the first page
        page = page_of(tracks, nonsense)
        assert page.number == 1 and [t.pk for t in page.object_list] == expected[:PAGE_SIZE]


def test_no_match_is_one_empty_page_for_a_single_count(project, alice, django_assert_num_queries):
    shelve(project, alice)
    with django_assert_num_queries(1):  # the count; no rows to fetch
        page = page_of(filter_tracks(tracks_in([project.pk]), TrackFilters(q="nowhere")), 2)
        assert list(page.object_list) == []
    assert (page.number, page.paginator.num_pages, page.paginator.count, page.has_other_pages()) == (1, 1, 0, False)


@pytest.mark.parametrize("number", [1, 3])
def test_a_page_costs_three_queries_whichever_it_is(project, alice, number, django_assert_num_queries):
    shelve(project, alice)
    with django_assert_num_queries(3):  # count, rows with generation, author and project, tags
        page = page_of(filter_tracks(tracks_in([project.pk]), TrackFilters(tag="", sort="title")), number)
        for track in page.object_list:
            track.generation.created_by.get_username(), track.project.name, list(track.tags.all())


def test_a_deep_page_costs_the_queries_of_the_first(alice_client, project, alice, django_assert_num_queries):
    shelve(project, alice)
    url = f"/projects/{project.pk}/tracks/"
    alice_client.get(url, **HTMX)
    with django_assert_num_queries(8) as first:
        alice_client.get(url, {"sort": "longest"}, **HTMX)
    with django_assert_num_queries(len(first.captured_queries)):
        response = alice_client.get(url, {"sort": "longest", "page": "3"}, **HTMX)
    assert "Page 3 of 3" in response.content.decode()


def test_past_the_cap_the_count_stops_and_says_more(project, alice, alice_client, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(find, "COUNT_CAP", 30)
    shelve(project, alice)  # 57 tracks
    tracks = filter_tracks(tracks_in([project.pk]), TrackFilters(sort="old"))
    with django_assert_num_queries(1):  # one COUNT, over 31 rows at most
        paginator = page_of(tracks, 1).paginator
        assert (paginator.count, paginator.capped, paginator.num_pages) == (30, True, 2)
    html = alice_client.get(f"/projects/{project.pk}/tracks/", **HTMX).content.decode()
    assert ">30+ tracks</p>" in html and "Page 1 of 2+" in html


def test_at_the_cap_the_count_is_exact(project, alice, alice_client, monkeypatch):
    monkeypatch.setattr(find, "COUNT_CAP", COUNT)
    shelve(project, alice)
    paginator = page_of(filter_tracks(tracks_in([project.pk]), TrackFilters()), 1).paginator
    assert (paginator.count, paginator.capped) == (COUNT, False)
    html = alice_client.get(f"/projects/{project.pk}/tracks/", **HTMX).content.decode()
    assert f">{COUNT} tracks</p>" in html and "Page 1 of 3<" in html
