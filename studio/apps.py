from django.apps import AppConfig
from django.core import checks


class StudioConfig(AppConfig):
    name = "studio"
    verbose_name = "Audio Studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        checks.register(check_providers)


def check_providers(app_configs, **kwargs):
    from django.conf import settings

    from .catalog import MODELS, provider_configured

    messages = []
    missing = sorted({m.provider for m in MODELS if not provider_configured(m.provider)})
    if len(missing) == len({m.provider for m in MODELS}):
        messages.append(
            checks.Warning(
                "No provider API key is set: no model can be offered.",
                hint="Set PIXAZO_API_KEY (and the others), or STUDIO_EMULATOR=true for the local emulator.",
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
    if settings.PUBLIC_BASE_URL and not settings.PUBLIC_BASE_URL.startswith("https://"):
        messages.append(
            checks.Warning(
                "PUBLIC_BASE_URL is not https: providers will not call back; jobs are polled instead.",
                id="studio.W002",
            )
        )
    return messages
