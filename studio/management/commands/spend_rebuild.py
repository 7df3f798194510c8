"""Recompute the ledger's per-day totals from the jobs; with --reprice, first price every
reported cost again at the rates configured now (after setting or changing a rate)."""

from django.core.management.base import BaseCommand

from studio.spend import ledger


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--reprice", action="store_true", help="price reported costs at the rates configured now")
        parser.add_argument("--project", type=int, action="append", dest="projects", help="only this project (repeatable)")

    def handle(self, *args, reprice: bool, projects: list[int] | None, **options):
        if reprice:
            self.stdout.write(f"Re-priced {ledger.reprice(projects)} jobs at the rates configured now.")
        self.stdout.write(f"Rebuilt {ledger.rebuild(projects)} rows of per-day totals.")
