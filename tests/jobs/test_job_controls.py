"""What a user can do with a job: cancel it, retry it, resubmit one whose outcome is unknown."""

import pytest

from studio.jobs import transitions
from studio.models import Generation, Membership, Role

from tests.conftest import make_user

S = Generation.State
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def gen(project, alice):
    return Generation.objects.create(
        project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": "Night drive"}
    )


def test_cancelling_a_queued_job_stops_it_and_says_nothing_was_sent(alice_client, gen):
    response = alice_client.post(f"/generations/{gen.pk}/cancel/", **HTMX)
    gen.refresh_from_db()
    assert gen.state == S.CANCELLED
    assert "Nothing was sent" in response.content.decode()


def test_cancelling_an_accepted_job_warns_that_the_provider_may_still_charge(alice_client, gen):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    html = alice_client.post(f"/generations/{gen.pk}/cancel/", **HTMX).content.decode()
    gen.refresh_from_db()
    assert gen.state == S.CANCELLED
    assert "Pixazo may still charge for it" in html


def test_a_late_success_after_cancel_changes_nothing(gen):
    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.RUNNING, external_id="m_1")
    transitions.move(gen.pk, S.CANCELLED)
    assert not transitions.move(gen.pk, S.FETCHING)


def test_retry_makes_a_new_generation_with_the_same_parameters(alice_client, gen, django_capture_on_commit_callbacks):
    transitions.move(gen.pk, S.FAILED, error="boom")
    with django_capture_on_commit_callbacks(execute=False):
        response = alice_client.post(f"/generations/{gen.pk}/retry/", **HTMX)
    new = Generation.objects.exclude(pk=gen.pk).get()
    assert (new.model_key, new.params, new.state) == (gen.model_key, gen.params, S.QUEUED)
    assert f'id="gen-{new.pk}"' in response.content.decode()
    gen.refresh_from_db()
    assert gen.state == S.FAILED  # the old job keeps its history


def test_resubmit_is_only_for_jobs_that_need_attention(alice_client, gen, django_capture_on_commit_callbacks):
    alice_client.post(f"/generations/{gen.pk}/resubmit/", **HTMX)
    gen.refresh_from_db()
    assert gen.state == S.QUEUED and gen.transitions.count() == 0

    transitions.move(gen.pk, S.SUBMITTING)
    transitions.move(gen.pk, S.NEEDS_ATTENTION, error_kind="timeout")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        alice_client.post(f"/generations/{gen.pk}/resubmit/", **HTMX)
    gen.refresh_from_db()
    assert gen.state == S.QUEUED
    assert len(callbacks) == 1


def test_a_viewer_cannot_cancel_retry_or_resubmit(client, project, gen):
    viewer = make_user("victor")
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    for action in ("cancel", "retry", "resubmit"):
        assert client.post(f"/generations/{gen.pk}/{action}/").status_code == 404
    gen.refresh_from_db()
    assert gen.state == S.QUEUED
    assert Generation.objects.count() == 1


def test_the_pending_cap_refuses_more_jobs_with_a_clear_message(alice_client, project, alice, settings):
    settings.MAX_PENDING_PER_USER = 2
    for i in range(2):
        Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={"prompt": str(i)})
    response = alice_client.post(
        f"/projects/{project.pk}/generate/", {"model": "pixazo-eleven-music", "prompt": "third"}, **HTMX
    )
    assert "You have 2 jobs in progress" in response.content.decode()
    assert Generation.objects.count() == 2
