"""Probes for load balancers and orchestrators: /healthz (the process answers) and /readyz
(the database and the broker answer too)."""

import copy
import logging

import dramatiq
import pika
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

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
        connection.close_if_unusable_or_obsolete()
        return False


def _rabbitmq_ok(broker) -> None:
    # A fresh, quickly-failing connection: the broker's own per-thread one may be stale.
    parameters = broker.parameters if isinstance(broker.parameters, list) else [broker.parameters]
    parameters = [copy.deepcopy(p) for p in parameters]
    for p in parameters:
        p.connection_attempts, p.retry_delay, p.socket_timeout = 1, 0, 3
    pika.BlockingConnection(parameters).close()


def _broker_ok() -> bool:
    broker = dramatiq.get_broker()
    try:
        if isinstance(broker, RedisBroker):
            broker.client.ping()
        elif isinstance(broker, RabbitmqBroker):
            _rabbitmq_ok(broker)
        return True  # the embedded StubBroker lives in this process
    except Exception:
        log.warning("readiness: broker unreachable", exc_info=True)
        return False


@never_cache
@require_GET
def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    status = 200 if all(checks.values()) else 503
    return JsonResponse({"status": "ok" if status == 200 else "unavailable", **checks}, status=status)


PROBES = {"/healthz": healthz, "/readyz": readyz}


class ProbeMiddleware:
    """Answer the probes before anything checks the Host header or redirects to https:
    orchestrators call a container by its bare address over plain http."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = PROBES.get(request.path_info)
        return probe(request) if probe else self.get_response(request)
