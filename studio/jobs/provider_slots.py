"""How many requests the studio has in flight at each provider, across every worker.

Plans cap concurrent requests (ElevenLabs answers 429 `concurrent_limit_exceeded` past its
limit), so jobs beyond the cap wait in the queue instead of failing at the provider.

A slot is a lease, not a count: its holder is named and it expires a little after the call's
own timeout unless the holder renews it while the call runs. A worker killed mid-call therefore
leaves no slot taken for good; whatever the traffic, its slot is free again once the lease runs
out. Slots live in Redis when the studio has one (shared by every worker: a sorted set of holder
ids scored by expiry, cleaned on every acquire, on the Redis server's clock), else in-process.
"""

from __future__ import annotations

import threading
import time
from functools import cache

import redis
from django.conf import settings

# KEYS[1]: the provider's set. ARGV: holder, lease (ms), limit. Answers 1 when the slot is taken.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0
"""
# Pushes the holder's expiry out, if it still holds the slot (an expired lease is not revived).
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiry or tonumber(expiry) <= now then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
"""


def limit(provider: str) -> int:
    return settings.PROVIDER_CONCURRENCY.get(provider, settings.PROVIDER_CONCURRENCY_DEFAULT)


def _redis_url() -> str:
    if settings.BROKER_URL.startswith("redis"):
        return settings.BROKER_URL
    return settings.SCHEDULER_REDIS_URL  # RabbitMQ deployments may still have a Redis for locks


class RedisSlots:
    def __init__(self, url: str):
        self.client = redis.Redis.from_url(url)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._renew = self.client.register_script(_RENEW)

    def acquire(self, provider: str, holder: str, seconds: float) -> bool:
        return bool(self._acquire(keys=[_key(provider)], args=[holder, int(seconds * 1000), limit(provider)]))

    def renew(self, provider: str, holder: str, seconds: float) -> bool:
        return bool(self._renew(keys=[_key(provider)], args=[holder, int(seconds * 1000)]))

    def release(self, provider: str, holder: str) -> None:
        self.client.zrem(_key(provider), holder)

    def holders(self, provider: str) -> int:
        """Live leases now (for tests and the admin)."""
        return self.client.zcount(_key(provider), f"({int(time.time() * 1000)}", "+inf")


class LocalSlots:
    """The same leases for one process (the embedded mode): its workers die with it."""

    def __init__(self):
        self._lock = threading.Lock()
        self._leases: dict[str, dict[str, float]] = {}

    def _live(self, provider: str) -> dict[str, float]:
        now = time.monotonic()
        leases = self._leases.setdefault(provider, {})
        for holder in [h for h, expiry in leases.items() if expiry <= now]:
            del leases[holder]
        return leases

    def acquire(self, provider: str, holder: str, seconds: float) -> bool:
        with self._lock:
            leases = self._live(provider)
            if len(leases) >= limit(provider):
                return False
            leases[holder] = time.monotonic() + seconds
            return True

    def renew(self, provider: str, holder: str, seconds: float) -> bool:
        with self._lock:
            leases = self._live(provider)
            if holder not in leases:
                return False
            leases[holder] = time.monotonic() + seconds
            return True

    def release(self, provider: str, holder: str) -> None:
        with self._lock:
            self._leases.get(provider, {}).pop(holder, None)

    def holders(self, provider: str) -> int:
        with self._lock:
            return len(self._live(provider))


def _key(provider: str) -> str:
    return f"studio:provider-slots:{provider}"


@cache
def slots() -> RedisSlots | LocalSlots:
    url = _redis_url()
    return RedisSlots(url) if url else LocalSlots()


# How often a submit that found every slot taken looks again while it waits in its thread.
_LOOK_EVERY_SECONDS = 0.02


def acquire_within(provider: str, holder: str, seconds: float, *, patience: float) -> bool:
    """Take one of the provider's slots, looking again for up to `patience` seconds: a request
    that holds a slot only for a short call (an asynchronous submit) frees it within moments,
    and waiting here is far cheaper than sending the job back to the queue to try later."""
    deadline = time.monotonic() + patience
    while not slots().acquire(provider, holder, seconds):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_LOOK_EVERY_SECONDS)
    return True
