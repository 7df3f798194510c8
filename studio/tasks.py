"""The periodic schedule, run by `python manage.py crontab` (dramatiq-crontab loads this module).

Workers run the sweep too when they start (studio.worker_hooks) and the embedded mode runs it on
a timer, so a job never depends on this scheduler alone. Workers load this module as well
(DRAMATIQ_AUTODISCOVER_MODULES), and with it dramatiq-crontab's own `heartbeat` actor, which the
scheduler sends every minute.
"""

from django.conf import settings
from dramatiq_crontab import cron, interval

from studio.jobs.actors import sweep

if settings.SWEEP_EVERY_SECONDS == 60:
    cron("* * * * *")(sweep)  # on the minute, whenever the scheduler started
else:
    interval(seconds=settings.SWEEP_EVERY_SECONDS)(sweep)
