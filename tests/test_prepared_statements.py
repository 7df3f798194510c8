"""The statements asked for (here the poll's versions query) are planned once per connection on
PostgreSQL: Django's own statements stay unprepared, and DATABASE_PREPARED_STATEMENTS=false
prepares nothing."""

from __future__ import annotations

import pytest
from django.db import connection

from studio.jobs import cards
from studio.models import Generation
from tests.jobs.test_live_page import job

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture(autouse=True)
def fresh_connection(db):
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what earlier tests prepared (psycopg forgets it too)


def test_polls_reuse_one_prepared_versions_query_and_nothing_else_is_prepared(project, alice):
    gen = job(project, alice)
    for _ in range(3):
        rows = cards.versions(project.pk, alice, {gen.pk: gen.card_version}, newer_than=None)
        assert [row.pk for row in rows] == [gen.pk] and rows[0].version == gen.card_version
    Generation.objects.filter(pk=gen.pk).update(progress=5)  # an ORM statement: not prepared
    statements = prepared()
    assert len(statements) == 1 and "studio_membership" in statements[0]


def test_turned_off_nothing_is_prepared(project, alice, settings):
    settings.DATABASE_PREPARED_STATEMENTS = False
    gen = job(project, alice)
    rows = cards.versions(project.pk, alice, {gen.pk: gen.card_version}, newer_than=None)
    assert [row.pk for row in rows] == [gen.pk]
    assert prepared() == []
