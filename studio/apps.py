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
        from studio.jobs.routing import check_routing_order  # registered below with the others
        from studio.spend.checks import check_spend  # registered below, with the startup checks

        for check in (
            startup_checks.check_providers,
            startup_checks.check_scheduler,
            startup_checks.check_storage,
            startup_checks.check_mail,
            check_routing_order,
            check_spend,
        ):
            checks.register(check)
        checks.register(startup_checks.check_mail_for_deploy, deploy=True)
