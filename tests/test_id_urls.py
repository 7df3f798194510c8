"""Model helpers that pages lean on."""

import pytest
from django.urls import get_script_prefix, reverse, set_script_prefix

from studio.id_urls import id_url


@pytest.fixture(params=["/", "/studio/"])
def script_prefix(request):
    """Served at the root, and under a prefix (SCRIPT_NAME behind a proxy)."""
    before = get_script_prefix()
    set_script_prefix(request.param)
    yield request.param
    set_script_prefix(before)


@pytest.mark.parametrize(
    "name",
    ["track_detail", "track_audio", "track_favorite", "project", "generation_cancel", "generation_resubmit", "generation_retry"],
)
def test_id_url_is_what_reverse_gives(name, script_prefix):
    for pk in (1, 42, 9_876_543_210, 10**15):
        assert id_url(name, pk) == reverse(name, args=[pk])
    assert id_url(name, 7).startswith(script_prefix)


def test_track_links_are_its_routes(project, alice):
    from tests.library.fixtures import make_track

    track = make_track(project, alice)
    assert track.get_absolute_url() == reverse("track_detail", args=[track.pk])
    assert track.audio_url == reverse("track_audio", args=[track.pk])
    assert track.favorite_url == reverse("track_favorite", args=[track.pk])
    assert project.get_absolute_url() == reverse("project", args=[project.pk])


def test_card_actions_are_their_routes(project, alice):
    from studio.models import Generation

    gen = Generation.objects.create(project=project, created_by=alice, model_key="pixazo-eleven-music", params={})
    assert gen.cancel_url == reverse("generation_cancel", args=[gen.pk])
    assert gen.resubmit_url == reverse("generation_resubmit", args=[gen.pk])
    assert gen.retry_url == reverse("generation_retry", args=[gen.pk])
