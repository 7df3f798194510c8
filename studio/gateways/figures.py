"""How each gateway and model has been doing, from the studio's own records: every submission's
answer (GatewayAttempt) and, for accepted ones, how the job ended (its Generation).

- submissions, accepted, failed by kind (refusals and lost answers by their error kind, and
  accepted jobs that then failed by theirs);
- median and p95 time from submit to ready;
- the last error and its time;
- counts per bucket for the charts (5 minutes over the last hour, an hour over the last day).

Routing reads `seconds_to_ready` to put the faster first among equally preferred gateways.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from studio.models import GatewayAttempt, Generation

S = Generation.State
Outcome = GatewayAttempt.Outcome
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
SPEED_CACHE_SECONDS = 60
MIN_SAMPLES_FOR_THE_HOUR = 3  # fewer finishes in the last hour: the day's median decides


@dataclass(frozen=True)
class Window:
    name: str  # "hour" | "day"
    span: timedelta
    bucket: timedelta

    @property
    def buckets(self) -> int:
        return int(self.span / self.bucket)


WINDOWS = (Window("hour", HOUR, timedelta(minutes=5)), Window("day", DAY, timedelta(hours=1)))


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (0–100), interpolated between the nearest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


@dataclass
class Figures:
    """One gateway and model (or a whole gateway) over one window."""

    submissions: int = 0
    accepted: int = 0
    failed: Counter = field(default_factory=Counter)  # error kind → jobs
    ready_seconds: list[float] = field(default_factory=list)
    last_error: tuple[datetime, str, str] | None = None  # when, kind, the provider's words
    submitted_per_bucket: list[int] = field(default_factory=list)
    failed_per_bucket: list[int] = field(default_factory=list)

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def median_seconds(self) -> float | None:
        return statistics.median(self.ready_seconds) if self.ready_seconds else None

    @property
    def p95_seconds(self) -> float | None:
        return percentile(self.ready_seconds, 95)

    def note_error(self, at: datetime, kind: str, error: str) -> None:
        if self.last_error is None or at > self.last_error[0]:
            self.last_error = (at, kind, error)


def _rows(since: datetime):
    return (
        GatewayAttempt.objects.filter(sent_at__gte=since)
        .order_by()
        .values_list(
            "gateway", "model_key", "sent_at", "outcome", "error_kind", "error",
            "generation__state", "generation__finished_at", "generation__error_kind", "generation__error",
        )  # fmt: skip
        .iterator(chunk_size=2000)
    )


def gateway_figures(now: datetime | None = None) -> dict[tuple[str, str], dict[str, Figures]]:
    """(gateway, model key) → window name → figures; ("gateway", "") holds the gateway's totals."""
    now = now or timezone.now()
    figures: dict[tuple[str, str], dict[str, Figures]] = defaultdict(lambda: {w.name: empty(w) for w in WINDOWS})
    for gateway, model_key, sent_at, outcome, kind, error, state, finished_at, gen_kind, gen_error in _rows(now - DAY):
        for window in WINDOWS:
            if sent_at < now - window.span:
                continue
            bucket = min(int((now - sent_at) / window.bucket), window.buckets - 1)
            for key in ((gateway, model_key), (gateway, "")):
                f = figures[key][window.name]
                f.submissions += 1
                f.submitted_per_bucket[window.buckets - 1 - bucket] += 1
                failed_kind, failed_at, failed_error = _failure(
                    outcome, kind, error, sent_at, state, finished_at, gen_kind, gen_error
                )
                if outcome == Outcome.ACCEPTED:
                    f.accepted += 1
                    if state == S.SUCCEEDED and finished_at:
                        f.ready_seconds.append((finished_at - sent_at).total_seconds())
                if failed_kind:
                    f.failed[failed_kind] += 1
                    f.failed_per_bucket[window.buckets - 1 - bucket] += 1
                    f.note_error(failed_at, failed_kind, failed_error)
    return dict(figures)


def empty(window: Window) -> Figures:
    return Figures(submitted_per_bucket=[0] * window.buckets, failed_per_bucket=[0] * window.buckets)


def _failure(outcome, kind, error, sent_at, state, finished_at, gen_kind, gen_error) -> tuple[str, datetime, str]:
    """How this submission failed (its kind, when, the words), or ("", ...) when it did not."""
    if outcome != Outcome.ACCEPTED:
        return kind or outcome, sent_at, error
    if state == S.FAILED:
        return gen_kind or "failed", finished_at or sent_at, gen_error
    return "", sent_at, ""


def seconds_to_ready(gateway: str, model_key: str) -> float | None:
    """The median time from submit to ready of the gateway's jobs of this model: over the last
    hour, or the last day when the hour has too few; None when none finished. Cached a minute."""
    key = f"studio:seconds-to-ready:{gateway}:{model_key}"
    cached = cache.get(key)
    if cached is not None:
        return cached or None  # 0.0 stands for "no figure"
    now = timezone.now()
    finishes = list(
        GatewayAttempt.objects.filter(
            gateway=gateway, model_key=model_key, outcome=Outcome.ACCEPTED, sent_at__gte=now - DAY,
            generation__state=S.SUCCEEDED, generation__finished_at__isnull=False,
        )
        .order_by()
        .values_list("sent_at", "generation__finished_at")
    )  # fmt: skip
    hour = [(done - sent).total_seconds() for sent, done in finishes if sent >= now - HOUR]
    day = [(done - sent).total_seconds() for sent, done in finishes]
    chosen = hour if len(hour) >= MIN_SAMPLES_FOR_THE_HOUR else day
    value = statistics.median(chosen) if chosen else None
    cache.set(key, value or 0.0, SPEED_CACHE_SECONDS)
    return value
