"""The generation state machine: allowed moves only, each one recorded with time and reason.

A move is a conditional update on the row's current state, so two workers (or a late
callback and a poll) racing for the same generation cannot both win, and nothing ever
moves a finished job backwards.
"""

from __future__ import annotations

import json
import logging

from django.db import connections, router, transaction
from django.utils import timezone

from studio.catalog import BY_KEY
from studio.models import Generation, Transition
from studio.prepared_statements import prepared_cursor
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
    sources = [state for state in (only_from or ALLOWED) if to in ALLOWED[state]]
    if not sources:
        return False
    now = timezone.now()
    if to in Generation.TERMINAL_STATES:
        fields.setdefault("finished_at", now)
        fields.setdefault("next_check_at", None)
    fields.setdefault("lease_holder", "")
    fields.setdefault("lease_expires_at", None)
    if "cost" in fields and fields["cost"] is None:
        del fields["cost"]  # no report: nothing for the ledger to price, and nothing to overwrite
    if "cost" in fields or to in (S.FAILED, S.CANCELLED):
        moved = _move_through_the_ledger(generation_id, to, sources, expect or {}, fields, reason[:300], now)
    else:
        moved = _conditional_move(generation_id, sources, expect or {}, {"state": to, "updated_at": now, **fields}, reason[:300], now)
    if moved is None:
        return False
    current, model_key, external_id = moved
    log_move(generation_id, current, to, model_key=model_key, external_id=external_id, reason=reason)
    return True


def _move_through_the_ledger(generation_id: int, to: str, sources: list[str], expect: dict, fields: dict, reason: str, now):
    """A move that the ledger must price (a reported cost, or a job ending failed or cancelled):
    the row locked first, the ledger's fields worked out under the lock, then the update, the
    day's totals and the audit row, in one transaction. Answers as _conditional_move does."""
    with transaction.atomic():
        row = (
            Generation.objects.select_for_update()
            .filter(pk=generation_id, state__in=sources, **expect)
            .values_list("state", "model_key", "external_id")
            .first()
        )
        if row is None:
            return None
        current, model_key, external_id = row
        settlement = ledger.settle(generation_id, from_state=current, to=to, fields=fields)
        Generation.objects.filter(pk=generation_id).update(state=to, updated_at=now, **fields)
        if settlement:
            settlement.record()
        Transition.objects.create(generation_id=generation_id, from_state=current, to_state=to, reason=reason, at=now)
    return current, model_key, fields.get("external_id", external_id)


def _conditional_move(generation_id: int, sources: list[str], expect: dict, values: dict, reason: str, now):
    """Update the row if its state is one of `sources` and it holds `expect`, and write the audit
    row, as one: answer (the state it left, model key, external id), or None if it did not move.

    Plain SQL, as the pipeline's most frequent statement: on PostgreSQL one round trip (the row
    locked, updated and its transition inserted in one statement, the old state read from the
    locked row), elsewhere three in one transaction (SQLite's takes the write lock first)."""
    connection = connections[router.db_for_write(Generation)]
    q = connection.ops.quote_name
    table, audit = q(Generation._meta.db_table), q(Transition._meta.db_table)
    where = [f"{q('id')} = %s", f"{q('state')} IN ({', '.join(['%s'] * len(sources))})"]
    where_params = [generation_id, *sources]
    for name, value in expect.items():
        if value is None:  # as the ORM's filter(name=None)
            where.append(f"{q(_column(name))} IS NULL")
            continue
        where.append(f"{q(_column(name))} = %s")
        where_params.append(_prepared(name, value, connection))
    sets, set_params = _assignments(values, connection)
    to = values["state"]
    insert = f"INSERT INTO {audit} ({q('generation_id')}, {q('from_state')}, {q('to_state')}, {q('reason')}, {q('at')})"
    with prepared_cursor(connection) as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"WITH old AS (SELECT {q('id')}, {q('state')} FROM {table} WHERE {' AND '.join(where)} FOR UPDATE), "
                f"moved AS (UPDATE {table} AS g SET {sets} FROM old WHERE g.{q('id')} = old.{q('id')} "
                f"RETURNING old.{q('state')} AS from_state, g.{q('model_key')}, g.{q('external_id')}), "
                f"audit AS ({insert} SELECT %s, from_state, %s, %s, %s FROM moved) "
                "SELECT from_state, model_key, external_id FROM moved",
                [*where_params, *set_params, generation_id, to, reason, _prepared_at(now, connection)],
            )
            return cursor.fetchone()
        with transaction.atomic(using=connection.alias, savepoint=False):
            lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
            cursor.execute(
                f"SELECT {q('state')}, {q('model_key')}, {q('external_id')} FROM {table} WHERE {' AND '.join(where)}{lock}",
                where_params,
            )
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute(f"UPDATE {table} SET {sets} WHERE {q('id')} = %s", [*set_params, generation_id])
            cursor.execute(f"{insert} VALUES (%s, %s, %s, %s, %s)", [generation_id, row[0], to, reason, _prepared_at(now, connection)])
        return row[0], row[1], values.get("external_id", row[2])


def _assignments(values: dict, connection) -> tuple[str, list]:
    """`col = %s, ...` for an UPDATE of a generation's fields, and the values as stored."""
    q = connection.ops.quote_name
    return (
        ", ".join(f"{q(_column(name))} = %s" for name in values),
        [_prepared(name, value, connection) for name, value in values.items()],
    )


def _column(name: str) -> str:
    return Generation._meta.get_field(name).column


def _prepared(name: str, value, connection):
    """A value as its model field stores it (JSON, decimals, times), as the ORM would send it."""
    return Generation._meta.get_field(name).get_db_prep_save(value, connection)


def _prepared_at(value, connection):
    return Transition._meta.get_field("at").get_db_prep_save(value, connection)


def log_move(generation_id: int, from_state: str, to_state: str, *, model_key: str, external_id: str, reason: str) -> None:
    """One logfmt line per move, also carried as record attributes for structured handlers.
    Only ids and states: never parameters, tokens or keys."""
    if not log.isEnabledFor(logging.INFO):
        return  # the line costs more to build than the move itself
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
    """Update details (status text, provider status) without a state change, if still in `only_in`.
    Plain SQL, as the moves: a worker's status checks and the callbacks' handler touch rows the
    most, and the ORM took longer to build the update than the database to run it."""
    connection = connections[router.db_for_write(Generation)]
    q = connection.ops.quote_name
    sets, params = _assignments({"updated_at": timezone.now(), **fields}, connection)
    with prepared_cursor(connection) as cursor:
        cursor.execute(
            f"UPDATE {q(Generation._meta.db_table)} SET {sets} "
            f"WHERE {q('id')} = %s AND {q('state')} IN ({', '.join(['%s'] * len(only_in))})",
            [*params, generation_id, *only_in],
        )
        return cursor.rowcount > 0
