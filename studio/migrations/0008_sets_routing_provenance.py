import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Generation sets (prompts × models in one submit), routing facts on each job (the gateway
    that serves it and why), each gateway's circuit breaker, and every submission's answer (for
    the provider health page and each track's provenance)."""

    dependencies = [
        ('studio', '0007_password_reset_requests'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='GatewayCircuit',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('gateway', models.CharField(max_length=20, unique=True)),
                ('refusals', models.PositiveIntegerField(default=0)),
                ('proven', models.BooleanField(default=False)),
                ('opened_at', models.DateTimeField(blank=True, null=True)),
                ('trials', models.JSONField(blank=True, default=dict)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name='generation',
            name='follows',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='followed_by', to='studio.generation'),
        ),
        migrations.AddField(
            model_name='generation',
            name='gateway',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name='generation',
            name='gateway_reason',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name='generation',
            name='gateways_passed',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='generation',
            name='picked',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='generation',
            name='set_column',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='generation',
            name='set_row',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='project',
            name='gateway_ranks',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.CreateModel(
            name='GenerationSet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('model_keys', models.JSONField(default=list)),
                ('rows', models.JSONField(default=list)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='generation_sets', to=settings.AUTH_USER_MODEL)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='generation_sets', to='studio.project')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='generation',
            name='generation_set',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='generations', to='studio.generationset'),
        ),
        migrations.CreateModel(
            name='GatewayAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('gateway', models.CharField(max_length=20)),
                ('model_key', models.CharField(max_length=64)),
                ('sent_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('outcome', models.CharField(choices=[('accepted', 'Accepted'), ('refused', 'Refused'), ('rejected', 'Rejected'), ('unknown', 'No clear answer')], max_length=10)),
                ('error_kind', models.CharField(blank=True, max_length=20)),
                ('error', models.CharField(blank=True, max_length=300)),
                ('params', models.JSONField(blank=True, default=dict)),
                ('generation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempts', to='studio.generation')),
            ],
            options={
                'ordering': ['sent_at', 'pk'],
                'indexes': [models.Index(fields=['sent_at'], name='gateway_attempt_recent')],
            },
        ),
    ]
