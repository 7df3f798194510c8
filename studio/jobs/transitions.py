"""The generation state machine: allowed moves only, each one recorded with time and reason.

A move is a conditional update on the row's current state, so two workers (or a late
callback and a poll) racing for the same generation cannot both win, and nothing ever
moves a finished job backwards.
"""

from __future__ import annotations

import json
import logging

from django.db import transaction
from django.utils import timezone

from studio.catalog import BY_KEY
from studio.models import Generation, Transition
from studio.spend import ledger

log = logging.getLogger("studio.transitions")  # the name operators filter on (README, "Logs")
S = Generation.State

ALLOWED: dict[str, set[str]] = {
    S.QUEUED: {S.SUBMITTING, S.FAILED, S.CANCELLED},
    S.SUBMITTING: {S.RUNNING, S.SUCCEEDED, S.QUEUED, S.FAILED, S.NEEDS_ATTENTION, S.CANCELLED},
    S.RUNNING: {S.FETCHING, S.FAILED, S.CANCELLED},
    S.FETCHING: {S.SUCCEEDED, S.RUNNING, S.FAILED},
    # A late answer can still settle a job the user was asked about: its accepted id (poll it)
    # or its audio (saved: it is Ready).
    S.NEEDS_ATTENTION: {S.QUEUED, S.RUNNING, S.SUCCEEDED, S.FAILED, S.CANCELLED},
    S.SUCCEEDED: set(),
    S.FAILED: set(),
    S.CANCELLED: {S.SUCCEEDED},  # only when its audio was saved after all: a paid track is never hidden
}


def move(
    generation_id: int,
    to: str,
    *,
    reason: str = "",
    only_from: tuple[str, ...] | None = None,
    expect: dict | None = None,
    **fields,
) -> bool:
    """Move a generation to `to` if its current state allows it; answer whether it moved.

    `only_from` narrows the states this call may move from (a claim: queued → submitting);
    `expect` names other column values the row must still hold (a message's turn), so of two
    copies of one message only the first moves the job. Extra `fields` are written in the same
    update (a reported `cost` goes through the ledger, which prices it). Leaving a state
    releases any lease held on the job.
    """
    now = timezone.now()
    with transaction.atomic():
        row = (
            Generation.objects.select_for_update()
            .filter(pk=generation_id, **(expect or {}))
            .values_list("state", "model_key", "external_id")
            .first()
        )
        if row is None:
            return False
        current, model_key, external_id = row
        if to not in ALLOWED[current]:
            return False
        if only_from is not None and current not in only_from:
            return False
        settlement = ledger.settle(generation_id, from_state=current, to=to, fields=fields)
        if to in Generation.TERMINAL_STATES:
            fields.setdefault("finished_at", now)
            fields.setdefault("next_check_at", None)
        fields.setdefault("lease_holder", "")
        fields.setdefault("lease_expires_at", None)
        updated = Generation.objects.filter(pk=generation_id, state=current).update(
            state=to, updated_at=now, **fields
        )
        if not updated:
            return False
        if settlement:
            settlement.record()
        Transition.objects.create(
            generation_id=generation_id, from_state=current, to_state=to, reason=reason[:300], at=now
        )
    log_move(generation_id, current, to, model_key=model_key, external_id=fields.get("external_id", external_id), reason=reason)
    return True


def log_move(generation_id: int, from_state: str, to_state: str, *, model_key: str, external_id: str, reason: str) -> None:
    """One logfmt line per move, also carried as record attributes for structured handlers.
    Only ids and states: never parameters, tokens or keys."""
    model = BY_KEY.get(model_key)
    fields = {
        "generation_id": generation_id,
        "from_state": from_state,
        "to_state": to_state,
        "provider": model.provider if model else "",
        "model": model_key,
        "external_id": external_id,
        "reason": reason,
    }
    line = " ".join(f"{key}={json.dumps(value) if isinstance(value, str) else value}" for key, value in fields.items())
    log.info("generation moved %s", line, extra=fields)


def touch(generation_id: int, *, only_in: tuple[str, ...], **fields) -> bool:
    """Update details (status text, provider status) without a state change, if still in `only_in`."""
    return bool(
        Generation.objects.filter(pk=generation_id, state__in=only_in).update(updated_at=timezone.now(), **fields)
    )
