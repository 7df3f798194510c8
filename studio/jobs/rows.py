"""The pipeline's reads of a job's row: the columns its steps use, each read in one plain
statement. A worker reads a row in every step, and building the ORM's query took several times
what the database took to answer it; raw() still gives Generation instances (the other
columns deferred)."""

from __future__ import annotations

from studio.models import Generation

# The columns the steps read: a deferred one costs a query of its own when first touched (the
# ledger reads the job's day and person when a track is saved).
STEP_FIELDS = (
    "id", "project", "model_key", "params", "state", "external_id", "media", "attempt", "submit_turn",
    "status_checks", "lease_holder", "lease_expires_at", "retrying_since", "client_ref", "callback_token",
    "submitted_at", "started_at", "created_at", "created_by",
)  # fmt: skip
_TABLE = Generation._meta.db_table
_COLUMNS = ", ".join(Generation._meta.get_field(name).column for name in STEP_FIELDS)


def step_row(generation_id: int) -> Generation | None:
    return _first(Generation.objects.raw(f"SELECT {_COLUMNS} FROM {_TABLE} WHERE id = %s", [generation_id]))


def claim_status_check(generation_id: int, checks_done: int) -> Generation | None:
    """Take the turn of the status check `checks_done` + 1 on a running job and read its row, in
    one conditional update; None when the job moved on or another message took that turn."""
    return _first(
        Generation.objects.raw(
            f"UPDATE {_TABLE} SET status_checks = status_checks + 1 "
            f"WHERE id = %s AND state = %s AND status_checks = %s RETURNING {_COLUMNS}",
            [generation_id, Generation.State.RUNNING, checks_done],
        )
    )


def _first(rows) -> Generation | None:
    return next(iter(rows), None)
