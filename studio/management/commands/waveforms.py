"""Compute the waveform of every track stored before waveforms existed (or whose audio could not
be decoded, with --retry). New tracks get theirs from the worker as they are saved."""

import signal

from django.core.management.base import BaseCommand

from studio.audio.waveform import stored_peaks
from studio.models import Track


class Command(BaseCommand):
    help = "Compute the waveforms of tracks that have none yet."

    def add_arguments(self, parser):
        parser.add_argument("--retry", action="store_true", help="Also try again those that could not be decoded.")
        parser.add_argument("--limit", type=int, default=0, help="Stop after this many tracks (0: all).")

    def handle(self, *args, **options):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))  # finish the track at hand, then stop
        missing = Track.objects.filter(peaks__isnull=True)
        if options["retry"]:
            missing = missing | Track.objects.filter(peaks=[])
        ids = list(missing.order_by("-pk").values_list("pk", flat=True))
        if options["limit"]:
            ids = ids[: options["limit"]]
        done = failed = 0
        for pk in ids:
            if stopping:
                break
            name = Track.objects.filter(pk=pk).values_list("file", flat=True).first()
            if name is None:
                continue  # deleted meanwhile
            peaks = stored_peaks(name)
            Track.objects.filter(pk=pk).update(peaks=peaks)
            done += 1
            failed += not peaks
        self.stdout.write(f"{done} waveform(s) computed, {failed} of them from audio that could not be decoded.")
