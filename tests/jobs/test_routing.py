"""Routing: the failover decision table, the order of gateways, and what a routed job records."""

from datetime import timedelta

import httpx
import pytest
from django.core.cache import cache
from django.utils import timezone

from providers.base import (
    AuthFailed,
    ErrorKind,
    InvalidRequest,
    OutOfCredit,
    ProviderDown,
    RateLimited,
)
from providers.pixazo.adapter import Pixazo
from studio.catalog import BY_KEY, available_models, get_model
from studio.errors import ErrorKind as StudioErrorKind
from studio.jobs import circuit, routing
from studio.jobs.cards import Card
from studio.models import GatewayAttempt, Generation

ROUTED = BY_KEY["eleven-music-any"]
S = Generation.State


@pytest.fixture(autouse=True)
def no_speed_figures_from_earlier_tests(db):
    cache.clear()

# --- The decision table: every error kind × whether the request may have been taken ---------

FAILS_OVER = {
    (ErrorKind.INVALID, False): False,
    (ErrorKind.INVALID, True): False,
    (ErrorKind.AUTH, False): True,
    (ErrorKind.AUTH, True): False,
    (ErrorKind.CREDIT, False): True,
    (ErrorKind.CREDIT, True): False,
    (ErrorKind.RATE_LIMITED, False): True,
    (ErrorKind.RATE_LIMITED, True): False,
    (ErrorKind.UNAVAILABLE, False): True,  # refused before sending, or a 5xx answer (no job id)
    (ErrorKind.UNAVAILABLE, True): False,  # the connection dropped after the request went out
    (ErrorKind.TIMEOUT, False): True,  # a connect or pool timeout: never sent
    (ErrorKind.TIMEOUT, True): False,  # no answer in time after sending: it may run and be billed
    (ErrorKind.UNREADABLE, False): False,
    (ErrorKind.UNREADABLE, True): False,  # an unreadable 2xx to a submit: it may run
}


def test_the_decision_table_covers_every_error_kind_both_ways():
    assert set(FAILS_OVER) == {(kind, taken) for kind in ErrorKind for taken in (False, True)}


@pytest.mark.parametrize(("kind", "maybe_accepted"), sorted(FAILS_OVER, key=str))
def test_failover_follows_the_decision_table(kind, maybe_accepted):
    assert routing.fails_over(StudioErrorKind(kind.value), maybe_accepted) is FAILS_OVER[(kind, maybe_accepted)]


def _answer(status: int, body: bytes = b'{"message": "no"}', headers=None) -> httpx.Response:
    return httpx.Response(status, content=body, headers=headers, request=httpx.Request("POST", "https://p.test/x"))


PIXAZO = Pixazo(api_key="k", base_url="https://gateway.pixazo.test")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PIXAZO.transport_failure(httpx.ConnectError("Connection refused")), True),
        (PIXAZO.transport_failure(httpx.ConnectTimeout("connect")), True),
        (PIXAZO.transport_failure(httpx.PoolTimeout("pool")), True),
        (PIXAZO.transport_failure(httpx.ReadTimeout("read")), False),
        (PIXAZO.transport_failure(httpx.RemoteProtocolError("Server disconnected")), False),
        (PIXAZO.transport_failure(httpx.ReadError("reset after sending")), False),
        (PIXAZO.error_for(_answer(500)), True),
        (PIXAZO.error_for(_answer(502)), True),
        (PIXAZO.error_for(_answer(503)), True),
        (PIXAZO.error_for(_answer(429, headers={"Retry-After": "3"})), True),
        (PIXAZO.error_for(_answer(401)), True),
        (PIXAZO.error_for(_answer(402)), True),
        (PIXAZO.error_for(_answer(403)), True),
        (PIXAZO.error_for(_answer(400)), False),
        (PIXAZO.error_for(_answer(422)), False),
        (PIXAZO.unreadable("not JSON", status_code=202, maybe_accepted=True), False),
    ],
    ids=lambda value: value if isinstance(value, bool) else f"{type(value).__name__}-{value.status_code or value.message}",
)
def test_what_an_adapter_raises_decides_failover(error, expected):
    assert routing._fails_over(error) is expected


