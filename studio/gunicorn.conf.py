"""gunicorn settings for the web process: `gunicorn -c studio/gunicorn.conf.py studio.wsgi`."""

import os

from gunicorn.glogging import Logger

from studio.ops.log_filters import redact

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
accesslog = "-"
graceful_timeout = 30
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


class RedactingLogger(Logger):
    """Access lines carry request paths; a provider callback's path carries its secret."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "q"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger
