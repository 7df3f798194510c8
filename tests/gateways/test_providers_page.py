"""The Providers page: who may see it, the figures it shows, the owners' order of gateways, and
that provider health never makes the studio unready."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from studio.gateways.figures import gateway_figures, seconds_to_ready
from studio.jobs import circuit
from studio.models import GatewayAttempt, Generation, Role

from tests.library.fixtures import add_member, make_project

S = Generation.State


@pytest.fixture(autouse=True)
def no_cached_speeds():
    cache.clear()
    yield
    cache.clear()


def attempt(project, user, *, gateway="pixazo", model_key="pixazo-eleven-music", outcome="accepted", kind="", error="",
            state=S.SUCCEEDED, seconds=10.0, ago=timedelta(minutes=5), gen_kind="", gen_error=""):  # fmt: skip
    now = timezone.now()
    gen = Generation.objects.create(
        project=project, created_by=user, model_key=model_key, params={"prompt": "x"}, state=state,
        finished_at=now - ago + timedelta(seconds=seconds), error_kind=gen_kind, error=gen_error,
    )  # fmt: skip
    return GatewayAttempt.objects.create(
        generation=gen, gateway=gateway, model_key=model_key, outcome=outcome, error_kind=kind, error=error, sent_at=now - ago
    )


def test_figures_count_submissions_acceptances_failures_by_kind_and_times_to_ready(project, alice):
    for seconds in (4, 6, 8, 10, 30):
        attempt(project, alice, seconds=seconds)
    attempt(project, alice, outcome="refused", kind="unavailable", error="HTTP 503: down", ago=timedelta(minutes=2))
    attempt(project, alice, outcome="accepted", state=S.FAILED, gen_kind="failed", gen_error="could not render")
    attempt(project, alice, seconds=60, ago=timedelta(hours=5))  # in the day, not the hour

    figures = gateway_figures()
    hour, day = figures[("pixazo", "pixazo-eleven-music")]["hour"], figures[("pixazo", "")]["day"]
    assert (hour.submissions, hour.accepted, dict(hour.failed)) == (7, 6, {"unavailable": 1, "failed": 1})
    assert hour.median_seconds == 8 and hour.p95_seconds == pytest.approx(26.0)
    assert (day.submissions, day.median_seconds) == (8, 9)
    assert hour.last_error[1:] == ("unavailable", "HTTP 503: down")
    assert sum(hour.submitted_per_bucket) == 7 and sum(hour.failed_per_bucket) == 2
    assert seconds_to_ready("pixazo", "pixazo-eleven-music") == 8


def test_the_page_is_for_owners_and_staff(client, alice, bob, project):
    client.force_login(bob)
    assert client.get("/providers/").status_code == 404  # no project of his own
    add_member(project, bob, Role.EDITOR)
    assert client.get("/providers/").status_code == 404
    bob.is_staff = True
    bob.save()
    assert client.get("/providers/").status_code == 200
    client.force_login(alice)
    assert client.get("/providers/").status_code == 200


def test_the_page_shows_each_gateways_figures_circuit_and_chart(alice_client, project, alice, settings):
    settings.CIRCUIT_REFUSALS = 1
    attempt(project, alice, seconds=12)
    attempt(project, alice, gateway="runware", model_key="runware-eleven-music", outcome="refused", kind="rate_limited",
            error="Rate limit exceeded")  # fmt: skip
    circuit.record("runware", holder=1, accepted=False)
    page = alice_client.get("/providers/").content.decode()
    assert "ElevenLabs Music (Pixazo)" in page and "12 s" in page
    assert "1: 429 1" in page and "Rate limit exceeded" in page
    assert "open: skipped after 1 refusals in a row" in page
    assert 'role="img" aria-label="Submissions per 5 minutes over the last hour' in page
    assert "No job was sent to Apiframe in the last day." in page


def test_an_owner_orders_the_gateways_of_a_project(alice_client, project):
    response = alice_client.post(
        f"/projects/{project.pk}/gateways/", {"runware": "1", "pixazo": "2", "apiframe": "2", "aimlapi": ""}
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.gateway_ranks == {"runware": 1, "pixazo": 2, "apiframe": 2}
    page = alice_client.get(f"/providers/?project={project.pk}").content.decode()
    assert "has its own order" in page and '<option value="1" selected>1st</option>' in page
    alice_client.post(f"/projects/{project.pk}/gateways/", {"reset": "1"})
    project.refresh_from_db()
    assert project.gateway_ranks == {}


def test_an_order_without_any_gateway_changes_nothing(alice_client, project):
    response = alice_client.post(f"/projects/{project.pk}/gateways/", {}, follow=True)
    assert "Give at least one gateway a place" in response.content.decode()
    project.refresh_from_db()
    assert project.gateway_ranks == {}


def test_only_the_owner_may_order_a_projects_gateways(client, project, bob):
    add_member(project, bob, Role.EDITOR)
    make_project(bob, name="Bob's own")  # bob owns another project: the page is his, this form is not
    client.force_login(bob)
    assert client.post(f"/projects/{project.pk}/gateways/", {"runware": "1"}).status_code == 404
    project.refresh_from_db()
    assert project.gateway_ranks == {}


def test_provider_health_never_makes_the_studio_unready(client, db, settings, capsys):
    settings.CIRCUIT_REFUSALS = 1
    for gateway in ("pixazo", "aimlapi", "apiframe", "runware", "elevenlabs"):
        circuit.record(gateway, holder=1, accepted=False)  # every circuit open
    assert client.get("/readyz").status_code == 200
    call_command("check")
    assert "circuit" not in capsys.readouterr().out.lower()