# --- Which gateways, in which order ------------------------------------------------------


def test_the_routing_order_reads_ranks_with_equals():
    assert routing.parse_order("pixazo runware=apiframe, aimlapi") == {
        "pixazo": 1, "runware": 2, "apiframe": 2, "aimlapi": 3,
    }  # fmt: skip


def test_gateways_follow_the_deployment_order(settings):
    settings.ROUTING_ORDER = "runware pixazo aimlapi apiframe"
    assert [g for g, _ in routing.ranked(ROUTED, None)] == ["runware", "pixazo", "aimlapi", "apiframe"]
    assert routing.ranked(ROUTED, None)[0] == ("runware", routing.PREFERRED)


def test_a_projects_own_order_wins_and_leaves_out_unranked_gateways(settings):
    settings.ROUTING_ORDER = "pixazo runware apiframe aimlapi"
    assert [g for g, _ in routing.ranked(ROUTED, {"aimlapi": 1, "pixazo": 2})] == ["aimlapi", "pixazo"]


def test_a_gateway_without_a_key_is_never_routed_to(settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "pixazo": {"api_key": "", "base_url": "https://p.test"}}
    assert "pixazo" not in [g for g, _ in routing.ranked(ROUTED, None)]


def test_the_routed_model_is_offered_while_any_gateway_has_a_key(settings):
    keys = {name: {"api_key": "", "base_url": "https://x.test"} for name in settings.PROVIDERS}
    settings.PROVIDERS = keys
    assert get_model("eleven-music-any") is None
    settings.PROVIDERS = {**keys, "apiframe": {"api_key": "k", "base_url": "https://x.test"}}
    assert get_model("eleven-music-any") is ROUTED
    assert [m.key for m in available_models()][-1] == "eleven-music-any"


def _finished_job(project, user, gateway: str, seconds: float, count: int = 3):
    now = timezone.now()
    for _ in range(count):
        gen = Generation.objects.create(
            project=project, created_by=user, model_key="eleven-music-any", params={"prompt": "x"},
            state=S.SUCCEEDED, gateway=gateway, finished_at=now,
        )  # fmt: skip
        GatewayAttempt.objects.create(
            generation=gen, gateway=gateway, model_key=routing.gateway_models(ROUTED)[gateway],
            outcome=GatewayAttempt.Outcome.ACCEPTED, sent_at=now - timedelta(seconds=seconds),
        )  # fmt: skip


def test_of_equally_preferred_gateways_the_faster_goes_first(settings, project, alice):
    settings.ROUTING_ORDER = "pixazo=runware aimlapi"
    _finished_job(project, alice, "pixazo", seconds=40)
    _finished_job(project, alice, "runware", seconds=12)
    assert routing.ranked(ROUTED, None)[:3] == [
        ("runware", routing.FASTER), ("pixazo", routing.PREFERRED), ("aimlapi", routing.PREFERRED),
    ]  # fmt: skip


def test_speed_never_beats_a_better_rank(settings, project, alice):
    settings.ROUTING_ORDER = "pixazo runware"
    _finished_job(project, alice, "runware", seconds=2)
    _finished_job(project, alice, "pixazo", seconds=90)
    assert [g for g, _ in routing.ranked(ROUTED, None)] == ["pixazo", "runware"]


def test_a_routing_order_naming_an_unknown_gateway_fails_the_check(settings):
    settings.ROUTING_ORDER = "pixazo runwar"
    assert [e.id for e in routing.check_routing_order(None)] == ["studio.E002"]
    settings.ROUTING_ORDER = "pixazo=runware aimlapi apiframe"
    assert routing.check_routing_order(None) == []


