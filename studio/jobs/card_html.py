"""Cards rendered once per version: when a job's card changes, every page watching the project
asks for it within one interval, and rendering it for each of them cost more than the rest of
their polls. A web process keeps each card's HTML by what it depends on (the card's version and
state, whether the viewer started it, what the viewer may do with it, where it is shown) for a
short while (the "cards" cache); the form tokens are put in per answer.
"""

from __future__ import annotations

from types import SimpleNamespace

from django.core.cache import caches
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from studio.jobs import cards

# Stands for the viewer's form token in the kept HTML; each answer puts its own in.
_TOKEN_MARK = "csrf-token-of-this-answer"


def _cache():
    return caches["cards"]


def _key(row, user_id: int, flags: tuple, oob: bool) -> str:
    mine = row.created_by_id == user_id
    return f"card:{row.pk}:{row.version}:{int(mine)}:{int(oob)}:" + ":".join(map(str, map(int, flags)))


def _render(card, user_id: int, csrf_token: str, *, oob: bool, can_generate: bool, is_owner: bool, in_set: bool) -> str:
    """One card as the poll sends it, for a viewer who is `user_id`."""
    context = {
        "card": card, "oob": oob, "can_generate": can_generate, "is_owner": is_owner, "in_set": in_set,
        "user": SimpleNamespace(pk=user_id), "csrf_token": csrf_token,
    }  # fmt: skip
    return render_to_string("studio/project.html#card", context)


def changed_and_new(request, project_id: int, user_id: int, rows: list, asked: dict[int, str], *, can_generate: bool,
                    is_owner: bool, in_set: bool) -> tuple[SafeString, SafeString]:  # fmt: skip
    """The HTML of the asked cards that changed (swapped in place) and of the cards the page does
    not show yet (newest first), rendering only those no answer of this process rendered yet."""
    flags_named = {"can_generate": can_generate, "is_owner": is_owner, "in_set": in_set}
    flags = tuple(flags_named.values())
    to_send = [row for row in rows if cards.to_send(row, asked)]
    if not to_send:
        return mark_safe(""), mark_safe("")
    keys = {row.pk: _key(row, user_id, flags, oob=row.pk in asked) for row in to_send}
    kept = _cache().get_many(list(keys.values()))
    missing = [row for row in to_send if keys[row.pk] not in kept]
    if missing:
        changed, new = cards.changed_cards(project_id, missing, asked)
        fresh = {
            keys[card.gen.pk]: _render(card, user_id, _TOKEN_MARK, oob=card.gen.pk in asked, **flags_named)
            for card in [*changed, *new]
        }
        _cache().set_many(fresh)
        kept.update(fresh)
    token = get_token(request)
    html = {pk: kept[key].replace(_TOKEN_MARK, token) for pk, key in keys.items() if key in kept}
    in_place = "".join(html[row.pk] for row in to_send if row.pk in asked and row.pk in html)
    on_top = "".join(html[row.pk] for row in to_send if row.pk not in asked and row.pk in html)  # rows come newest first
    return mark_safe(in_place), mark_safe(on_top)


def joining(request, project_id: int, user_id: int, ids: list[int], *, can_generate: bool, is_owner: bool) -> SafeString:
    """The HTML of pending cards coming into a page's view from the backlog (cards.backlog), newest
    first: rendered as they are now (a page asks for each only once)."""
    if not ids:
        return mark_safe("")
    token = get_token(request)
    generations = cards.with_tracks(cards.cards_in(project_id).filter(pk__in=ids))
    return mark_safe("".join(
        _render(card, user_id, token, oob=False, can_generate=can_generate, is_owner=is_owner, in_set=False)
        for card in generations
    ))  # fmt: skip
