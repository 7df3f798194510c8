"""Routing: a model several gateways sell ("Eleven Music (any gateway)") goes to whichever works.

- Order. The project owner's ranks, else the deployment's ROUTING_ORDER; among equally
  preferred gateways the faster goes first (median submit → ready over the last hour, else
  the last day: studio/gateways/figures.py). A gateway without a key is never used.
- Failover only when the studio knows the gateway did not take the job (`fails_over`, the
  decision table): refused before the request was sent, 429, a 5xx answer (no job id), or
  401/402/403. An answer lost after sending (a timeout, an unreadable answer) may mean the job
  runs and is billed there: it follows the "may have been accepted" path, never another gateway.
- Circuit breaker (circuit.py): a gateway that refused several jobs in a row is passed over for
  a cool-down; while it is not proven, only a few jobs at a time try it.
- Facts on the job: `gateway` (who serves it), `gateway_reason` (why: a code below) and
  `gateways_passed` (who refused it or was passed over, and why). The card's words for them
  are in cards.py.

Every submission's answer, routed or not, is recorded here (a GatewayAttempt row and the
gateway's circuit): the health page and each track's provenance read them.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core import checks
from django.utils import timezone

from providers.base import ProviderError
from studio.catalog import BY_KEY, CatalogModel, provider_configured
from studio.catalog.any_gateway import served_by
from studio.errors import ErrorKind, error_kind
from studio.gateways.figures import seconds_to_ready
from studio.jobs import circuit, leases
from studio.jobs.adapters import get_adapter
from studio.jobs.transitions import move
from studio.models import GatewayAttempt, Generation, Project

S = Generation.State
Outcome = GatewayAttempt.Outcome

# Why a job went to its gateway (Generation.gateway_reason).
PREFERRED = "preferred"  # the first by rank
FASTER = "faster"  # the faster of equally preferred gateways
NEXT = "next"  # those before it refused the job or were passed over (gateways_passed)
ASKED = "asked"  # the user asked for it ("Try on <gateway>")

# Why a gateway was passed over (gateways_passed[].why): the refusal's ErrorKind value, or one of:
CIRCUIT_OPEN = "circuit"  # it refused several jobs in a row and is cooling down
BUSY = "busy"  # not proven, and as many jobs as may try it at once were trying it

# The decision table: the kinds of error that mean "the gateway did not take it", when the
# request is known not to have been taken (a lost answer after sending never fails over).
FAILOVER_KINDS = frozenset(
    {ErrorKind.UNAVAILABLE, ErrorKind.RATE_LIMITED, ErrorKind.AUTH, ErrorKind.CREDIT, ErrorKind.TIMEOUT}
)
# A job no gateway may take yet looks again after WAIT_SECONDS (a trial answers in moments), then
# twice as long at each look up to WAIT_CAP_SECONDS: a long trial (a render) or every gateway
# cooling down would otherwise have each waiting job send a message and read the circuits four
# times a second. Spread by job, so waiting jobs do not all look at once.
WAIT_SECONDS = 0.25
WAIT_CAP_SECONDS = 4.0


def wait_seconds(gen: Generation, turn: int) -> float:
    """How long a routed job waits for a gateway before its next look; `turn`: its submit turn,
    which each look takes one of."""
    return min(WAIT_SECONDS * 2 ** min(turn, 8), WAIT_CAP_SECONDS) * (1 + (gen.pk % 5) / 10)


def fails_over(kind: ErrorKind, maybe_accepted: bool) -> bool:
    """Whether a submit that failed this way goes to the next gateway. TIMEOUT without
    maybe_accepted is a connect (or pool) timeout: the request never left."""
    return not maybe_accepted and kind in FAILOVER_KINDS


def _fails_over(exc: ProviderError) -> bool:
    return fails_over(error_kind(exc), bool(getattr(exc, "maybe_accepted", False)))


# --- Which gateways, in which order --------------------------------------------------------


def is_routed(gen: Generation) -> bool:
    model = BY_KEY.get(gen.model_key)
    return bool(model and model.gateway_models)


def gateway_models(model: CatalogModel) -> dict[str, str]:
    """Gateway key → the catalog entry it serves the routed model with."""
    return {BY_KEY[key].provider: key for key in model.gateway_models}


def serving_model(gen: Generation) -> CatalogModel:
    """The catalog entry a job is sent with: its own, or for a routed job its gateway's own
    entry taking the shared fields it stores (the routed entry itself until a gateway is chosen)."""
    model = BY_KEY[gen.model_key]
    if not model.gateway_models or not gen.gateway:
        return model
    return served_by(BY_KEY[gateway_models(model)[gen.gateway]])


def parse_order(text: str) -> dict[str, int]:
    """"pixazo runware=apiframe aimlapi" → {gateway: rank}: "=" joins equally preferred ones."""
    ranks = {}
    for rank, group in enumerate(re.split(r"[\s,]+", text.strip()), start=1):
        for gateway in filter(None, group.split("=")):
            ranks.setdefault(gateway, rank)
    return ranks


def deployment_ranks() -> dict[str, int]:
    return parse_order(settings.ROUTING_ORDER)


def ranked(model: CatalogModel, ranks: dict[str, int] | None) -> list[tuple[str, str]]:
    """The gateways to try for `model`, best first, each with why it would be chosen first
    (PREFERRED, or FASTER when it shares its rank with another). `ranks`: the project's own
    order, or None for the deployment's. Gateways without a key or without a rank are left out;
    if that leaves none, every gateway with a key is used in the deployment's order."""
    offered = [g for g in gateway_models(model) if provider_configured(g)]
    ranks = ranks or deployment_ranks()
    usable = [g for g in offered if g in ranks] or offered
    fallback = deployment_ranks()
    position = {g: ranks.get(g, len(ranks) + fallback.get(g, len(fallback) + 1)) for g in usable}
    speed = {g: seconds_to_ready(g, gateway_models(model)[g]) for g in usable}
    order = sorted(usable, key=lambda g: (position[g], speed[g] is None, speed[g] or 0.0, fallback.get(g, 99)))
    tied = [g for g in order if position[g] == position[order[0]]] if order else []
    faster = len(tied) > 1 and speed[order[0]] is not None
    return [(g, FASTER if i == 0 and faster else PREFERRED) for i, g in enumerate(order)]