# --- Choosing, recording, failing over (without a worker) ----------------------------------


def routed_job(project, user, **fields):
    return Generation.objects.create(
        project=project, created_by=user, model_key="eleven-music-any",
        params={"prompt": "Bright synthwave", "length_seconds": 30, "output_format": "mp3_192"}, **fields,
    )  # fmt: skip


def test_a_routed_job_gets_the_preferred_gateway_and_the_gateways_own_parameters(settings, project, alice):
    settings.ROUTING_ORDER = "runware pixazo"
    gen = routed_job(project, alice)
    assert routing.gateway_ready(gen, 0) is True
    gen.refresh_from_db()
    assert (gen.gateway, gen.gateway_reason) == ("runware", routing.PREFERRED)
    served = routing.serving_model(gen)
    assert (served.key, served.provider) == ("runware-eleven-music", "runware")
    assert served.spec.to_wire(gen.params) == {"positivePrompt": "Bright synthwave", "duration": 30, "outputFormat": "MP3"}


def test_a_stale_message_chooses_nothing(project, alice):
    gen = routed_job(project, alice, submit_turn=2)
    assert routing.gateway_ready(gen, 1) is False
    gen.refresh_from_db()
    assert gen.gateway == ""


def test_a_refused_routed_job_goes_back_for_the_next_gateway(settings, project, alice):
    settings.ROUTING_ORDER = "pixazo runware"
    gen = routed_job(project, alice, state=S.SUBMITTING, gateway="pixazo", gateway_reason=routing.PREFERRED)
    assert routing.submit_refused(gen, ProviderDown("HTTP 503: down", provider="Pixazo", status_code=503)) is True
    gen.refresh_from_db()
    assert (gen.state, gen.gateway) == (S.QUEUED, "")
    assert gen.gateways_passed == [{"gateway": "pixazo", "why": "unavailable"}]
    assert routing.gateway_ready(gen, gen.submit_turn) is True
    gen.refresh_from_db()
    assert (gen.gateway, gen.gateway_reason) == ("runware", routing.NEXT)
    assert Card(gen).route_note == "Pixazo was unavailable; sent to Runware"
    attempt = GatewayAttempt.objects.get(generation=gen)
    assert (attempt.gateway, attempt.outcome, attempt.error_kind) == ("pixazo", "refused", "unavailable")


def test_a_lost_answer_never_fails_over(settings, project, alice):
    settings.ROUTING_ORDER = "pixazo runware"
    gen = routed_job(project, alice, state=S.SUBMITTING, gateway="pixazo")
    lost = ProviderDown("no answer in time", kind=ErrorKind.TIMEOUT, maybe_accepted=True)
    assert routing.submit_refused(gen, lost) is False
    gen.refresh_from_db()
    assert (gen.state, gen.gateway, gen.gateways_passed) == (S.SUBMITTING, "pixazo", [])
    assert GatewayAttempt.objects.get(generation=gen).outcome == "unknown"


def test_when_every_gateway_refused_the_job_stays_with_the_last(settings, project, alice):
    settings.ROUTING_ORDER = "pixazo runware"
    gen = routed_job(
        project, alice, state=S.SUBMITTING, gateway="runware", gateways_passed=[{"gateway": "pixazo", "why": "rate_limited"}]
    )
    assert routing.submit_refused(gen, RateLimited("slow down", retry_after=1)) is False
    gen.refresh_from_db()
    assert (gen.state, gen.gateway) == (S.SUBMITTING, "runware")


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (RateLimited("slow down"), "Pixazo was limiting requests (429); sent to Runware"),
        (AuthFailed("bad key", status_code=401), "Pixazo refused the studio's API key; sent to Runware"),
        (OutOfCredit("no money", status_code=402), "Pixazo was out of credit; sent to Runware"),
        (ProviderDown("could not connect", kind=ErrorKind.TIMEOUT), "Pixazo could not be reached; sent to Runware"),
    ],
)
def test_the_card_says_why_the_job_changed_gateway(settings, project, alice, error, words):
    settings.ROUTING_ORDER = "pixazo runware"
    gen = routed_job(project, alice, state=S.SUBMITTING, gateway="pixazo")
    assert routing.submit_refused(gen, error) is True
    gen.refresh_from_db()
    routing.gateway_ready(gen, gen.submit_turn)
    gen.refresh_from_db()
    assert Card(gen).route_note == words


