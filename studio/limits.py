"""How many requests the studio has in flight at each provider, across every worker.

Plans cap concurrent requests (ElevenLabs answers 429 `concurrent_limit_exceeded` past its
limit), so jobs beyond the cap wait in the queue instead of failing at the provider.
The count lives in Redis when the broker is Redis (shared by all workers), else in-process.
"""

from contextlib import contextmanager
from functools import cache

from django.conf import settings
from dramatiq.rate_limits import ConcurrentRateLimiter
from dramatiq.rate_limits.backends import RedisBackend, StubBackend

SLOT_TTL_MS = 15 * 60 * 1000  # a slot held by a dead worker frees itself after this


@cache
def _backend():
    if settings.BROKER_URL.startswith("redis"):
        return RedisBackend(url=settings.BROKER_URL)
    return StubBackend()


def _limit(provider: str) -> int:
    return settings.PROVIDER_CONCURRENCY.get(provider, settings.PROVIDER_CONCURRENCY_DEFAULT)


@contextmanager
def provider_slot(provider: str):
    """Yield True while holding one of the provider's slots, or False when all are taken."""
    mutex = ConcurrentRateLimiter(_backend(), f"studio-provider-{provider}", limit=_limit(provider), ttl=SLOT_TTL_MS)
    with mutex.acquire(raise_on_failure=False) as acquired:
        yield acquired
