"""Dramatiq middleware for the studio's workers.

SweepOnBoot: a worker that boots sweeps once, so jobs whose messages were lost while no worker
ran (a flushed broker, a crash) start moving again at once.

QuickPickup: an idle consumer waits up to `worker_timeout` between looks at its queue (Dramatiq's
default is a second). Each job hops through a few messages (submit, poll, fetch), so a second per
hop would show on every card; a short wait costs an idle worker a few cheap broker calls a second.
"""

import dramatiq
from django.conf import settings
from dramatiq.middleware import Middleware


class SweepOnBoot(Middleware):
    def after_worker_boot(self, broker, worker):
        # Not at the top: this middleware is built while the broker itself is being set up, and
        # declaring the actors then would give them a broker of their own.
        from studio.jobs.actors import sweep

        try:
            sweep.send()
        except dramatiq.errors.DramatiqError:
            pass  # the periodic sweep will come


class QuickPickup(Middleware):
    def before_worker_boot(self, broker, worker):
        # Before the consumers exist, which take the worker's timeout when they are made.
        worker.worker_timeout = min(worker.worker_timeout, settings.WORKER_IDLE_POLL_MS)
