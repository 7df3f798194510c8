"""The ElevenLabs models' forms (specs/001, ElevenLabs half): every documented range and choice,
the voice list fetched from the account (cached, with a fallback), and the cross-field rules.

The voices request is mocked at the conftest's test base URL; the cache is cleared around each test.
"""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import httpx
import pytest
import respx
from django.core.cache import cache

from studio.catalog import BY_KEY, SFX, SPEECH, available_models
from studio.catalog import elevenlabs as catalog
from studio.jobs.forms import GenerateForm

SPEECH_KEY = "elevenlabs-speech"
SFX_KEY = "elevenlabs-sound-effects"
VOICES_URL = "https://elevenlabs.test/v1/voices"
ACCOUNT_VOICES = {
    "voices": [
        {"voice_id": "21m00Tcm4TlvDq8ikWAM", "name": "Rachel", "category": "premade", "labels": {}, "preview_url": ""},
        {"voice_id": "clone-42", "name": "Ada", "category": "cloned", "labels": {}, "preview_url": ""},
    ]
}


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def voices_api():
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as api:
        route = api.get(VOICES_URL).mock(return_value=httpx.Response(200, json=ACCOUNT_VOICES))
        yield route


def speech_form(**fields) -> GenerateForm:
    model = BY_KEY[SPEECH_KEY]
    data = {"model": model.key, "text": "Welcome to the studio.", "voice_id": "21m00Tcm4TlvDq8ikWAM", **fields}
    return GenerateForm(data, catalog_model=model)


def sfx_form(**fields) -> GenerateForm:
    model = BY_KEY[SFX_KEY]
    return GenerateForm({"model": model.key, "text": "Door creaks open", **fields}, catalog_model=model)


def assert_valid(form: GenerateForm) -> None:
    assert form.is_valid(), form.errors


def assert_rejected(form: GenerateForm, field: str, *words: str) -> None:
    assert not form.is_valid()
    assert field in form.errors, form.errors
    message = " ".join(form.errors[field])
    assert message
    for word in words:
        assert word in message


# --- The catalog entries ---------------------------------------------------------------------------


def test_both_models_are_offered_once_the_key_is_set():
    keys = [m.key for m in available_models()]

    assert SPEECH_KEY in keys and SFX_KEY in keys


def test_entries_name_the_provider_and_the_endpoint():
    speech, sfx = BY_KEY[SPEECH_KEY], BY_KEY[SFX_KEY]

    assert (speech.label, speech.kind, speech.provider, speech.provider_model) == (
        "ElevenLabs speech", SPEECH, "elevenlabs", "text-to-speech",
    )  # fmt: skip
    assert (sfx.label, sfx.kind, sfx.provider, sfx.provider_model) == (
        "ElevenLabs sound effects", SFX, "elevenlabs", "sound-generation",
    )  # fmt: skip
    assert speech.spec.prompt_param == sfx.spec.prompt_param == "text"
    assert speech.deadline_minutes <= 15 and sfx.deadline_minutes <= 15  # synchronous: minutes at most


def test_every_documented_parameter_is_a_field():
    assert [p.name for p in BY_KEY[SPEECH_KEY].spec.params] == [
        "text", "voice_id", "model_id", "language_code", "stability", "similarity_boost", "style",
        "use_speaker_boost", "speed", "seed", "previous_text", "next_text", "previous_request_ids",
        "next_request_ids", "apply_text_normalization", "apply_language_text_normalization",
        "pronunciation_dictionary_locators", "use_pvc_as_ivc", "enable_logging",
        "optimize_streaming_latency", "output_format",
    ]  # fmt: skip
    assert [p.name for p in BY_KEY[SFX_KEY].spec.params] == [
        "text", "duration_seconds", "prompt_influence", "loop", "model_id", "output_format",
    ]  # fmt: skip


def test_every_field_has_help_text():
    for key in (SPEECH_KEY, SFX_KEY):
        for param in BY_KEY[key].spec.params:
            assert param.help, f"{key}.{param.name} has no help text"


