"""The periodic schedule, run by `python manage.py crontab` (dramatiq-crontab loads this module).

Workers run the sweep too when they start (studio.worker_hooks) and the embedded mode runs it on
a timer, so a job never depends on this scheduler alone.
"""

from dramatiq_crontab import cron

from .actors import sweep

cron("* * * * *")(sweep)  # every minute
