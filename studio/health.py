"""Probes for load balancers and orchestrators: /healthz (the process answers) and /readyz
(the database and the broker answer too)."""

import logging

import dramatiq
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        log.warning("readiness: database unreachable", exc_info=True)
        return False


def _broker_ok() -> bool:
    broker = dramatiq.get_broker()
    try:
        if hasattr(broker, "client"):  # Redis
            broker.client.ping()
        elif hasattr(broker, "connection"):  # RabbitMQ: opening the channel is the check
            broker.connection.channel
        return True
    except Exception:
        log.warning("readiness: broker unreachable", exc_info=True)
        return False


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    status = 200 if all(checks.values()) else 503
    return JsonResponse({"status": "ok" if status == 200 else "unavailable", **checks}, status=status)
