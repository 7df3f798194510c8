"""A project with more pending jobs than a page follows (RECENT_CARDS): every one is shown or
counted, and as followed cards finish the next ones come into view, at the same few queries
whatever the number pending."""

from __future__ import annotations

import re

import pytest

from studio.jobs.cards import RECENT_CARDS
from studio.models import Generation
from tests.jobs.test_live_page import HTMX, card_ids, job

S = Generation.State


def more_pending(html: str) -> int | None:
    found = re.search(r'<p id="more-pending"[^>]*data-count="(\d+)"', html)
    return int(found.group(1)) if found else None


def followed(html: str) -> list[str]:
    return re.findall(r'name="ids" value="(\d+:[^"]*)"', html)


@pytest.fixture
def busy(project, alice):
    """200 pending jobs (a whole set's worth), oldest first."""
    return [job(project, alice, provider_status="running") for _ in range(200)]


def test_the_page_follows_the_newest_pending_and_counts_the_rest(alice_client, project, busy):
    html = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert len(followed(html)) == RECENT_CARDS
    assert set(card_ids(html)) == {g.pk for g in busy[-RECENT_CARDS:]}
    assert more_pending(html) == 150
    assert "150 more jobs pending" in html


def test_as_followed_cards_finish_the_next_come_into_view_and_the_count_goes_down(
    alice_client, project, busy, django_assert_max_num_queries
):
    html = alice_client.get(f"/projects/{project.pk}/").content.decode()
    ids = followed(html)
    newest = max(g.pk for g in busy)
    finished = busy[-3:]
    Generation.objects.filter(pk__in=[g.pk for g in finished]).update(state=S.SUCCEEDED)
    params = {"ids": ",".join(ids), "after": newest, "more": 150}

    # versions; the cards that finished, their tracks; the backlog's next ids, their cards, their tracks
    with django_assert_max_num_queries(6):
        answer = alice_client.get(f"/projects/{project.pk}/cards/", params, **HTMX).content.decode()

    next_three = busy[-RECENT_CARDS - 3 : -RECENT_CARDS]
    assert set(card_ids(answer)) == {g.pk for g in finished} | {g.pk for g in next_three}
    assert 'hx-swap-oob="beforeend:#cards"' in answer  # below the cards, not on top
    assert more_pending(answer) == 147 and 'id="more-pending" class="meta more-pending"' in answer


def test_an_unchanged_poll_stays_one_query_with_hundreds_pending(alice_client, project, busy, django_assert_num_queries):
    html = alice_client.get(f"/projects/{project.pk}/").content.decode()
    params = {"ids": ",".join(followed(html)), "after": max(g.pk for g in busy), "more": more_pending(html)}
    with django_assert_num_queries(1):
        response = alice_client.get(f"/projects/{project.pk}/cards/", params, **HTMX)
    assert response.content == b""


def test_when_the_backlog_empties_the_count_is_hidden(alice_client, project, alice):
    pending = [job(project, alice, provider_status="running") for _ in range(RECENT_CARDS + 1)]
    html = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert more_pending(html) == 1
    Generation.objects.filter(pk=pending[0].pk).update(state=S.CANCELLED)  # the one not shown ends
    params = {"ids": ",".join(followed(html)), "after": pending[-1].pk, "more": 1}
    answer = alice_client.get(f"/projects/{project.pk}/cards/", params, **HTMX).content.decode()
    assert more_pending(answer) == 0 and re.search(r'<p id="more-pending"[^>]*\shidden', answer)
