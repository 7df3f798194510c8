from django.apps import AppConfig
from django.core import checks


class StudioConfig(AppConfig):
    name = "studio"
    verbose_name = "Audio Studio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # They read the models, so they load once the app registry is ready.
        from studio.audio import signals  # noqa: F401  (a deleted track deletes its stored file)
        from studio.spend import signals as spend_signals  # noqa: F401  (every new job counts in the ledger)
        from studio.ops import checks as startup_checks  # the startup checks, registered below
        from studio.spend.checks import check_spend  # registered below, with the startup checks

        for check in (
            startup_checks.check_providers,
            startup_checks.check_scheduler,
            startup_checks.check_storage,
            startup_checks.check_mail,
            check_spend,
        ):
            checks.register(check)
