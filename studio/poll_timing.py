"""When to ask a provider again about a job that has no callback.

A blind backoff trails a finished job by up to a third of its age. Each worker process instead
learns how long a model's jobs usually take (the lower quartile of the last few it saw finish:
a check only sees a job finished after it did, so a low figure keeps the estimate from creeping
up) and asks first at about that moment, then again after a fifth of the job's age (never
sooner than half of POLL_FIRST_DELAY), so a job is seen finished soon after it is, in few
status calls. Until a model has a history, the backoff of POLL_FIRST_DELAY growing by half
each time applies.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime

from django.conf import settings
from django.utils import timezone

SAMPLE = 20  # recent durations kept per model
MIN_SAMPLES = 3
OVERDUE_FRACTION = 0.2  # once overdue, wait this share of the job's age between checks

_durations: dict[str, deque[float]] = {}
_lock = threading.Lock()


def learn(model_key: str, submitted_at: datetime | None) -> None:
    """A status check found the job finished: remember how long it took."""
    if submitted_at is None:
        return
    seconds = (timezone.now() - submitted_at).total_seconds()
    if seconds > 0:
        with _lock:
            _durations.setdefault(model_key, deque(maxlen=SAMPLE)).append(seconds)


def typical_seconds(model_key: str) -> float | None:
    with _lock:
        seen = list(_durations.get(model_key, ()))
    return sorted(seen)[len(seen) // 4] if len(seen) >= MIN_SAMPLES else None


def forget() -> None:
    with _lock:
        _durations.clear()


def _min_delay() -> float:
    return settings.POLL_FIRST_DELAY / 2


def first_delay(model_key: str) -> float:
    typical = typical_seconds(model_key)
    if typical is None:
        return settings.POLL_FIRST_DELAY
    return min(max(typical, _min_delay()), settings.POLL_MAX_DELAY)


def next_delay(model_key: str, submitted_at: datetime | None, checks_done: int) -> float:
    """The wait after the `checks_done`-th check found the job still unfinished."""
    typical = typical_seconds(model_key)
    if typical is None or submitted_at is None:
        return min(settings.POLL_FIRST_DELAY * 1.5**checks_done, settings.POLL_MAX_DELAY)
    age = (timezone.now() - submitted_at).total_seconds()
    if age < typical:
        return max(typical - age, _min_delay())
    return min(max(age * OVERDUE_FRACTION, _min_delay()), settings.POLL_MAX_DELAY)
