"""The statements asked for (here the poll's versions query) are planned once per connection on
PostgreSQL: Django's own statements stay unprepared, and DATABASE_PREPARED_STATEMENTS=false
prepares nothing."""

from __future__ import annotations

import pytest
from django.db import connection

from studio.jobs import cards
from studio.models import Generation

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def pending_job(project, user) -> Generation:
    return Generation.objects.create(
        project=project, created_by=user, model_key="pixazo-eleven-v3-speech", params={"text": "Hi"}, state="running"
    )


@pytest.fixture(autouse=True)
def fresh_connection(db):
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what earlier tests prepared (psycopg forgets it too)


def test_polls_reuse_one_prepared_versions_query_and_nothing_else_is_prepared(project, alice):
    job = pending_job(project, alice)
    for _ in range(3):
        rows = cards.versions(project.pk, alice, {job.pk: job.card_version}, newer_than=None)
        assert [row.pk for row in rows] == [job.pk] and rows[0].version == job.card_version
    Generation.objects.filter(pk=job.pk).update(progress=5)  # an ORM statement: not prepared
    statements = prepared()
    assert len(statements) == 1 and "studio_membership" in statements[0]


def test_turned_off_nothing_is_prepared(project, alice, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    job = pending_job(project, alice)
    rows = cards.versions(project.pk, alice, {job.pk: job.card_version}, newer_than=None)
    assert [row.pk for row in rows] == [job.pk]
    assert prepared() == []