# --- The voice list ------------------------------------------------------------------------------------


def test_voice_field_lists_the_account_voices_by_name_and_category(voices_api):
    choices = speech_form().fields["voice_id"].choices

    assert choices == [("clone-42", "Ada (cloned)"), ("21m00Tcm4TlvDq8ikWAM", "Rachel (premade)")]
    assert voices_api.calls.last.request.headers["xi-api-key"] == "test-elevenlabs-key"


def test_voice_list_is_fetched_once_then_cached(voices_api):
    speech_form()
    speech_form()
    GenerateForm(catalog_model=BY_KEY[SPEECH_KEY])

    assert voices_api.call_count == 1


def test_voice_list_is_cached_for_about_ten_minutes(voices_api):
    with mock.patch.object(cache, "set", wraps=cache.set) as cache_set:
        speech_form()

    assert cache_set.call_args.args[2] == catalog.VOICES_CACHE_SECONDS == 600


def test_each_account_has_its_own_cached_voice_list(voices_api, settings):
    speech_form()
    settings.PROVIDERS = {**settings.PROVIDERS, "elevenlabs": {"api_key": "other-key", "base_url": "https://elevenlabs.test"}}
    speech_form()

    assert voices_api.call_count == 2
    assert voices_api.calls.last.request.headers["xi-api-key"] == "other-key"


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(500, json={"detail": {"message": "boom"}}), httpx.Response(401, json={}), httpx.ConnectError("down")],
    ids=["server-error", "bad-key", "unreachable"],
)
def test_when_elevenlabs_cannot_list_voices_the_default_voices_are_offered_briefly(answer, settings):
    with respx.mock(assert_all_mocked=True) as api:
        route = api.get(VOICES_URL)
        route.side_effect = answer if isinstance(answer, Exception) else None
        if not isinstance(answer, Exception):
            route.return_value = answer
        with mock.patch.object(cache, "set", wraps=cache.set) as cache_set:
            form = speech_form(voice_id="JBFqnCBsd6RMkjVDRZzb")

    ids = [voice_id for voice_id, _ in form.fields["voice_id"].choices]
    assert ids == [voice_id for voice_id, _ in catalog.FALLBACK_VOICES]
    assert "JBFqnCBsd6RMkjVDRZzb" in ids
    assert cache_set.call_args.args[2] == catalog.FALLBACK_CACHE_SECONDS < 60
    assert_valid(form)


def test_an_account_without_voices_gets_the_default_ones(settings):
    with respx.mock(assert_all_mocked=True) as api:
        api.get(VOICES_URL).mock(return_value=httpx.Response(200, json={"voices": []}))
        choices = speech_form().fields["voice_id"].choices

    assert len(choices) == len(catalog.FALLBACK_VOICES)


def test_voice_is_required_and_must_be_one_of_the_account(voices_api):
    assert_valid(speech_form(voice_id="clone-42"))
    assert_rejected(speech_form(voice_id=""), "voice_id")
    assert_rejected(speech_form(voice_id="not-my-voice"), "voice_id")


def test_default_voice_is_preselected(voices_api):
    assert GenerateForm(catalog_model=BY_KEY[SPEECH_KEY]).fields["voice_id"].initial == catalog.DEFAULT_VOICE


# --- Speech ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, low, high, below, above",
    [
        ("stability", "0", "1", "-0.01", "1.01"),
        ("similarity_boost", "0", "1", "-0.01", "1.01"),
        ("style", "0", "1", "-0.01", "1.01"),
        ("speed", "0.7", "1.2", "0.69", "1.21"),
        ("seed", "0", "4294967295", "-1", "4294967296"),
        ("optimize_streaming_latency", "0", "4", "-1", "5"),
    ],
)
def test_speech_numbers_take_their_documented_range(voices_api, field, low, high, below, above):
    assert_valid(speech_form(**{field: low}))
    assert_valid(speech_form(**{field: high}))
    assert_rejected(speech_form(**{field: below}), field)
    assert_rejected(speech_form(**{field: above}), field)


