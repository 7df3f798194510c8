"""Leases on jobs: a worker thread in a long step (a provider call, a download) names itself on
the job and holds it until an expiry a little past the call's own timeout, renewing it while the
call streams. A live lease tells every other path (the sweep, a repeated message) "busy, leave it";
only an expired one means its holder died."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from studio.jobs.provider_slots import slots
from studio.models import Generation

RENEW_EVERY_SECONDS = 5.0  # at most this often, so a fast stream does not write per chunk


def new_holder() -> str:
    return uuid.uuid4().hex


def call_seconds(adapter) -> float:
    """The longest one call to this adapter may take without an answer (its read timeout)."""
    timeout = adapter.client.timeout
    return float(timeout.read or adapter.timeout)


def lease_seconds(adapter) -> float:
    return call_seconds(adapter) + settings.LEASE_MARGIN_SECONDS


def download_lease_seconds() -> float:
    return settings.DOWNLOAD_READ_TIMEOUT_SECONDS + settings.LEASE_MARGIN_SECONDS


def expiry(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def claim(generation_id: int, *, state: str, holder: str, seconds: float) -> bool:
    """Hold a job in `state` that nobody holds (or whose holder's lease ran out)."""
    now = timezone.now()
    return bool(
        Generation.objects.filter(pk=generation_id, state=state)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .update(lease_holder=holder, lease_expires_at=now + timedelta(seconds=seconds), updated_at=now)
    )


def release(generation_id: int, holder: str) -> None:
    Generation.objects.filter(pk=generation_id, lease_holder=holder).update(lease_holder="", lease_expires_at=None)


def is_live(gen: Generation) -> bool:
    return gen.lease_expires_at is not None and gen.lease_expires_at > timezone.now()


class KeepAlive:
    """Renews a job's lease, and the provider slot its call holds, while a call streams."""

    def __init__(self, generation_id: int, holder: str, seconds: float, *, slot_provider: str = ""):
        self.generation_id, self.holder, self.seconds = generation_id, holder, seconds
        self.slot_provider = slot_provider
        self._last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self._last < min(RENEW_EVERY_SECONDS, self.seconds / 4):
            return
        self._last = time.monotonic()
        Generation.objects.filter(pk=self.generation_id, lease_holder=self.holder).update(
            lease_expires_at=expiry(self.seconds)
        )
        if self.slot_provider:
            slots().renew(self.slot_provider, self.holder, self.seconds)

    def around(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self()
            yield chunk
