"""The Apiframe model's form enforces the documented ranges and choices (specs/003): a value just
inside each boundary passes, one just outside fails with a message on that field."""

from __future__ import annotations

import pytest

from studio.catalog import BY_KEY, MUSIC, available_models
from studio.jobs.forms import GenerateForm

KEY = "apiframe-eleven-music"
OUTPUT_FORMATS = ("mp3_standard", "mp3_high_quality", "wav_16khz", "wav_22khz", "wav_24khz", "wav_cd_quality")


def form_for(**fields) -> GenerateForm:
    model = BY_KEY[KEY]
    data = {"model": model.key, "prompt": "An upbeat synthwave track with a driving bassline", **fields}
    return GenerateForm(data, catalog_model=model)


def assert_valid(form: GenerateForm) -> None:
    assert form.is_valid(), form.errors


def assert_rejected(form: GenerateForm, field: str) -> None:
    assert not form.is_valid()
    assert field in form.errors
    assert form.errors[field][0]


# --- the catalog entry --------------------------------------------------------------------


def test_model_is_offered_once_its_key_is_set():
    assert KEY in [m.key for m in available_models()]


def test_entry_names_the_provider_and_its_model_id():
    model = BY_KEY[KEY]

    assert model.label == "Eleven Music (Apiframe)"
    assert model.kind == MUSIC
    assert model.provider == "apiframe"
    assert model.provider_model == "elevenlabs-music"
    assert model.spec.prompt_param == "prompt"
    assert [p.name for p in model.spec.params] == ["prompt", "music_length_ms", "force_instrumental", "output_format"]


def test_every_field_has_a_label_and_help_text():
    for param in BY_KEY[KEY].spec.params:
        assert param.label and param.help, param.name


# --- prompt ---------------------------------------------------------------------------------


def test_prompt_is_required():
    assert_rejected(form_for(prompt=""), "prompt")


def test_prompt_of_5000_characters_passes_and_5001_fails():
    assert_valid(form_for(prompt="x" * 5000))
    assert_rejected(form_for(prompt="x" * 5001), "prompt")


# --- music_length_ms: 5000 to 300000, in steps of 1000 -------------------------------------------


@pytest.mark.parametrize("length", [5000, 6000, 60000, 299000, 300000])
def test_lengths_on_the_step_within_the_range_pass(length):
    form = form_for(music_length_ms=str(length))

    assert_valid(form)
    assert form.parameters()["music_length_ms"] == length


@pytest.mark.parametrize("length", [4999, 4000, 300001, 301000, 0, -5000])
def test_lengths_outside_the_range_fail(length):
    assert_rejected(form_for(music_length_ms=str(length)), "music_length_ms")


@pytest.mark.parametrize("length", [5001, 5500, 61500, 299999])
def test_lengths_off_the_1000_ms_step_fail(length):
    assert_rejected(form_for(music_length_ms=str(length)), "music_length_ms")


def test_fractional_length_fails():
    assert_rejected(form_for(music_length_ms="60000.5"), "music_length_ms")


def test_empty_length_leaves_the_provider_default():
    form = form_for(music_length_ms="")

    assert_valid(form)
    assert "music_length_ms" not in form.parameters()


# --- force_instrumental -----------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [("true", True), ("false", False)])
def test_instrumental_flag_becomes_a_boolean(value, expected):
    form = form_for(force_instrumental=value)

    assert_valid(form)
    assert form.parameters()["force_instrumental"] is expected


def test_instrumental_left_at_the_provider_default_is_not_sent():
    form = form_for(force_instrumental="")

    assert_valid(form)
    assert "force_instrumental" not in form.parameters()


def test_instrumental_rejects_anything_but_yes_no_or_default():
    assert_rejected(form_for(force_instrumental="maybe"), "force_instrumental")


# --- output_format ---------------------------------------------------------------------------


@pytest.mark.parametrize("output_format", OUTPUT_FORMATS)
def test_every_documented_output_format_passes(output_format):
    form = form_for(output_format=output_format)

    assert_valid(form)
    assert form.parameters()["output_format"] == output_format


@pytest.mark.parametrize("output_format", ["mp3_44100_128", "wav", "flac_cd_quality", "MP3_STANDARD"])
def test_undocumented_output_formats_fail(output_format):
    assert_rejected(form_for(output_format=output_format), "output_format")


def test_blank_output_format_leaves_the_provider_default():
    form = form_for(output_format="")

    assert_valid(form)
    assert "output_format" not in form.parameters()


def test_full_form_gives_the_flat_parameters_the_adapter_nests():
    form = form_for(music_length_ms="125000", force_instrumental="true", output_format="wav_cd_quality")

    assert_valid(form)
    assert form.parameters() == {
        "prompt": "An upbeat synthwave track with a driving bassline",
        "music_length_ms": 125000,
        "force_instrumental": True,
        "output_format": "wav_cd_quality",
    }