def test_seed_and_latency_must_be_whole_numbers(voices_api):
    assert_rejected(speech_form(seed="1.5"), "seed")
    assert_rejected(speech_form(optimize_streaming_latency="2.5"), "optimize_streaming_latency")


def test_text_is_required(voices_api):
    assert_rejected(speech_form(text=""), "text")
    assert_rejected(speech_form(text="   "), "text")


@pytest.mark.parametrize(
    "model_id, limit",
    [
        ("eleven_v3", 5000),
        ("eleven_multilingual_v2", 10000),
        ("eleven_flash_v2_5", 40000),
        ("eleven_turbo_v2", 30000),
        ("", 10000),  # the provider's default model
    ],
)
def test_text_fits_the_chosen_model(voices_api, model_id, limit):
    assert_valid(speech_form(model_id=model_id, text="a" * limit))
    assert_rejected(speech_form(model_id=model_id, text="a" * (limit + 1)), "text", str(limit))


@pytest.mark.parametrize(
    "field, good, bad",
    [
        ("model_id", "eleven_flash_v2_5", "eleven_v9"),
        ("output_format", "ulaw_8000", "flac_44100"),
        ("output_format", "opus_48000_192", "mp3_44100_256"),
        ("apply_text_normalization", "off", "sometimes"),
        ("language_code", "ja", "klingon"),
    ],
)
def test_speech_choices_accept_only_the_documented_values(voices_api, field, good, bad):
    extra = {"model_id": "eleven_turbo_v2_5"} if field == "language_code" else {}
    assert_valid(speech_form(**{field: good}, **extra))
    assert_rejected(speech_form(**{field: bad}, **extra), field)


def test_every_output_format_of_the_docs_is_offered(voices_api):
    offered = {value for value, _ in speech_form().fields["output_format"].choices if value}

    assert {"mp3_22050_32", "mp3_44100_128", "mp3_44100_192", "pcm_16000", "pcm_44100", "ulaw_8000"} <= offered


def test_language_is_only_for_turbo_and_flash_v2_5(voices_api):
    assert_valid(speech_form(language_code="de", model_id="eleven_turbo_v2_5"))
    assert_valid(speech_form(language_code="de", model_id="eleven_flash_v2_5"))
    assert_rejected(speech_form(language_code="de", model_id="eleven_multilingual_v2"), "language_code", "Language")
    assert_rejected(speech_form(language_code="de", model_id=""), "language_code")


def test_text_normalization_cannot_be_on_for_v2_5_models(voices_api):
    assert_valid(speech_form(apply_text_normalization="on", model_id="eleven_multilingual_v2"))
    assert_valid(speech_form(apply_text_normalization="off", model_id="eleven_turbo_v2_5"))
    assert_rejected(
        speech_form(apply_text_normalization="on", model_id="eleven_turbo_v2_5"), "apply_text_normalization",
        "Text normalization",
    )


def test_eleven_v3_takes_only_the_three_stability_presets(voices_api):
    for preset in ("0", "0.5", "1"):
        assert_valid(speech_form(model_id="eleven_v3", stability=preset))
    assert_rejected(speech_form(model_id="eleven_v3", stability="0.51"), "stability", "Stability")
    assert_valid(speech_form(model_id="eleven_multilingual_v2", stability="0.51"))


def test_up_to_three_linked_request_ids(voices_api):
    form = speech_form(previous_request_ids="req-1\nreq-2, req-3", next_request_ids="req-9")
    assert_valid(form)
    assert form.parameters()["previous_request_ids"] == ["req-1", "req-2", "req-3"]
    assert form.parameters()["next_request_ids"] == ["req-9"]
    assert_rejected(speech_form(previous_request_ids="a b c d"), "previous_request_ids", "Previous request ids", "3")
    assert_rejected(speech_form(next_request_ids="a\nb\nc\nd"), "next_request_ids", "Next request ids")


