from django.db import migrations, models


class Migration(migrations.Migration):
    """Jobs record facts (error kind, attempt, progress, what they wait for) instead of card
    wording, and carry a lease while a worker is in a long step."""

    dependencies = [
        ("studio", "0004_generation_news_due_at"),
    ]

    operations = [
        migrations.RenameField(model_name="generation", old_name="news_due_at", new_name="next_check_at"),
        migrations.RemoveField(model_name="generation", name="status_detail"),
        migrations.AddField(
            model_name="generation", name="progress", field=models.PositiveSmallIntegerField(blank=True, null=True)
        ),
        migrations.AddField(model_name="generation", name="error_kind", field=models.CharField(blank=True, max_length=20)),
        migrations.AddField(model_name="generation", name="attempt", field=models.PositiveSmallIntegerField(default=0)),
        migrations.AddField(model_name="generation", name="waiting_for", field=models.CharField(blank=True, max_length=20)),
        migrations.AddField(
            model_name="generation", name="retrying_since", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(model_name="generation", name="step_failures", field=models.PositiveSmallIntegerField(default=0)),
        migrations.AddField(model_name="generation", name="submit_turn", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(model_name="generation", name="lease_holder", field=models.CharField(blank=True, max_length=64)),
        migrations.AddField(
            model_name="generation", name="lease_expires_at", field=models.DateTimeField(blank=True, null=True)
        ),
    ]
