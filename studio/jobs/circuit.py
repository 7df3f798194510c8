"""A circuit breaker per gateway, shared by every worker through the database (the one store the
studio has in every mode, the embedded one included).

- Proven (it accepted a job since its last refusal): free to use.
- Not proven (never used, or it refused the last few jobs): jobs try it as trials, at most
  CIRCUIT_REFUSALS minus its refusals so far at once, so however many workers send at the same
  moment, no more jobs pay a failed attempt than the threshold before the circuit opens. Jobs
  that find every trial taken pass it over for the next gateway, unless it was never used: then
  they wait a moment for the first answers (a fresh deployment keeps its preferred gateway).
- Open (CIRCUIT_REFUSALS refusals in a row): skipped for CIRCUIT_COOLDOWN_SECONDS; then one
  probe job decides: accepted closes it (proven), refused opens it again.

A trial is held by the job's id until the answer comes (or its lease runs out: a worker that
died mid-call frees it). Every submission's answer is recorded, whoever sent it; only routed
jobs ask before sending.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from studio.models import GatewayCircuit
from studio.prepared_statements import prepared_cursor


class Verdict(StrEnum):
    FREE = "free"  # proven: send
    TRIAL = "trial"  # not proven: send, as one of its trials
    BUSY = "busy"  # not proven, it refused lately, and its trials are all in flight: pass it over
    WAIT = "wait"  # never used yet and its first trials are in flight: wait for their answer
    OPEN = "open"  # cooling down after refusals: skip it


def threshold() -> int:
    return max(1, settings.CIRCUIT_REFUSALS)


def cooldown() -> timedelta:
    return timedelta(seconds=settings.CIRCUIT_COOLDOWN_SECONDS)


def _locked(gateway: str) -> GatewayCircuit:
    """The gateway's row, locked until the transaction ends (created on first use)."""
    row = GatewayCircuit.objects.select_for_update().filter(gateway=gateway).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            GatewayCircuit.objects.create(gateway=gateway)
    except IntegrityError:
        pass  # another worker created it first
    return GatewayCircuit.objects.select_for_update().get(gateway=gateway)


def _live_trials(row: GatewayCircuit) -> dict[str, float]:
    now = time.time()
    return {holder: until for holder, until in row.trials.items() if until > now}


def _proven(gateway: str, *, without_trial_of: int | None = None) -> bool:
    """Without a lock: the common case, a gateway that is taking jobs, needs no write (nor, for
    an answer, does a job that held no trial there). One plain read: every submit passes here
    twice, and the ORM took several times the database's time to build the query."""
    connection = connections[router.db_for_read(GatewayCircuit)]
    q = connection.ops.quote_name
    with prepared_cursor(connection) as cursor:
        cursor.execute(
            f"SELECT {q('trials')} FROM {q(GatewayCircuit._meta.db_table)} WHERE {q('gateway')} = %s "
            f"AND {q('proven')} AND {q('refusals')} = 0 AND {q('opened_at')} IS NULL",
            [gateway],
        )
        row = cursor.fetchone()
    if row is None:
        return False
    if without_trial_of is None:
        return True
    trials = GatewayCircuit._meta.get_field("trials").from_db_value(row[0], None, connection)
    return str(without_trial_of) not in (trials or {})


def claim(gateway: str, *, holder: int, lease_seconds: float) -> Verdict:
    """May job `holder` be sent to `gateway` now? A TRIAL answer holds one of its trials."""
    if _proven(gateway):
        return Verdict.FREE
    with transaction.atomic():
        row = _locked(gateway)
        now = timezone.now()
        if row.opened_at and now < row.opened_at + cooldown():
            return Verdict.OPEN
        if row.proven:
            return Verdict.FREE
        trials = _live_trials(row)
        allowed = 1 if row.opened_at else threshold() - row.refusals  # after a cool-down: one probe
        if str(holder) not in trials and len(trials) >= allowed:
            return Verdict.BUSY if row.refusals or row.opened_at else Verdict.WAIT
        trials[str(holder)] = time.time() + lease_seconds
        GatewayCircuit.objects.filter(pk=row.pk).update(trials=trials, updated_at=now)
        return Verdict.TRIAL


def record(gateway: str, *, holder: int, accepted: bool | None) -> None:
    """The gateway's answer to job `holder`: accepted (True), refused (False), or neither (None:
    the request was wrong, or the answer was lost): that says nothing of the gateway's health."""
    if accepted is not False and _proven(gateway, without_trial_of=holder):
        return  # nothing to change: it was taking jobs and this job held no trial
    with transaction.atomic():
        row = _locked(gateway)
        now = timezone.now()
        trials = _live_trials(row)
        trials.pop(str(holder), None)
        fields = {"trials": trials, "updated_at": now}
        if accepted is True:
            fields.update(refusals=0, proven=True, opened_at=None)
        elif accepted is False:
            refusals = row.refusals + 1
            fields.update(refusals=refusals, proven=False)
            if row.opened_at or refusals >= threshold():  # a failed probe opens it again
                fields["opened_at"] = now
        GatewayCircuit.objects.filter(pk=row.pk).update(**fields)


@dataclass(frozen=True)
class State:
    """A circuit as the health page shows it."""

    gateway: str
    refusals: int = 0
    proven: bool = False
    opened_at: datetime | None = None

    @property
    def resting_until(self) -> datetime | None:
        return self.opened_at + cooldown() if self.opened_at else None

    @property
    def words(self) -> str:
        if self.opened_at:
            if timezone.now() < self.resting_until:
                return f"open: skipped after {self.refusals} refusals in a row"
            return "half open: the next job is a probe"
        if self.proven:
            return "closed: taking jobs"
        if self.refusals:
            return f"closed: refused the last {self.refusals} (opens at {threshold()})"
        return "closed: no job sent yet"


def states() -> dict[str, State]:
    return {
        row.gateway: State(row.gateway, row.refusals, row.proven, row.opened_at)
        for row in GatewayCircuit.objects.all()
    }
