"""Migration 0009 counts the jobs made before the ledger: in their days' totals (cost unknown),
with their seconds of audio and the unit their provider reported in."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("studio", "0005_generation_facts_and_leases")]
LEDGER = [("studio", "0009_spend_ledger_budgets")]


@pytest.mark.django_db(transaction=True)
def test_jobs_from_before_the_ledger_count_in_their_days_totals():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        user = old.get_model("auth", "User").objects.create(username="old-timer")
        project = old.get_model("studio", "Project").objects.create(owner=user, name="Old")
        Generation = old.get_model("studio", "Generation")
        paid = Generation.objects.create(project=project, created_by=user, model_key="aimlapi-stable-audio", state="succeeded", cost=Decimal(25200))
        Generation.objects.create(project=project, created_by=user, model_key="aimlapi-stable-audio", state="failed")
        old.get_model("studio", "Track").objects.create(generation=paid, project=project, title="t", file="tracks/a.wav", duration_seconds=12.5)

        executor.loader.build_graph()
        executor.migrate(LEDGER)

        new = executor.loader.project_state(LEDGER).apps
        paid = new.get_model("studio", "Generation").objects.get(pk=paid.pk)
        assert (paid.cost_unit, paid.audio_seconds, paid.spend) == ("credits", 12.5, None)
        row = new.get_model("studio", "DailySpend").objects.get()
        assert (row.jobs, row.failed, row.unknown, row.audio_seconds, row.reported) == (2, 1, 2, 12.5, 0)
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
