"""Startup checks: `migrate`, `rundramatiq`, `crontab` and `check` print these, so an operator
sees what is missing or inconsistent before the first job."""

from django.conf import settings
from django.core import checks
from django.core.files.storage import default_storage

from providers.registry import PROVIDERS
from studio.catalog import MODELS, provider_configured
from studio.jobs.pipeline import is_loopback_http


def check_providers(app_configs, **kwargs):
    messages = []
    missing = sorted({m.provider for m in MODELS if not provider_configured(m.provider)})
    if len(missing) == len({m.provider for m in MODELS}):
        messages.append(
            checks.Warning(
                "No provider API key is set: no model can be offered.",
                hint=f"Set {', '.join(f'{key.upper()}_API_KEY' for key in PROVIDERS)}, "
                "or STUDIO_EMULATOR=true for the local emulator.",
                id="studio.W001",
            )
        )
    elif missing:
        messages.append(
            checks.Info(
                f"No API key for {', '.join(missing)}: their models are hidden.",
                id="studio.I001",
            )
        )
    base = settings.PUBLIC_BASE_URL
    if base and not base.startswith("https://") and not is_loopback_http(base):
        messages.append(
            checks.Warning(
                "PUBLIC_BASE_URL is not https: providers will not call back; jobs are polled instead.",
                id="studio.W002",
            )
        )
    return messages


def check_scheduler(app_configs, **kwargs):
    if settings.BROKER_URL.startswith("amqp") and not settings.SCHEDULER_REDIS_URL:
        return [
            checks.Info(
                "The scheduler has no lock on RabbitMQ: run exactly one `manage.py crontab`.",
                hint="Set SCHEDULER_REDIS_URL to a Redis to let several schedulers stand by for each other.",
                id="studio.I002",
            )
        ]
    return []


def check_storage(app_configs, **kwargs):
    """How audio is served, and an S3 store configured but unreachable (wrong endpoint, bucket
    or credentials)."""
    if settings.AUDIO_DOWNLOADS not in ("stream", "redirect"):
        return [
            checks.Error(
                f"AUDIO_DOWNLOADS is {settings.AUDIO_DOWNLOADS!r}: it must be stream or redirect.",
                id="studio.E001",
            )
        ]
    if not settings.AWS_STORAGE_BUCKET_NAME or not hasattr(default_storage, "bucket"):
        return []
    try:
        default_storage.connection.meta.client.head_bucket(Bucket=settings.AWS_STORAGE_BUCKET_NAME)
    except Exception as exc:
        return [
            checks.Warning(
                f"The S3 bucket {settings.AWS_STORAGE_BUCKET_NAME!r} cannot be reached: "
                f"{type(exc).__name__}: {exc}. Finished jobs cannot store their audio.",
                hint="Check AWS_S3_ENDPOINT_URL, AWS_STORAGE_BUCKET_NAME and the credentials "
                "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).",
                id="studio.W003",
            )
        ]
    return []


CONSOLE_MAIL = "django.core.mail.backends.console.EmailBackend"


def check_mail(app_configs, **kwargs):
    if not settings.DEBUG and settings.EMAIL_BACKEND == CONSOLE_MAIL:
        return [
            checks.Info(
                "Mail is printed to the console: invitations and password resets reach no one.",
                hint="Set EMAIL_URL (e.g. smtp+tls://user:password@mail.example.com:587) and DEFAULT_FROM_EMAIL.",
                id="studio.I003",
            )
        ]
    return []


def check_mail_for_deploy(app_configs, **kwargs):
    """`check --deploy`: production without a mail server is an error. Invitation and password
    reset links would go to the console, which is the web process's log: readable by whoever
    reads the logs, and by nobody they were meant for."""
    if not settings.DEBUG and settings.EMAIL_BACKEND == CONSOLE_MAIL:
        return [
            checks.Error(
                "Production mail is printed to the console: invitation and password reset links "
                "would land in the logs instead of reaching anyone.",
                hint="Set EMAIL_URL (e.g. smtp+tls://user:password@mail.example.com:587) and DEFAULT_FROM_EMAIL.",
                id="studio.E002",
            )
        ]
    return []
