"""When to ask a provider again about a job that has no callback.

A blind backoff trails a finished job by up to a third of its age. Each worker process instead
learns how long a model's jobs usually take: the lower quartile of when its recent checks found
them finished. It asks first a little before that (FIRST_FRACTION), then every tenth of it (never
more often than half of POLL_FIRST_DELAY); past one and a half times the usual, a fifth of the
job's age. Checking before the usual moment is what lets the estimate come down again when jobs
get quicker: a check only ever sees a job finished after it did. Until a model has a history,
the backoff of POLL_FIRST_DELAY growing by half each time applies.

It also remembers how late jobs were last seen still running (the upper quartile). When that is
earlier than the usual finish, the finish lies between the two, and the checks narrow in on it:
one halfway, one at the usual moment. Each job found finished at the halfway check, or still
running there, tightens the bracket for the next; with steady durations a finished job is seen
within a small share of a second, for one or two calls more at most.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime

from django.conf import settings
from django.utils import timezone

SAMPLE = 20  # recent durations kept per model
MIN_SAMPLES = 3
FIRST_FRACTION = 0.8  # of the usual duration, for the first check
STEP_FRACTION = 0.1  # of the usual duration, between checks around it
OVERDUE_AFTER = 1.5  # times the usual duration: from then on
OVERDUE_FRACTION = 0.2  # wait this share of the job's age between checks
AIM_FLOOR = 0.1  # seconds: the shortest wait before a check aimed inside the bracket
# With a callback expected, the safety-net check comes this long after the usual finish:
# a share of the usual duration, and at least a second.
CALLBACK_MARGIN_FRACTION = 0.25
CALLBACK_MARGIN_MIN = 1.0

_durations: dict[str, deque[float]] = {}
_running: dict[str, deque[float]] = {}  # ages jobs were last seen still running at
_lock = threading.Lock()


def learn(model_key: str, submitted_at: datetime | None, *, still_running_at: float | None = None) -> None:
    """A status check found the job finished: remember how long it took, and how late the check
    before it (if any) saw it still running."""
    if submitted_at is None:
        return
    seconds = age_of(submitted_at)
    if seconds > 0:
        with _lock:
            _durations.setdefault(model_key, deque(maxlen=SAMPLE)).append(seconds)
            if still_running_at is not None and 0 < still_running_at < seconds:
                _running.setdefault(model_key, deque(maxlen=SAMPLE)).append(still_running_at)


def age_of(submitted_at: datetime) -> float:
    return (timezone.now() - submitted_at).total_seconds()


def typical_seconds(model_key: str) -> float | None:
    with _lock:
        seen = list(_durations.get(model_key, ()))
    return sorted(seen)[len(seen) // 4] if len(seen) >= MIN_SAMPLES else None


def still_running_seconds(model_key: str) -> float | None:
    with _lock:
        seen = list(_running.get(model_key, ()))
    return sorted(seen)[(3 * len(seen)) // 4] if len(seen) >= MIN_SAMPLES else None


def forget() -> None:
    with _lock:
        _durations.clear()
        _running.clear()


def _min_delay() -> float:
    return settings.POLL_FIRST_DELAY / 2


def first_delay(model_key: str) -> float:
    typical = typical_seconds(model_key)
    if typical is None:
        return settings.POLL_FIRST_DELAY
    return min(max(typical * FIRST_FRACTION, _min_delay()), settings.POLL_MAX_DELAY)


def first_check(model_key: str, *, with_callback: bool) -> tuple[float, float | None]:
    """When to ask first about a job just accepted, and when news of it is due (seconds).

    Without a callback: the first check of the polling schedule. With one, a single safety-net
    check a little after the model's usual finish (a callback can be lost, and some failures send
    none), or POLL_FIRST_DELAY_WITH_CALLBACK until the model has a history; news is due at the
    usual finish."""
    if not with_callback:
        delay = first_delay(model_key)
        return delay, delay
    typical = typical_seconds(model_key)
    if typical is None:
        return settings.POLL_FIRST_DELAY_WITH_CALLBACK, None
    return typical + max(typical * CALLBACK_MARGIN_FRACTION, CALLBACK_MARGIN_MIN), typical


def next_delay(model_key: str, submitted_at: datetime | None, checks_done: int) -> float:
    """The wait after the `checks_done`-th check found the job still unfinished."""
    typical = typical_seconds(model_key)
    if typical is None or submitted_at is None:
        return min(settings.POLL_FIRST_DELAY * 1.5**checks_done, settings.POLL_MAX_DELAY)
    age = age_of(submitted_at)
    aim = _aim(model_key, age, typical)
    if aim is not None:
        return max(aim - age, AIM_FLOOR)
    if age < typical * OVERDUE_AFTER:
        return min(max(typical * STEP_FRACTION, _min_delay()), settings.POLL_MAX_DELAY)
    return min(max(age * OVERDUE_FRACTION, _min_delay()), settings.POLL_MAX_DELAY)


def _aim(model_key: str, age: float, typical: float) -> float | None:
    """Inside the bracket [still seen running, usually found finished]: its middle, then its end."""
    running = still_running_seconds(model_key)
    if running is None or running >= typical or age >= typical:
        return None
    middle = (running + typical) / 2
    return middle if age < middle - AIM_FLOOR else typical
