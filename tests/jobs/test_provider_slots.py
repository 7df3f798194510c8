"""Provider slots are leases: a holder that dies frees its slot when the lease runs out, whatever
the traffic; a live holder keeps it by renewing. Both stores, the in-process one and Redis (when
one answers; CI has one)."""

import os
import time
import uuid

import pytest

from studio.jobs import provider_slots


def redis_url() -> str:
    configured = os.environ.get("BROKER_URL", "")
    return configured if configured.startswith("redis") else "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["local", "redis"])
def store(request):
    if request.param == "local":
        return provider_slots.LocalSlots()
    import redis

    try:
        redis.Redis.from_url(redis_url(), socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("INTEGRATION_REQUIRED") == "true":
            raise
        pytest.skip("no Redis answers")
    return provider_slots.RedisSlots(redis_url())


@pytest.fixture
def provider(settings):
    name = f"test-{uuid.uuid4().hex[:8]}"  # a fresh set of slots in the shared Redis
    settings.PROVIDER_CONCURRENCY = {**settings.PROVIDER_CONCURRENCY, name: 2}
    return name


def test_holders_beyond_the_limit_wait_and_a_release_lets_the_next_in(store, provider):
    assert store.acquire(provider, "a", 30) and store.acquire(provider, "b", 30)
    assert not store.acquire(provider, "c", 30)
    store.release(provider, "a")
    assert store.acquire(provider, "c", 30)
    assert store.holders(provider) == 2


def test_a_dead_holders_slot_frees_itself_when_its_lease_runs_out_whatever_the_traffic(store, provider):
    assert store.acquire(provider, "dead", 0.4) and store.acquire(provider, "busy", 30)
    for _ in range(5):  # traffic meanwhile does not keep the dead holder's lease alive
        assert not store.acquire(provider, "waiting", 30)
        time.sleep(0.02)
    time.sleep(0.5)
    assert store.acquire(provider, "waiting", 30)


def test_a_live_holder_keeps_its_slot_by_renewing(store, provider):
    assert store.acquire(provider, "long-call", 0.4)
    assert store.acquire(provider, "other", 30)
    for _ in range(4):
        time.sleep(0.2)
        assert store.renew(provider, "long-call", 0.4)
    assert not store.acquire(provider, "waiting", 30)


def test_an_expired_lease_is_not_revived_by_a_late_renewal(store, provider):
    assert store.acquire(provider, "late", 0.2)
    time.sleep(0.3)
    assert not store.renew(provider, "late", 30)
    assert store.holders(provider) == 0


def test_a_submit_waits_in_its_thread_for_a_slot_freed_moments_later_and_not_past_its_patience(store, provider, monkeypatch):
    import threading

    monkeypatch.setattr(provider_slots, "slots", lambda: store)
    assert store.acquire(provider, "a", 5) and store.acquire(provider, "b", 5)
    threading.Timer(0.1, store.release, args=(provider, "a")).start()
    assert provider_slots.acquire_within(provider, "c", 5, patience=30.0)  # "a" let go meanwhile
    assert not provider_slots.acquire_within(provider, "d", 5, patience=0.2)  # both taken again: it gives up
