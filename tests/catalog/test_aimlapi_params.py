"""The AI/ML API models' forms enforce the documented ranges (specs/001 and 002): a value just inside
each boundary passes, one just outside fails with a message on that field."""

from __future__ import annotations

import pytest

from studio.catalog import BY_KEY, MUSIC, available_models
from studio.jobs.forms import GenerateForm

STABLE_AUDIO = "aimlapi-stable-audio"
ELEVEN_MUSIC = "aimlapi-eleven-music"


def form_for(key: str, **fields) -> GenerateForm:
    model = BY_KEY[key]
    return GenerateForm({"model": model.key, "prompt": "Rain on a tin roof", **fields}, catalog_model=model)


def assert_valid(form: GenerateForm) -> None:
    assert form.is_valid(), form.errors


def assert_rejected(form: GenerateForm, field: str) -> None:
    assert not form.is_valid()
    assert field in form.errors
    assert form.errors[field][0]


# --- the catalog entries ------------------------------------------------------------------


def test_both_models_are_offered_once_their_key_is_set():
    keys = [m.key for m in available_models()]

    assert STABLE_AUDIO in keys and ELEVEN_MUSIC in keys


def test_entries_name_the_provider_and_its_model_ids():
    stable, eleven = BY_KEY[STABLE_AUDIO], BY_KEY[ELEVEN_MUSIC]

    assert (stable.label, stable.provider, stable.provider_model, stable.kind) == (
        "Stable Audio (AI/ML API)", "aimlapi", "stable-audio", MUSIC,
    )  # fmt: skip
    assert (eleven.label, eleven.provider, eleven.provider_model, eleven.kind) == (
        "Eleven Music (AI/ML API)", "aimlapi", "elevenlabs/eleven_music", MUSIC,
    )  # fmt: skip
    assert "sound effects" in stable.description


def test_every_documented_parameter_is_a_field():
    assert [p.name for p in BY_KEY[STABLE_AUDIO].spec.params] == ["prompt", "seconds_total", "seconds_start", "steps"]
    assert [p.name for p in BY_KEY[ELEVEN_MUSIC].spec.params] == ["prompt", "music_length_ms"]


def test_every_field_has_help_text():
    for key in (STABLE_AUDIO, ELEVEN_MUSIC):
        for param in BY_KEY[key].spec.params:
            assert param.help, f"{key}.{param.name} has no help text"


def test_defaults_are_the_providers_own():
    stable = {p.name: p.default for p in BY_KEY[STABLE_AUDIO].spec.params}
    eleven = {p.name: p.default for p in BY_KEY[ELEVEN_MUSIC].spec.params}

    assert (stable["seconds_total"], stable["steps"], stable["seconds_start"]) == (30, 100, None)
    assert eleven["music_length_ms"] == 10000


# --- Stable Audio ---------------------------------------------------------------------------


def test_stable_audio_with_only_a_prompt_is_valid_and_sends_only_the_prompt():
    form = form_for(STABLE_AUDIO)

    assert_valid(form)
    assert form.parameters() == {"prompt": "Rain on a tin roof"}


def test_stable_audio_prompt_is_required():
    assert_rejected(form_for(STABLE_AUDIO, prompt=""), "prompt")


@pytest.mark.parametrize(
    "field, inside, outside",
    [
        ("seconds_total", 1, 0),
        ("seconds_total", 47, 48),
        ("seconds_start", 1, 0),
        ("steps", 1, 0),
        ("steps", 1000, 1001),
    ],
)
def test_stable_audio_ranges(field, inside, outside):
    assert_valid(form_for(STABLE_AUDIO, **{field: inside}))
    assert_rejected(form_for(STABLE_AUDIO, **{field: outside}), field)


def test_stable_audio_start_reaches_46_at_most_with_the_longest_duration():
    assert_valid(form_for(STABLE_AUDIO, seconds_start=46, seconds_total=47))
    assert_rejected(form_for(STABLE_AUDIO, seconds_start=48, seconds_total=47), "seconds_start")


@pytest.mark.parametrize("field", ["seconds_total", "seconds_start", "steps"])
def test_stable_audio_numbers_must_be_whole(field):
    assert_rejected(form_for(STABLE_AUDIO, **{field: "10.5"}), field)


def test_stable_audio_start_must_be_before_the_duration():
    assert_valid(form_for(STABLE_AUDIO, seconds_start=9, seconds_total=10))
    form = form_for(STABLE_AUDIO, seconds_start=10, seconds_total=10)

    assert_rejected(form, "seconds_start")
    assert "10 s" in form.errors["seconds_start"][0]


def test_stable_audio_start_is_checked_against_the_default_duration_when_none_is_given():
    assert_valid(form_for(STABLE_AUDIO, seconds_start=29))
    assert_rejected(form_for(STABLE_AUDIO, seconds_start=30), "seconds_start")


def test_an_invalid_duration_does_not_add_a_second_error_on_start():
    form = form_for(STABLE_AUDIO, seconds_start=35, seconds_total=48)

    assert_rejected(form, "seconds_total")
    assert "seconds_start" not in form.errors


def test_stable_audio_sends_every_value_set_as_integers():
    form = form_for(STABLE_AUDIO, seconds_start=2, seconds_total=10, steps=250)

    assert_valid(form)
    assert form.parameters() == {"prompt": "Rain on a tin roof", "seconds_start": 2, "seconds_total": 10, "steps": 250}
    assert all(type(form.parameters()[name]) is int for name in ("seconds_start", "seconds_total", "steps"))


# --- Eleven Music ---------------------------------------------------------------------------


def test_eleven_music_prompt_is_required():
    assert_rejected(form_for(ELEVEN_MUSIC, prompt=""), "prompt")


def test_eleven_music_prompt_is_at_most_2000_characters():
    assert_valid(form_for(ELEVEN_MUSIC, prompt="x" * 2000))
    assert_rejected(form_for(ELEVEN_MUSIC, prompt="x" * 2001), "prompt")


@pytest.mark.parametrize("inside, outside", [(10000, 9999), (300000, 300001)])
def test_eleven_music_length_range(inside, outside):
    assert_valid(form_for(ELEVEN_MUSIC, music_length_ms=inside))
    assert_rejected(form_for(ELEVEN_MUSIC, music_length_ms=outside), "music_length_ms")


def test_eleven_music_length_must_be_whole_milliseconds():
    assert_rejected(form_for(ELEVEN_MUSIC, music_length_ms="20000.5"), "music_length_ms")


def test_eleven_music_sends_the_length_as_an_integer():
    form = form_for(ELEVEN_MUSIC, music_length_ms="20000")

    assert_valid(form)
    assert form.parameters() == {"prompt": "Rain on a tin roof", "music_length_ms": 20000}
