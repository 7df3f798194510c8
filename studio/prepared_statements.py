"""Statements PostgreSQL plans once per connection. For the few the studio runs many times a
second (a poll's versions query; a worker's reads, moves and ledger updates of a job's row),
planning each one anew took more of the database's time than running it, and binding the values
into the text took the client's. Django leaves psycopg's prepared statements off, for connection
poolers in transaction mode (PgBouncer before 1.21 loses them between transactions); behind such
a pooler, DATABASE_PREPARED_STATEMENTS=false turns these off too."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.conf import settings


class _PreparedCursor(psycopg.Cursor):
    """Binds on the server, and prepares each statement at its first run on the connection.

    Django sets the connection's prepare threshold to None, which turns preparing off; this
    cursor lifts it for its own statements only. Any other threshold would have psycopg count
    every statement the connection runs, each of Django's with its values bound into its text:
    a cache of a hundred such texts per connection, and its upkeep on every query."""

    def execute(self, query, params=None, **kwargs):
        kwargs.setdefault("prepare", True)
        connection = self.connection  # one thread's: Django does not share connections
        threshold, connection.prepare_threshold = connection.prepare_threshold, 0
        try:
            return super().execute(query, params, **kwargs)
        finally:
            connection.prepare_threshold = threshold


@contextmanager
def prepared_cursor(connection) -> Iterator:
    """A cursor of Django's (its execute wrappers and query log apply) whose statements
    PostgreSQL binds and prepares; elsewhere, or when turned off, the usual cursor."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        with connection.cursor() as cursor:
            yield cursor
        return
    # What Django's own cursor() does first: a connection that failed its health check (the
    # database restarted) is replaced, and a connection is only used by its own thread.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = _PreparedCursor(connection.connection)
    with connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw) as cursor:
        yield cursor
