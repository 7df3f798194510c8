import unicodedata

import django.db.models.deletion
from django.db import migrations, models


def sort_key(text: str) -> str:
    # A copy of studio.models.sort_key as it is today: a migration must not follow later edits.
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def fill_sort_titles(apps, schema_editor):
    Track = apps.get_model("studio", "Track")
    batch = []
    for track in Track.objects.only("pk", "title").iterator(chunk_size=2000):
        track.sort_title = sort_key(track.title)[:200]
        batch.append(track)
        if len(batch) >= 2000:
            Track.objects.bulk_update(batch, ["sort_title"])
            batch = []
    if batch:
        Track.objects.bulk_update(batch, ["sort_title"])


class Migration(migrations.Migration):
    """The project page as a team's room: a library version pages compare to follow changes,
    dismissed and copied generations, an expected finish for the card's countdown, titles that
    sort without regard to case or accents, and each track's waveform."""

    dependencies = [
        ("studio", "0005_generation_facts_and_leases"),
    ]

    operations = [
        migrations.AddField(model_name="project", name="library_version", field=models.PositiveIntegerField(default=0)),
        migrations.AddField(
            model_name="generation", name="expected_finish_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(model_name="generation", name="dismissed_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="generation",
            name="copied_from",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="copies",
                to="studio.generation",
            ),
        ),
        migrations.AddField(
            model_name="track",
            name="sort_title",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.AddField(model_name="track", name="peaks", field=models.JSONField(blank=True, editable=False, null=True)),
        migrations.RunPython(fill_sort_titles, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="track", name="track_project_title"),
        migrations.AddIndex(
            model_name="track",
            index=models.Index(fields=["project", "sort_title", "id"], name="track_project_sort_title"),
        ),
    ]
