"""Routed jobs on the real path: a Dramatiq worker, the emulator over loopback HTTP, and a gateway
taken down through the emulator's admin endpoint (or pointed at a closed port)."""

import httpx
import pytest
from django.core.cache import cache

from studio.catalog import BY_KEY
from studio.errors import ErrorKind
from studio.jobs.cards import Card
from studio.jobs.services import start_generation
from studio.models import GatewayAttempt, Generation

from tests.conftest import closed_port, wait_for

S = Generation.State
ROUTED = BY_KEY["eleven-music-any"]


@pytest.fixture(autouse=True)
def preferred_pixazo(settings):
    settings.ROUTING_ORDER = "pixazo runware apiframe aimlapi"
    settings.CIRCUIT_REFUSALS = 3
    cache.clear()  # no speed figures from earlier tests


def take_down(emulator, provider: str, mode: str | None) -> None:
    answer = httpx.post(f"{emulator.base_url}/_emulator/outage", json={"provider": provider, "mode": mode})
    assert answer.status_code == 200, answer.text


def start_routed(project, user, count: int, prompt: str = "Bright synthwave, take") -> list[Generation]:
    return [
        start_generation(project=project, user=user, model=ROUTED, params={"prompt": f"{prompt} {n}", "length_seconds": 12})
        for n in range(count)
    ]


def all_finished(gens):
    def check():
        for gen in gens:
            gen.refresh_from_db()
        return all(g.state in Generation.TERMINAL_STATES or g.state == S.NEEDS_ATTENTION for g in gens)

    return check


def assert_one_accepted_submission_each(emulator, gens, gateway: str):
    jobs = emulator.emulator.jobs()
    assert sorted(job.request_id for job in jobs) == sorted(g.external_id for g in gens)
    assert {job.provider for job in jobs} == {gateway}


def test_with_pixazo_down_every_routed_job_is_ready_through_the_next_gateway(project, alice, emulator, worker):
    take_down(emulator, "pixazo", "unavailable")
    gens = start_routed(project, alice, 8)
    wait_for(all_finished(gens), timeout=40)

    assert [g.state for g in gens] == [S.SUCCEEDED] * 8, [(g.state, g.error) for g in gens]
    assert {g.gateway for g in gens} == {"runware"}
    assert all(g.tracks.count() == 1 for g in gens)
    assert_one_accepted_submission_each(emulator, gens, "runware")
    refused = GatewayAttempt.objects.filter(gateway="pixazo", outcome="refused").count()
    assert 1 <= refused <= 3  # no more jobs paid a failed attempt than the circuit's threshold
    notes = {Card(g).route_note for g in gens}
    assert "Pixazo was unavailable; sent to Runware" in notes
    assert notes <= {
        "Pixazo was unavailable; sent to Runware",
        "Pixazo was skipped after refusing several jobs in a row; sent to Runware",
        "Pixazo was being tried by other jobs; sent to Runware",
    }


def test_a_refused_connection_fails_over(project, alice, emulator, worker, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "pixazo": {"api_key": "k", "base_url": f"http://127.0.0.1:{closed_port()}/pixazo"}}
    (gen,) = start_routed(project, alice, 1)
    wait_for(all_finished([gen]), timeout=20)

    assert (gen.state, gen.gateway) == (S.SUCCEEDED, "runware")
    assert gen.gateways_passed == [{"gateway": "pixazo", "why": "unavailable"}]
    assert_one_accepted_submission_each(emulator, [gen], "runware")


def test_a_429_fails_over(project, alice, emulator, worker):
    take_down(emulator, "pixazo", "rate_limited")
    (gen,) = start_routed(project, alice, 1)
    wait_for(all_finished([gen]), timeout=20)

    assert (gen.state, gen.gateway) == (S.SUCCEEDED, "runware")
    assert Card(gen).route_note == "Pixazo was limiting requests (429); sent to Runware"


def test_a_timeout_after_sending_never_fails_over(project, alice, emulator, worker, settings):
    settings.PROVIDER_TIMEOUT_SECONDS = 0.5
    emulator.emulator.configure(outage_hold_seconds=2.0)
    take_down(emulator, "pixazo", "held")
    (gen,) = start_routed(project, alice, 1)
    wait_for(all_finished([gen]), timeout=20)

    assert (gen.state, gen.gateway, gen.error_kind) == (S.NEEDS_ATTENTION, "pixazo", ErrorKind.TIMEOUT)
    assert gen.gateways_passed == []
    jobs = emulator.emulator.jobs()
    assert [job.provider for job in jobs] == ["pixazo"]  # it did reach Pixazo, and nowhere else
    assert "It may have been accepted" in Card(gen).problem


def test_a_job_the_gateway_accepted_and_failed_offers_the_next_gateway_in_one_click(
    project, alice, emulator, worker, alice_client
):
    (gen,) = start_routed(project, alice, 1, prompt="A tune [emulate:failed]")
    wait_for(all_finished([gen]), timeout=20)
    assert (gen.state, gen.gateway, gen.error_kind) == (S.FAILED, "pixazo", ErrorKind.FAILED)
    label, url = Card(gen).try_next
    assert label == "Runware"
    assert Generation.objects.count() == 1  # never automatic

    page = alice_client.get(f"/projects/{project.pk}/").content.decode()
    assert f'action="{url}"' in page and "Try on Runware" in page
    alice_client.post(url)

    retried = Generation.objects.exclude(pk=gen.pk).get()
    assert (retried.follows_id, retried.gateway, retried.model_key) == (gen.pk, "runware", "eleven-music-any")
    wait_for(all_finished([retried]), timeout=20)
    assert Card(retried).route_note == "Sent to Runware as asked"
    assert sorted(job.provider for job in emulator.emulator.jobs()) == ["pixazo", "runware"]


def test_try_next_is_refused_for_a_job_that_was_never_accepted(project, alice, alice_client, bob, client):
    gen = Generation.objects.create(
        project=project, created_by=alice, model_key="eleven-music-any", params={"prompt": "x"},
        state=S.FAILED, gateway="pixazo", error_kind=ErrorKind.AUTH,
    )  # fmt: skip
    alice_client.post(f"/generations/{gen.pk}/try-next/")
    assert Generation.objects.count() == 1
    client.force_login(bob)  # an outsider: 404, nothing started
    assert client.post(f"/generations/{gen.pk}/try-next/").status_code == 404
    assert Generation.objects.count() == 1