def test_an_invalid_request_is_not_the_gateways_fault(settings, project, alice):
    gen = routed_job(project, alice, state=S.SUBMITTING, gateway="pixazo")
    assert routing.submit_refused(gen, InvalidRequest("prompt too long", status_code=400)) is False
    assert GatewayAttempt.objects.get(generation=gen).outcome == "rejected"
    assert circuit.states()["pixazo"].refusals == 0


def test_an_open_circuit_is_passed_over_and_the_card_says_so(settings, project, alice):
    settings.ROUTING_ORDER = "pixazo runware"
    settings.CIRCUIT_REFUSALS = 2
    for _ in range(2):
        circuit.record("pixazo", holder=0, accepted=False)
    gen = routed_job(project, alice)
    assert routing.gateway_ready(gen, 0) is True
    gen.refresh_from_db()
    assert gen.gateway == "runware"
    assert Card(gen).route_note == "Pixazo was skipped after refusing several jobs in a row; sent to Runware"


def test_a_job_waits_when_no_gateway_may_take_it(settings, project, alice):
    settings.ROUTING_ORDER = "pixazo"
    settings.CIRCUIT_REFUSALS = 1
    circuit.record("pixazo", holder=0, accepted=False)
    gen = routed_job(project, alice)
    assert routing.gateway_ready(gen, 0) is False
    gen.refresh_from_db()
    assert gen.gateway == ""


def test_a_job_waiting_for_a_gateway_looks_again_ever_less_often_up_to_a_cap(project, alice):
    gen = routed_job(project, alice)
    waits = [routing.wait_seconds(gen, turn) for turn in range(12)]
    spread = 1 + (gen.pk % 5) / 10
    assert waits[0] == pytest.approx(routing.WAIT_SECONDS * spread)  # the first look soon: a trial answers in moments
    assert all(later >= earlier for earlier, later in zip(waits, waits[1:]))
    assert waits[1] == pytest.approx(2 * waits[0])
    assert max(waits) == pytest.approx(routing.WAIT_CAP_SECONDS * spread)  # not four looks a second for a cool-down


def test_waiting_jobs_do_not_all_look_at_once(project, alice):
    jobs = [routed_job(project, alice) for _ in range(5)]
    assert len({routing.wait_seconds(gen, 3) for gen in jobs}) == 5


def test_a_callback_for_a_routed_job_is_taken_at_its_gateways_address(client, project, alice):
    gen = routed_job(project, alice, state=S.RUNNING, gateway="runware", external_id="a-task")
    url = f"/hooks/runware/{gen.pk}/{gen.callback_token}/"
    assert client.post(f"/hooks/pixazo/{gen.pk}/{gen.callback_token}/", b"{}", content_type="application/json").status_code == 404
    assert client.post(url, b"[]", content_type="application/json").status_code in (200, 400)  # found: read by Runware's rules


def test_a_cards_cost_names_the_gateway_that_charged_it(project, alice):
    from decimal import Decimal

    routed = Generation(
        project=project, created_by=alice, model_key="eleven-music-any", gateway="apiframe",
        cost=Decimal("120"), cost_unit="credits",
    )  # fmt: skip
    retired = Generation(project=project, created_by=alice, model_key="a-model-no-longer-offered", cost=Decimal("3"), cost_unit="credits")
    assert routed.provider == "apiframe" and "120 credits at Apiframe" in Card(routed).cost
    assert retired.provider == "" and "3 credits at the provider" in Card(retired).cost
