"""Every catalog model, end to end: the worker submits to the emulator, waits (polling or the
synchronous body) and stores a playable file that matches what the emulator served."""

import pytest

from providers import registry
from studio.catalog import MODELS
from studio.errors import ErrorKind
from studio.jobs.cards import Card
from studio.jobs.services import start_generation
from studio.models import Generation

from tests.conftest import wait_for

S = Generation.State
PROMPTS = {"speech": "Hello from the studio.", "sfx": "Glass shattering on a stone floor"}


def minimal_params(model):
    params = {model.spec.prompt_param: PROMPTS.get(model.kind, "Warm lo-fi beat with vinyl crackle")}
    if model.key == "elevenlabs-speech":
        params["voice_id"] = "21m00Tcm4TlvDq8ikWAM"
    if model.key == "pixazo-eleven-v3-speech":
        params["voice"] = "Rachel"
    return params


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_model_produces_a_stored_track(project, alice, emulator, worker, model):
    gen = start_generation(project=project, user=alice, model=model, params=minimal_params(model))

    def done():
        gen.refresh_from_db()
        return gen.state in Generation.TERMINAL_STATES or gen.state == S.NEEDS_ATTENTION

    wait_for(done, timeout=30)
    assert gen.state == S.SUCCEEDED, (gen.state, gen.error_kind, gen.error)
    track = gen.tracks.get()
    assert track.size > 1000
    assert track.duration_seconds and track.duration_seconds > 0.2
    assert track.content_type.startswith("audio/")


ERRORS = [
    ("401", ErrorKind.AUTH, "{label} refused the studio's API key"),
    ("402", ErrorKind.CREDIT, "The {label} account is out of credit"),
    ("403", ErrorKind.AUTH, "{label} refused the studio's API key"),
    ("400", ErrorKind.INVALID, "{label} "),  # the provider's words, or what they mean in plain words
]


@pytest.mark.parametrize(("marker", "kind", "message"), ERRORS, ids=[marker for marker, *_ in ERRORS])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_model_ends_a_refused_job_with_a_plain_reason(project, alice, emulator, worker, model, marker, kind, message):
    params = minimal_params(model)
    params[model.spec.prompt_param] += f" [emulate:{marker}]"
    gen = start_generation(project=project, user=alice, model=model, params=params)

    wait_for(lambda: gen.refresh_from_db() or gen.state == S.FAILED, timeout=30)
    card = Card(gen)
    assert gen.error_kind == kind, (gen.error_kind, gen.error)
    assert card.problem.startswith(message.format(label=registry.label(model.provider))), card.problem
    assert "Traceback" not in card.problem
    assert gen.error in card.problem or card.provider_words == gen.error  # the provider's own words stay at hand
    assert card.can_retry == (kind == ErrorKind.INVALID)  # a key or credit problem is not mended by a retry
    assert not gen.tracks.exists()


@pytest.mark.parametrize(("marker", "detail"), [("429", "is limiting requests"), ("500", "is unavailable")])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_model_retries_a_passing_fault_instead_of_failing(project, alice, emulator, worker, model, marker, detail):
    params = minimal_params(model)
    params[model.spec.prompt_param] += f" [emulate:{marker}]"
    gen = start_generation(project=project, user=alice, model=model, params=params)

    wait_for(lambda: gen.refresh_from_db() or gen.waiting_for == "retry", timeout=30)
    assert gen.state in (S.QUEUED, S.SUBMITTING), gen.error  # waiting to send it again, not failed
    assert detail in Card(gen).detail
