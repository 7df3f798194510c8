"""Every catalog model, end to end: the worker submits to the emulator, waits (polling or the
synchronous body) and stores a playable file that matches what the emulator served."""

import pytest

from providers import registry
from studio import services
from studio.catalog import MODELS
from studio.models import Generation

from .conftest import wait_for

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
    gen = services.start_generation(project=project, user=alice, model=model, params=minimal_params(model))

    def done():
        gen.refresh_from_db()
        return gen.state in Generation.TERMINAL_STATES or gen.state == S.NEEDS_ATTENTION

    wait_for(done, timeout=30)
    assert gen.state == S.SUCCEEDED, (gen.state, gen.error, gen.status_detail)
    track = gen.tracks.get()
    assert track.size > 1000
    assert track.duration_seconds and track.duration_seconds > 0.2
    assert track.content_type.startswith("audio/")


ERRORS = [
    ("401", "{label} rejected the API key"),
    ("402", "Insufficient balance at {label}"),
    ("403", "{label} refused access with this API key"),
    ("400", "{label} rejected the request: "),
]


@pytest.mark.parametrize(("marker", "message"), ERRORS, ids=[marker for marker, _ in ERRORS])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_model_ends_a_refused_job_with_a_plain_reason(project, alice, emulator, worker, model, marker, message):
    params = minimal_params(model)
    params[model.spec.prompt_param] += f" [emulate:{marker}]"
    gen = services.start_generation(project=project, user=alice, model=model, params=params)

    wait_for(lambda: gen.refresh_from_db() or gen.state == S.FAILED, timeout=30)
    assert gen.error.startswith(message.format(label=registry.label(model.provider))), gen.error
    assert "Traceback" not in gen.error
    assert not gen.tracks.exists()


@pytest.mark.parametrize(("marker", "detail"), [("429", "is limiting requests"), ("500", "is unavailable")])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.key)
def test_every_model_retries_a_passing_fault_instead_of_failing(project, alice, emulator, worker, model, marker, detail):
    params = minimal_params(model)
    params[model.spec.prompt_param] += f" [emulate:{marker}]"
    gen = services.start_generation(project=project, user=alice, model=model, params=params)

    wait_for(lambda: gen.refresh_from_db() or "retrying" in gen.status_detail, timeout=30)
    assert gen.state in (S.QUEUED, S.SUBMITTING), gen.error  # waiting to send it again, not failed
    assert detail in gen.status_detail
