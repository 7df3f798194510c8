"""What a job will cost before it starts, in the studio's currency.

A model with a set price (its provider reports nothing) costs that price. Otherwise the figure is
learnt from the model's recent jobs whose cost was reported: what they cost per unit of their
billed length (seconds of audio asked for, characters of text, steps: the catalog's
`billed_length`), among those of similar length when there are any, times this job's length. A
model none of whose jobs has a reported cost yet cannot be estimated: its cost is unknown.

Like the polling durations (jobs/poll_timing.py), what is learnt is kept in each process: read
from the database at most once a minute per model (the process that records a report learns it at
once), so an estimate usually costs no query at all.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from studio.catalog import BY_KEY
from studio.models import Generation, SpendBasis
from studio.spend import rates

if TYPE_CHECKING:  # the rules ask for estimates: typing their request must not import them
    from studio.rules import StartRequest

SAMPLES = 50  # recent reported jobs an estimate is learnt from, per model
REFRESH_SECONDS = 60.0  # how old what a process learnt from the database may get
SIMILAR = 1.5  # a length within this factor of the job's, either way, is similar

_learnt: dict[str, tuple[float, list[tuple[float | None, Decimal]]]] = {}  # model → (read at, [(length, cost)])
_lock = threading.Lock()


@dataclass(frozen=True)
class JobEstimate:
    """What one job will cost: `amount` in the studio's currency (None: unknown), `basis` says how
    it is known (SpendBasis.PRICE or ESTIMATE), `samples` how many jobs it was learnt from."""

    model_key: str
    amount: Decimal | None
    basis: str = SpendBasis.UNKNOWN
    samples: int = 0


@dataclass(frozen=True)
class Estimate:
    """What a set of jobs about to start will cost, counted together."""

    jobs: tuple[JobEstimate, ...]

    @property
    def total(self) -> Decimal:
        """The known part (add `unknown` jobs to it in words)."""
        return sum((job.amount for job in self.jobs if job.amount is not None), Decimal(0))

    @property
    def unknown(self) -> int:
        return sum(1 for job in self.jobs if job.amount is None)

    @property
    def is_estimate(self) -> bool:
        """Some of it is learnt rather than a set price."""
        return any(job.basis == SpendBasis.ESTIMATE for job in self.jobs)


def estimate(requests: Sequence[StartRequest]) -> Estimate:
    """What these jobs will cost, each from its model and parameters."""
    return Estimate(tuple(job_estimate(request.model_key, request.params) for request in requests))


def job_estimate(model_key: str, params: dict) -> JobEstimate:
    price = rates.set_price(model_key)
    if price is not None:
        return JobEstimate(model_key, price, SpendBasis.PRICE)
    samples = _samples(model_key)
    amount = _learnt_amount(samples, billed_length(model_key, params))
    if amount is None:
        return JobEstimate(model_key, None, SpendBasis.UNKNOWN)
    return JobEstimate(model_key, amount.quantize(rates.PLACES), SpendBasis.ESTIMATE, len(samples))


def billed_length(model_key: str, params: dict) -> float | None:
    model = BY_KEY.get(model_key)
    if model is None or model.billed_length is None:
        return None
    return model.billed_length(params or {})


def learn(model_key: str, params: dict, cost: Decimal) -> None:
    """A job's reported cost, learnt at once by this process (the others read it within a minute)."""
    with _lock:
        read_at, samples = _learnt.get(model_key, (0.0, []))
        if samples or read_at:
            _learnt[model_key] = (read_at, [(billed_length(model_key, params), cost), *samples][:SAMPLES])


def forget() -> None:
    with _lock:
        _learnt.clear()


def _samples(model_key: str) -> list[tuple[float | None, Decimal]]:
    with _lock:
        read_at, samples = _learnt.get(model_key, (0.0, []))
    if read_at and time.monotonic() - read_at < REFRESH_SECONDS:
        return samples
    rows = (
        Generation.objects.filter(model_key=model_key, spend_basis=SpendBasis.REPORTED)
        .order_by("-pk")
        .values_list("params", "spend")[:SAMPLES]
    )
    samples = [(billed_length(model_key, params), spend) for params, spend in rows]
    with _lock:
        _learnt[model_key] = (time.monotonic(), samples)
    return samples


def _learnt_amount(samples: list[tuple[float | None, Decimal]], length: float | None) -> Decimal | None:
    """The median cost per unit of length among jobs of similar length (or among all, when none
    is similar), times `length`; the median cost when lengths do not apply."""
    if not samples:
        return None
    per_unit = [(known, cost / Decimal(str(known))) for known, cost in samples if known]
    if length is None or length <= 0 or not per_unit:
        return statistics.median(cost for _, cost in samples)
    similar = [rate for known, rate in per_unit if length / SIMILAR <= known <= length * SIMILAR]
    return statistics.median(similar or [rate for _, rate in per_unit]) * Decimal(str(length))
