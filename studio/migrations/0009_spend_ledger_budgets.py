import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate

from providers.registry import PROVIDERS  # plain Python: what each provider reports a cost in


def ledger_for_earlier_jobs(apps, schema_editor):
    """Jobs from before the ledger: the unit of their reported cost (each provider reports in one),
    their seconds of audio, and their days' totals (their cost in the studio's currency stays
    unknown until `manage.py spend_rebuild --reprice` prices them at the rates configured)."""
    Generation = apps.get_model("studio", "Generation")
    Track = apps.get_model("studio", "Track")
    DailySpend = apps.get_model("studio", "DailySpend")
    for key, provider in PROVIDERS.items():  # every catalog key starts with its provider's
        if provider.cost_unit is not None:
            reported = Generation.objects.filter(cost__isnull=False, model_key__startswith=f"{key}-")
            reported.update(cost_unit=provider.cost_unit.value)
    seconds = Track.objects.filter(generation=OuterRef("pk")).order_by().values("generation").annotate(s=Sum("duration_seconds"))
    Generation.objects.update(audio_seconds=Coalesce(Subquery(seconds.values("s")), 0.0))
    groups = (
        Generation.objects.order_by()
        .annotate(started=TruncDate("created_at"))
        .values("project_id", "started", "created_by_id", "model_key")
        .annotate(n=Count("pk"), failed=Count("pk", filter=Q(state="failed")), audio=Sum("audio_seconds"))
    )
    DailySpend.objects.bulk_create(
        DailySpend(
            project_id=g["project_id"], day=g["started"], member_id=g["created_by_id"], model_key=g["model_key"],
            jobs=g["n"], failed=g["failed"], unknown=g["n"], audio_seconds=g["audio"] or 0,
        )
        for g in groups
    )  # fmt: skip


class Migration(migrations.Migration):
    """The ledger: what each job cost as reported (amount and unit) and in the studio's currency,
    per-day totals by project, member and model, monthly budgets, per-member limits, and the
    notices sent at 80 % and 100 % of a budget."""

    dependencies = [
        ('studio', '0008_sets_routing_provenance'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='BudgetNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('percent', models.PositiveSmallIntegerField()),
                ('spent', models.DecimalField(decimal_places=6, max_digits=18)),
                ('budget', models.DecimalField(decimal_places=2, max_digits=12)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'ordering': ['-month', '-percent'],
            },
        ),
        migrations.CreateModel(
            name='DailySpend',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('model_key', models.CharField(max_length=64)),
                ('jobs', models.IntegerField(default=0)),
                ('failed', models.IntegerField(default=0)),
                ('unknown', models.IntegerField(default=0)),
                ('reported', models.DecimalField(decimal_places=6, default=0, max_digits=18)),
                ('estimated', models.DecimalField(decimal_places=6, default=0, max_digits=18)),
                ('failed_spend', models.DecimalField(decimal_places=6, default=0, max_digits=18)),
                ('audio_seconds', models.FloatField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name='generation',
            name='audio_seconds',
            field=models.FloatField(default=0),
        ),
        migrations.AddField(
            model_name='generation',
            name='cost_unit',
            field=models.CharField(blank=True, max_length=12),
        ),
        migrations.AddField(
            model_name='generation',
            name='spend',
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=14, null=True),
        ),
        migrations.AddField(
            model_name='generation',
            name='spend_basis',
            field=models.CharField(blank=True, choices=[('reported', 'Reported'), ('price', 'Set price'), ('estimate', 'Estimate'), ('not_charged', 'Not charged'), ('', 'Unknown')], max_length=12),
        ),
        migrations.AddField(
            model_name='membership',
            name='daily_limit',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name='membership',
            name='jobs_per_minute',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='membership',
            name='monthly_limit',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name='project',
            name='monthly_budget',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True),
        ),
        migrations.AddField(
            model_name='project',
            name='usage_for_viewers',
            field=models.BooleanField(default=False),
        ),
        migrations.AlterField(
            model_name='generation',
            name='cost',
            field=models.DecimalField(blank=True, decimal_places=6, max_digits=18, null=True),
        ),
        migrations.AddIndex(
            model_name='generation',
            index=models.Index(condition=models.Q(('spend_basis', 'reported')), fields=['model_key', '-id'], name='generation_reported_cost'),
        ),
        migrations.AddField(
            model_name='budgetnotice',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='budget_notices', to='studio.project'),
        ),
        migrations.AddField(
            model_name='dailyspend',
            name='member',
            field=models.ForeignKey(db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='dailyspend',
            name='project',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='daily_spend', to='studio.project'),
        ),
        migrations.AddConstraint(
            model_name='budgetnotice',
            constraint=models.UniqueConstraint(fields=('project', 'month', 'percent'), name='one_notice_per_threshold_and_month'),
        ),
        migrations.AddIndex(
            model_name='dailyspend',
            index=models.Index(fields=['day'], name='daily_spend_day'),
        ),
        migrations.AddConstraint(
            model_name='dailyspend',
            constraint=models.UniqueConstraint(fields=('project', 'day', 'member', 'model_key'), name='one_daily_spend_row'),
        ),
        migrations.RunPython(ledger_for_earlier_jobs, migrations.RunPython.noop),
    ]