def _project_ranks(gen: Generation) -> dict[str, int]:
    return Project.objects.filter(pk=gen.project_id).values_list("gateway_ranks", flat=True).first() or {}


def _refused(gen: Generation) -> set[str]:
    return {passed["gateway"] for passed in gen.gateways_passed if passed["why"] not in (CIRCUIT_OPEN, BUSY)}


# --- Before sending: choose ---------------------------------------------------------------


def gateway_ready(gen: Generation, turn: int) -> bool:
    """For a routed job due to be sent (queued, at this turn) and without a gateway yet: choose
    one now, holding a trial of it when it is not proven. True when the job may be sent (it is
    not routed, or has its gateway); False when it must wait (no gateway may take it yet) or the
    message is stale (then the wait that follows changes nothing)."""
    model = BY_KEY.get(gen.model_key)
    if model is None or not model.gateway_models or gen.gateway:
        return True
    if gen.state != S.QUEUED or gen.submit_turn != turn:
        return False
    refused, passed = _refused(gen), []
    for gateway, reason in ranked(model, _project_ranks(gen)):
        if gateway in refused:
            continue
        verdict = circuit.claim(gateway, holder=gen.pk, lease_seconds=leases.lease_seconds(get_adapter(gateway)))
        if verdict in (circuit.Verdict.FREE, circuit.Verdict.TRIAL):
            break
        if verdict is circuit.Verdict.WAIT:
            return False
        passed.append({"gateway": gateway, "why": CIRCUIT_OPEN if verdict is circuit.Verdict.OPEN else BUSY})
    else:
        return False
    if passed or gen.gateways_passed:
        reason = NEXT
    fields = {"gateway": gateway, "gateway_reason": reason, "gateways_passed": [*gen.gateways_passed, *passed]}
    chosen = Generation.objects.filter(pk=gen.pk, state=S.QUEUED, submit_turn=turn, gateway="").update(
        updated_at=timezone.now(), **fields
    )
    if not chosen:  # another copy of the message chose first, or the job was cancelled meanwhile
        gen.refresh_from_db()
        if not gen.gateway:
            circuit.record(gateway, holder=gen.pk, accepted=None)  # frees the trial it would have held
        return bool(gen.gateway)
    for name, value in fields.items():
        setattr(gen, name, value)
    return True