def test_up_to_three_pronunciation_dictionaries(voices_api):
    form = speech_form(pronunciation_dictionary_locators="dict-1 ver-1\n\ndict-2, ver-2\ndict-3")
    assert_valid(form)
    assert form.parameters()["pronunciation_dictionary_locators"] == [
        {"pronunciation_dictionary_id": "dict-1", "version_id": "ver-1"},
        {"pronunciation_dictionary_id": "dict-2", "version_id": "ver-2"},
        {"pronunciation_dictionary_id": "dict-3"},
    ]
    field = "pronunciation_dictionary_locators"
    assert_rejected(speech_form(**{field: "a 1\nb 2\nc 3\nd 4"}), field, "Pronunciation dictionaries", "3")
    assert_rejected(speech_form(**{field: "a 1 extra"}), field, "one dictionary per line")


def test_cleaned_parameters_survive_storage_and_reach_the_wire_unchanged(voices_api):
    form = speech_form(
        model_id="eleven_turbo_v2_5", stability="0.35", speed="1.2", seed="42", use_speaker_boost="false",
        enable_logging="true", previous_request_ids="r1 r2", output_format="pcm_24000",
    )
    assert_valid(form)
    stored = form.parameters()  # what the generation row keeps (JSON)

    wire = BY_KEY[SPEECH_KEY].spec.to_wire(stored)  # what the pipeline hands the adapter

    assert wire == {
        "text": "Welcome to the studio.", "voice_id": "21m00Tcm4TlvDq8ikWAM", "model_id": "eleven_turbo_v2_5",
        "stability": 0.35, "speed": 1.2, "seed": 42, "use_speaker_boost": False, "enable_logging": True,
        "previous_request_ids": ["r1", "r2"], "output_format": "pcm_24000",
    }  # fmt: skip


def test_sticky_values_render_back_into_the_form(voices_api):
    form = speech_form(previous_request_ids="r1 r2", pronunciation_dictionary_locators="d1 v1")
    assert_valid(form)

    assert form.cleaned_data["previous_request_ids"] == "r1 r2"  # text, so the next form shows it as typed
    assert form.cleaned_data["pronunciation_dictionary_locators"] == "d1 v1"


# --- Sound effects ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, low, high, below, above",
    [
        ("duration_seconds", "0.5", "22", "0.49", "22.01"),
        ("prompt_influence", "0", "1", "-0.01", "1.01"),
    ],
)
def test_sound_effect_numbers_take_their_documented_range(field, low, high, below, above):
    assert_valid(sfx_form(**{field: low}))
    assert_valid(sfx_form(**{field: high}))
    assert_rejected(sfx_form(**{field: below}), field)
    assert_rejected(sfx_form(**{field: above}), field)


def test_sound_effect_duration_may_be_left_to_elevenlabs():
    form = sfx_form()

    assert_valid(form)
    assert "duration_seconds" not in form.parameters()
    assert form.fields["duration_seconds"].initial is None
    assert form.fields["prompt_influence"].initial == 0.3  # the documented default, shown


def test_sound_effect_description_is_required():
    assert_rejected(sfx_form(text=""), "text")


@pytest.mark.parametrize(
    "field, good, bad",
    [
        ("model_id", "eleven_text_to_sound_v2", "eleven_multilingual_v2"),
        ("output_format", "pcm_48000", "wav_44100"),
        ("loop", "true", "sometimes"),
    ],
)
def test_sound_effect_choices_accept_only_the_documented_values(field, good, bad):
    assert_valid(sfx_form(**{field: good}))
    assert_rejected(sfx_form(**{field: bad}), field)


def test_sound_effect_parameters_reach_the_wire_as_numbers_and_booleans():
    form = sfx_form(duration_seconds="4.5", prompt_influence="0.75", loop="true", output_format="mp3_44100_64")
    assert_valid(form)

    wire = BY_KEY[SFX_KEY].spec.to_wire(form.parameters())

    assert wire == {
        "text": "Door creaks open", "duration_seconds": 4.5, "prompt_influence": 0.75, "loop": True,
        "output_format": "mp3_44100_64",
    }  # fmt: skip
    assert isinstance(form.cleaned_data["duration_seconds"], Decimal)
