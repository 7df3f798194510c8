"""The circuit breaker per gateway: opens after N refusals in a row, lets only as many jobs try a
gateway it has not proven as may still fail before it opens, and after a cool-down lets one probe
decide."""

from datetime import timedelta

import pytest
from django.utils import timezone

from studio.jobs import circuit
from studio.jobs.circuit import Verdict
from studio.models import GatewayCircuit

pytestmark = pytest.mark.django_db
LEASE = 60.0


@pytest.fixture(autouse=True)
def three_refusals(settings):
    settings.CIRCUIT_REFUSALS = 3
    settings.CIRCUIT_COOLDOWN_SECONDS = 60


def claim(holder: int) -> Verdict:
    return circuit.claim("pixazo", holder=holder, lease_seconds=LEASE)


def test_a_gateway_never_used_lets_as_many_trials_as_the_threshold_then_asks_to_wait():
    assert [claim(n) for n in range(1, 5)] == [Verdict.TRIAL, Verdict.TRIAL, Verdict.TRIAL, Verdict.WAIT]
    assert claim(2) is Verdict.TRIAL  # a job holding a trial keeps it


def test_an_accepted_job_proves_the_gateway_and_frees_it_for_everyone():
    assert claim(1) is Verdict.TRIAL
    circuit.record("pixazo", holder=1, accepted=True)
    assert [claim(n) for n in range(2, 12)] == [Verdict.FREE] * 10


def test_it_opens_after_n_refusals_in_a_row_and_no_more_jobs_pay_than_n():
    paid = 0
    for holder in range(1, 10):
        if claim(holder) in (Verdict.TRIAL, Verdict.FREE):
            paid += 1
            circuit.record("pixazo", holder=holder, accepted=False)
    assert paid == 3
    assert claim(99) is Verdict.OPEN
    assert "open" in circuit.states()["pixazo"].words


def test_concurrent_trials_never_exceed_what_may_still_fail():
    assert [claim(n) for n in (1, 2, 3)] == [Verdict.TRIAL] * 3
    circuit.record("pixazo", holder=1, accepted=False)  # one refusal: two more may fail
    assert claim(4) is Verdict.BUSY  # two trials still in flight: pass it over
    circuit.record("pixazo", holder=2, accepted=False)
    circuit.record("pixazo", holder=3, accepted=False)
    assert claim(4) is Verdict.OPEN


def test_after_the_cooldown_one_probe_decides():
    for holder in (1, 2, 3):
        claim(holder)
        circuit.record("pixazo", holder=holder, accepted=False)
    GatewayCircuit.objects.filter(gateway="pixazo").update(opened_at=timezone.now() - timedelta(seconds=61))
    assert claim(10) is Verdict.TRIAL  # the probe
    assert claim(11) is Verdict.BUSY
    circuit.record("pixazo", holder=10, accepted=False)  # the probe was refused: open again
    assert claim(12) is Verdict.OPEN
    GatewayCircuit.objects.filter(gateway="pixazo").update(opened_at=timezone.now() - timedelta(seconds=61))
    assert claim(13) is Verdict.TRIAL
    circuit.record("pixazo", holder=13, accepted=True)
    assert claim(14) is Verdict.FREE
    assert circuit.states()["pixazo"].words == "closed: taking jobs"


def test_a_lost_answer_frees_the_trial_without_counting_for_or_against():
    assert [claim(n) for n in (1, 2, 3)] == [Verdict.TRIAL] * 3
    circuit.record("pixazo", holder=1, accepted=None)
    assert claim(4) is Verdict.TRIAL
    assert circuit.states()["pixazo"].refusals == 0


def test_a_trial_whose_worker_died_runs_out():
    for holder in (1, 2, 3):
        circuit.claim("pixazo", holder=holder, lease_seconds=-1)  # expired at once
    assert claim(4) is Verdict.TRIAL


def test_one_refusal_after_being_proven_takes_the_proof_away():
    claim(1)
    circuit.record("pixazo", holder=1, accepted=True)
    circuit.record("pixazo", holder=2, accepted=False)
    assert claim(3) is Verdict.TRIAL
    assert "refused the last 1" in circuit.states()["pixazo"].words
