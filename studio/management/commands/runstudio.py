"""Run the whole studio in one process: web server, in-process worker and, with
STUDIO_EMULATOR=true, the local provider emulator. Creates the database, and in the embedded
mode (SQLite, no broker) a demo login: pointed at a real database it creates none, unless asked
with --demo, so demo/demo never appears on a deployment by accident."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from studio.ops import embedded
from studio.teams.services import create_project

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"


class Command(BaseCommand):
    help = "Run the studio in one process (web, worker, emulator) with a demo login."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--noreload", action="store_true", help="Do not restart on code changes.")
        parser.add_argument("--no-demo", action="store_true", help="Do not create the demo login.")
        parser.add_argument(
            "--demo", action="store_true", help="Create the demo login even outside the embedded mode (SQLite, no broker)."
        )
        parser.add_argument("--job-seconds", type=float, default=4.0, help="How long emulated jobs take.")

    def handle(self, *args, **options):
        reloading_child = os.environ.get("RUN_MAIN") == "true"
        if not reloading_child:
            call_command("migrate", interactive=False, verbosity=0)
            if options["demo"] or (embedded.is_embedded() and not options["no_demo"]):
                self._ensure_demo_login(options["addrport"])
            elif not options["no_demo"]:
                self.stdout.write("No demo login outside the embedded mode: sign in with an account of this database (--demo makes one).")
        # Under the autoreloader only the serving child runs the worker, and only once.
        if reloading_child or options["noreload"]:
            embedded.start(emulator_job_seconds=options["job_seconds"])
        call_command("runserver", options["addrport"], use_reloader=not options["noreload"])

    def _ensure_demo_login(self, addrport):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USERNAME, defaults={"email": "demo@localhost"})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            create_project(owner=user, name="Demo project", description="Try a prompt.")
        self.stdout.write(
            f"Audio Studio: sign in at http://{addrport}/ as "
            f"{DEMO_USERNAME} / {DEMO_PASSWORD}"
            + ("" if settings.STUDIO_EMULATOR else " (no emulator: set provider keys)")
        )