# --- After sending: record, and fail over ---------------------------------------------------


def _record(gen: Generation, outcome: str, *, exc: ProviderError | None = None, params: dict | None = None) -> None:
    model = serving_model(gen)
    GatewayAttempt.objects.create(
        generation_id=gen.pk,
        gateway=model.provider,
        model_key=model.key,
        outcome=outcome,
        error_kind=error_kind(exc) if exc else "",
        error=exc.message[:300] if exc else "",
        params=params or {},
    )
    accepted = {Outcome.ACCEPTED: True, Outcome.REFUSED: False}.get(outcome)
    circuit.record(model.provider, holder=gen.pk, accepted=accepted)


def submit_accepted(gen: Generation) -> None:
    """The gateway took the job: recorded with the parameters as sent."""
    _record(gen, Outcome.ACCEPTED, params=serving_model(gen).spec.to_wire(gen.params))


def submit_refused(gen: Generation, exc: ProviderError) -> bool:
    """Record a failed submit; a routed job the gateway did not take goes back to the queue for
    the next gateway that has not refused it. True when it did (the caller sends it again now)."""
    if _fails_over(exc):
        outcome = Outcome.REFUSED
    else:
        outcome = Outcome.REJECTED if error_kind(exc) is ErrorKind.INVALID else Outcome.UNKNOWN
    _record(gen, outcome, exc=exc)
    if outcome != Outcome.REFUSED or not is_routed(gen):
        return False
    refused = _refused(gen) | {gen.gateway}
    if all(gateway in refused for gateway, _ in ranked(BY_KEY[gen.model_key], _project_ranks(gen))):
        return False  # every gateway refused it: the usual retries at this one
    return move(
        gen.pk,
        S.QUEUED,
        reason=f"{exc.user_message}; trying the next gateway",
        only_from=(S.SUBMITTING,),
        gateway="",
        gateway_reason="",
        gateways_passed=[*gen.gateways_passed, {"gateway": gen.gateway, "why": error_kind(exc).value}],
        error_kind="",
        error="",
        waiting_for="",
    )


# --- After a gateway failed an accepted job: "Try on <next gateway>" ------------------------

TRY_ELSEWHERE_KINDS = (ErrorKind.FAILED, ErrorKind.DEADLINE)  # accepted, then failed on its side


def next_gateway(gen: Generation) -> str | None:
    """For a routed job its gateway accepted and then failed: the gateway after it in the
    project's order, if there is another."""
    if not (is_routed(gen) and gen.state == S.FAILED and gen.external_id and gen.error_kind in TRY_ELSEWHERE_KINDS):
        return None
    order = [gateway for gateway, _ in ranked(BY_KEY[gen.model_key], gen.project.gateway_ranks)]
    if gen.gateway not in order:
        return order[0] if order else None
    after = order[order.index(gen.gateway) + 1 :] + order[: order.index(gen.gateway)]
    return after[0] if after else None


# --- Configuration ----------------------------------------------------------------------------


def check_routing_order(app_configs, **kwargs):
    """ROUTING_ORDER names gateways that exist (a typo would silently leave one out)."""
    gateways = {BY_KEY[key].provider for model in BY_KEY.values() for key in model.gateway_models}
    unknown = sorted(set(deployment_ranks()) - gateways)
    if unknown:
        return [
            checks.Error(
                f"ROUTING_ORDER names {', '.join(unknown)}, which serve no routed model.",
                hint=f"Use the gateways {', '.join(sorted(gateways))}, in order, with = between equals.",
                id="studio.E002",
            )
        ]
    return []
