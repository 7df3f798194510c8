"""The pipeline's reads of a job's row: the columns its steps use, each read in one plain
statement. A worker reads a row in every step, and building the ORM's query (or a raw()
query's model instances) took several times what the database took to answer it; the row is
still a Generation instance (the other columns deferred), its values converted as the ORM
converts them."""

from __future__ import annotations

from functools import cache

from django.db import connections, router

from studio.models import Generation
from studio.prepared_statements import prepared_cursor

# The columns the steps read: a deferred one costs a query of its own when first touched (the
# ledger reads the job's day and person when a track is saved, routing the job's gateway).
STEP_FIELDS = (
    "id", "project", "model_key", "params", "state", "external_id", "media", "attempt", "submit_turn",
    "status_checks", "lease_holder", "lease_expires_at", "retrying_since", "client_ref", "callback_token",
    "submitted_at", "started_at", "created_at", "created_by", "gateway",
)  # fmt: skip
# In the model's order of fields, as Model.from_db takes the values of a partial row.
_FIELDS = [field for field in Generation._meta.concrete_fields if field.name in STEP_FIELDS]
if len(_FIELDS) != len(STEP_FIELDS):
    raise LookupError(f"not fields of Generation: {set(STEP_FIELDS) - {field.name for field in _FIELDS}}")
_ATTNAMES = [field.attname for field in _FIELDS]
_TABLE = Generation._meta.db_table
_COLUMNS = ", ".join(field.column for field in _FIELDS)


def step_row(generation_id: int) -> Generation | None:
    return _first(f"SELECT {_COLUMNS} FROM {_TABLE} WHERE id = %s", [generation_id])


def claim_status_check(generation_id: int, checks_done: int) -> Generation | None:
    """Take the turn of the status check `checks_done` + 1 on a running job and read its row, in
    one conditional update; None when the job moved on or another message took that turn."""
    return _first(
        f"UPDATE {_TABLE} SET status_checks = status_checks + 1 "
        f"WHERE id = %s AND state = %s AND status_checks = %s RETURNING {_COLUMNS}",
        [generation_id, Generation.State.RUNNING, checks_done],
    )


def _first(sql: str, params: list) -> Generation | None:
    alias = router.db_for_write(Generation)
    connection = connections[alias]
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, col, converters in _converters(alias):
        for convert in converters:
            values[index] = convert(values[index], col, connection)
    return Generation.from_db(alias, _ATTNAMES, values)


@cache
def _converters(alias: str) -> list[tuple[int, object, list]]:
    """The backend's and the fields' converters of each column that has any (JSON text, SQLite's
    dates), with the column they are handed, as the ORM's compiler applies them."""
    connection = connections[alias]
    found = []
    for index, field in enumerate(_FIELDS):
        col = field.get_col(_TABLE)
        converters = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if converters:
            found.append((index, col, converters))
    return found
