# The password reset requests of the last hour, to limit them per account and per address.

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('studio', '0006_live_studio'),
    ]

    operations = [
        migrations.CreateModel(
            name='PasswordResetRequest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.EmailField(max_length=254)),
                ('client_address', models.GenericIPAddressField(blank=True, null=True)),
                ('requested_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'indexes': [models.Index(fields=['email', 'requested_at'], name='reset_request_email'), models.Index(fields=['client_address', 'requested_at'], name='reset_request_address')],
            },
        ),
    ]
