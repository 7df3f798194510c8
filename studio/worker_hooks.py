"""Dramatiq middleware: a worker that boots sweeps once, so jobs whose messages were lost while
no worker ran (a flushed broker, a crash) start moving again at once."""

import dramatiq
from dramatiq.middleware import Middleware


class SweepOnBoot(Middleware):
    def after_worker_boot(self, broker, worker):
        from .actors import sweep

        try:
            sweep.send()
        except dramatiq.errors.DramatiqError:
            pass  # the periodic sweep will come
