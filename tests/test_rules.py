"""Every "may this happen" rule holds whichever entry point asks: the generate form, retry,
resubmit, the service itself, a single or bulk move. And the pending-jobs limit holds under
parallel requests (threads with their own database connections; PostgreSQL in CI)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from studio import rules
from studio.catalog import BY_KEY
from studio.errors import ErrorKind, Refused
from studio.jobs import transitions
from studio.jobs.services import start_generation
from studio.library.services import (
    delete_tracks,
    move_tracks,
    rename_track,
    set_favorite,
    set_tags,
)
from studio.models import Generation, Membership, Role, Track
from studio.teams.services import create_project

from tests.conftest import at_once, make_user

S = Generation.State
HTMX = {"HTTP_HX_REQUEST": "true"}
MUSIC = BY_KEY["pixazo-eleven-music"]


@pytest.fixture
def archived(project):
    project.archived_at = timezone.now()
    project.save(update_fields=["archived_at"])
    return project


def failed_job(project, user):
    gen = Generation.objects.create(project=project, created_by=user, model_key=MUSIC.key, params={"prompt": "Rain"})
    transitions.move(gen.pk, S.FAILED, error_kind=ErrorKind.UNAVAILABLE)
    return gen


def test_the_generate_form_refuses_an_archived_project(alice_client, archived):
    response = alice_client.post(f"/projects/{archived.pk}/generate/", {"model": MUSIC.key, "prompt": "Rain"}, **HTMX)
    assert "archived" in response.content.decode()
    assert not Generation.objects.exists()


def test_retry_refuses_an_archived_project(alice_client, project, alice):
    gen = failed_job(project, alice)
    project.archived_at = timezone.now()
    project.save(update_fields=["archived_at"])

    response = alice_client.post(f"/generations/{gen.pk}/retry/", **HTMX)

    assert "archived" in response.content.decode() and 'hx-swap-oob="true"' in response.content.decode()
    assert Generation.objects.count() == 1  # no new (paid) job


def test_resubmit_refuses_an_archived_project(alice_client, project, alice):
    gen = Generation.objects.create(project=project, created_by=alice, model_key=MUSIC.key, params={"prompt": "Rain"})
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.NEEDS_ATTENTION, error_kind=ErrorKind.TIMEOUT)
    project.archived_at = timezone.now()
    project.save(update_fields=["archived_at"])

    response = alice_client.post(f"/generations/{gen.pk}/resubmit/", **HTMX)

    assert "archived" in response.content.decode()
    gen.refresh_from_db()
    assert gen.state == S.NEEDS_ATTENTION


def test_the_service_refuses_a_viewer_and_a_model_no_longer_offered(project, alice, settings):
    viewer = make_user("vera")
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    with pytest.raises(Refused) as refused:
        start_generation(project=project, user=viewer, model=MUSIC, params={"prompt": "Rain"})
    assert refused.value.rule == "role"

    settings.PROVIDERS = {**settings.PROVIDERS, "pixazo": {**settings.PROVIDERS["pixazo"], "api_key": ""}}
    with pytest.raises(Refused) as refused:
        start_generation(project=project, user=alice, model=MUSIC, params={"prompt": "Rain"})
    assert refused.value.rule == "model"
    assert not Generation.objects.exists()


def test_retry_refuses_a_model_no_longer_offered(alice_client, project, alice, settings):
    gen = failed_job(project, alice)
    settings.PROVIDERS = {**settings.PROVIDERS, "pixazo": {**settings.PROVIDERS["pixazo"], "api_key": ""}}

    response = alice_client.post(f"/generations/{gen.pk}/retry/", **HTMX)

    assert "not offered" in response.content.decode()
    assert Generation.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_check_start_only_runs_inside_the_transaction_that_starts_the_jobs(project, alice):
    with pytest.raises(RuntimeError):
        rules.check_start(user=alice, project_id=project.pk, requests=[rules.StartRequest(MUSIC.key)])


@pytest.fixture
def track(project, alice):
    gen = Generation.objects.create(project=project, created_by=alice, model_key=MUSIC.key, state=S.SUCCEEDED)
    return Track.objects.create(generation=gen, project=project, title="Rain", file="tracks/x.mp3", size=10)


@pytest.fixture
def archived_target(alice):
    target = create_project(owner=alice, name="Old album")
    target.archived_at = timezone.now()
    target.save(update_fields=["archived_at"])
    return target


def test_a_bulk_move_into_an_archived_project_is_refused_like_a_single_move(alice_client, project, track, archived_target):
    response = alice_client.post(
        f"/projects/{project.pk}/tracks/bulk/", {"action": "move", "tracks": [track.pk], "project": archived_target.pk}, follow=True
    )
    assert "is archived: nothing can be added to it" in response.content.decode()
    track.refresh_from_db()
    assert track.project_id == project.pk


def test_the_track_services_check_the_role_whoever_calls_them(project, track, archived_target, alice):
    viewer = make_user("vera")
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    for change in (
        lambda: rename_track(user=viewer, track=track, title="Mine"),
        lambda: set_tags(user=viewer, track=track, names=["x"]),
        lambda: set_favorite(user=viewer, tracks=[track], favorite=True),
        lambda: delete_tracks(user=viewer, tracks=[track]),
    ):
        with pytest.raises(Refused):
            change()
    with pytest.raises(Refused):
        move_tracks(user=alice, tracks=[track], to_project=archived_target)
    track.refresh_from_db()
    assert (track.title, track.project_id, track.favorite) == ("Rain", project.pk, False)


@pytest.mark.django_db(transaction=True)
def test_the_pending_limit_holds_under_sixty_parallel_generate_requests(project, alice, settings):
    settings.MAX_PENDING_PER_USER = 10

    def generate():
        client = Client()
        client.force_login(alice)
        return client.post(f"/projects/{project.pk}/generate/", {"model": MUSIC.key, "prompt": "Rain"}).status_code

    statuses = at_once(generate, 60)

    assert len(statuses) == 60
    assert Generation.objects.filter(created_by=alice, state__in=Generation.PENDING_STATES).count() == 10
    assert sorted(set(statuses)) == [302, 400] and statuses.count(302) == 10
