"""Eleven Music v1 (Runware) form: every documented range and choice (specs/004), the audio
settings' per-format bitrate tables, and the composition plan editor's checks. A value just
inside a boundary passes; one just outside fails with a message on that field."""

from __future__ import annotations

import json

import pytest

from studio.catalog import BY_KEY, MUSIC, available_models
from studio.catalog.composition import CompositionPlanField, PlanLimits
from studio.catalog.runware import MP3_BITRATES, OGG_BITRATES
from studio.jobs.forms import GenerateForm

KEY = "runware-eleven-music"
MODEL = BY_KEY[KEY]


def section(name="Verse", duration=20, **fields) -> dict:
    return {"sectionName": name, "duration": duration, **fields}


def plan(*sections, **fields) -> str:
    body = {"positiveGlobalStyles": ["synthwave"], "negativeGlobalStyles": [], "sections": list(sections), **fields}
    return json.dumps(body)


def form_for(**fields) -> GenerateForm:
    data = {"model": KEY, "positivePrompt": "Driving synthwave with a female vocal", **fields}
    return GenerateForm({k: v for k, v in data.items() if v is not None}, catalog_model=MODEL)


def assert_valid(form: GenerateForm) -> dict:
    assert form.is_valid(), form.errors
    return form.parameters()


def assert_rejected(form: GenerateForm, field: str, *words: str) -> str:
    assert not form.is_valid()
    assert field in form.errors, form.errors
    message = " ".join(form.errors[field])
    for word in words:
        assert word in message
    return message


# --- the catalog entry ----------------------------------------------------------------------


def test_the_model_is_offered_once_its_key_is_set():
    assert KEY in [m.key for m in available_models()]


def test_the_entry_names_runware_and_its_model_id():
    assert (MODEL.label, MODEL.provider, MODEL.provider_model, MODEL.kind) == (
        "Eleven Music v1 (Runware)", "runware", "elevenlabs:1@1", MUSIC,
    )  # fmt: skip
    assert MODEL.spec.prompt_param == "positivePrompt"
    assert MODEL.deadline_minutes >= 20


def test_every_documented_parameter_is_a_field_and_has_help():
    names = [p.name for p in MODEL.spec.params]

    assert names == [
        "positivePrompt", "duration", "numberResults", "forceInstrumental", "compositionPlan",
        "respectSectionsDurations", "outputFormat", "sampleRate", "bitrate", "channels",
    ]  # fmt: skip
    assert all(p.help for p in MODEL.spec.params)


def test_a_prompt_alone_is_a_valid_request_with_nothing_else_sent():
    assert assert_valid(form_for()) == {"positivePrompt": "Driving synthwave with a female vocal"}


def test_every_setting_is_cleaned_to_its_wire_type():
    params = assert_valid(
        form_for(
            duration="120",
            numberResults="2",
            forceInstrumental="true",
            respectSectionsDurations="false",
            outputFormat="MP3",
            sampleRate="48000",
            bitrate="256",
            channels="1",
        )
    )

    assert params == {
        "positivePrompt": "Driving synthwave with a female vocal",
        "duration": 120,
        "numberResults": 2,
        "forceInstrumental": True,
        "respectSectionsDurations": False,
        "outputFormat": "MP3",
        "sampleRate": 48000,
        "bitrate": 256,
        "channels": 1,
    }


# --- prompt, length and variations ------------------------------------------------------------


def test_prompt_of_2000_characters_passes_and_2001_fails():
    assert_valid(form_for(positivePrompt="a" * 2000))
    assert_rejected(form_for(positivePrompt="a" * 2001), "positivePrompt", "2000")


def test_without_a_prompt_or_a_plan_the_prompt_is_asked_for():
    assert_rejected(form_for(positivePrompt=""), "positivePrompt", "prompt", "composition plan")


def test_a_plan_may_stand_in_for_the_prompt():
    params = assert_valid(form_for(positivePrompt="", compositionPlan=plan(section())))

    assert "positivePrompt" not in params
    assert params["compositionPlan"]["sections"][0]["sectionName"] == "Verse"


@pytest.mark.parametrize(
    "field, inside, outside",
    [("duration", (10, 300), (9, 301)), ("numberResults", (1, 4), (0, 5)), ("bitrate", (32, 320), (7, 321))],
)
def test_number_boundaries(field, inside, outside):
    extra = {"sampleRate": "44100"} if field == "bitrate" else {}
    for value in inside:
        assert_valid(form_for(**{field: str(value)}, **extra))
    for value in outside:
        assert_rejected(form_for(**{field: str(value)}, **extra), field)


@pytest.mark.parametrize("field", ["duration", "numberResults", "bitrate"])
def test_numbers_must_be_whole(field):
    assert_rejected(form_for(**{field: "12.5"}, sampleRate="44100"), field)


# --- choices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["MP3", "WAV", "FLAC", "OGG", ""])
def test_every_output_format_and_the_provider_default_pass(value):
    assert_valid(form_for(outputFormat=value))


@pytest.mark.parametrize("value", ["mp3", "AAC", "opus_48000_64"])
def test_other_output_formats_fail(value):
    assert_rejected(form_for(outputFormat=value), "outputFormat")


@pytest.mark.parametrize("rate", sorted(MP3_BITRATES))
def test_every_mp3_sample_rate_passes(rate):
    assert assert_valid(form_for(outputFormat="MP3", sampleRate=str(rate)))["sampleRate"] == rate


@pytest.mark.parametrize("rate", ["44000", "96000", "0"])
def test_sample_rates_outside_the_tables_fail(rate):
    assert_rejected(form_for(sampleRate=rate), "sampleRate")


@pytest.mark.parametrize("channels, passes", [("1", True), ("2", True), ("3", False), ("0", False)])
def test_channels_are_mono_or_stereo(channels, passes):
    form = form_for(channels=channels)
    if passes:
        assert_valid(form)
    else:
        assert_rejected(form, "channels")


@pytest.mark.parametrize("field", ["forceInstrumental", "respectSectionsDurations"])
def test_flags_take_yes_no_or_the_provider_default(field):
    assert assert_valid(form_for(**{field: "true"}))[field] is True
    assert assert_valid(form_for(**{field: "false"}))[field] is False
    assert field not in assert_valid(form_for(**{field: ""}))
    assert_rejected(form_for(**{field: "maybe"}), field)


# --- audio settings against the format (cross-field) --------------------------------------------


@pytest.mark.parametrize("lossless", ["WAV", "FLAC"])
@pytest.mark.parametrize("field, value", [("sampleRate", "44100"), ("bitrate", "128"), ("channels", "2")])
def test_audio_settings_are_refused_for_lossless_formats(lossless, field, value):
    extra = {"sampleRate": "44100"} if field == "bitrate" else {}
    assert_rejected(form_for(outputFormat=lossless, **{field: value}, **extra), field, "MP3 and OGG only", lossless)


@pytest.mark.parametrize("rate, limits", sorted(MP3_BITRATES.items()))
def test_mp3_bitrate_limits_follow_the_sample_rate(rate, limits):
    low, high = limits
    for output_format in ("MP3", ""):  # MP3 is the provider default
        assert_valid(form_for(outputFormat=output_format, sampleRate=str(rate), bitrate=str(low)))
        assert_valid(form_for(outputFormat=output_format, sampleRate=str(rate), bitrate=str(high)))
    if low > 8:
        assert_rejected(form_for(sampleRate=str(rate), bitrate=str(low - 1)), "bitrate", f"{low} to {high} kbps")
    # Past 320 kbps the field's own ceiling speaks before the per-rate table.
    words = (f"{rate:,} Hz", f"{low} to {high} kbps") if high < 320 else ("320",)
    assert_rejected(form_for(sampleRate=str(rate), bitrate=str(high + 1)), "bitrate", *words)


@pytest.mark.parametrize(
    "channels, rate, limits", [(c, r, lim) for c, table in OGG_BITRATES.items() for r, lim in sorted(table.items())]
)
def test_ogg_bitrate_limits_follow_the_sample_rate_and_channels(channels, rate, limits):
    low, high = limits
    layout = {1: "mono", 2: "stereo"}[channels]
    fields = {"outputFormat": "OGG", "sampleRate": str(rate), "channels": str(channels)}
    assert_valid(form_for(**fields, bitrate=str(low)))
    assert_valid(form_for(**fields, bitrate=str(high)))
    if low > 8:
        assert_rejected(form_for(**fields, bitrate=str(low - 1)), "bitrate", layout, f"{low} to {high} kbps")
    assert_rejected(form_for(**fields, bitrate=str(high + 1)), "bitrate", layout, f"{low} to {high} kbps")


def test_ogg_limits_default_to_stereo_when_channels_are_left_to_the_provider():
    assert_valid(form_for(outputFormat="OGG", sampleRate="48000", bitrate="256"))
    assert_rejected(form_for(outputFormat="OGG", sampleRate="48000", bitrate="40"), "bitrate", "stereo")


@pytest.mark.parametrize("rate", ["11025", "22050", "32000", "44100"])
def test_ogg_takes_only_its_own_sample_rates(rate):
    assert_rejected(form_for(outputFormat="OGG", sampleRate=rate), "sampleRate", "OGG", "48,000")


def test_a_bitrate_needs_a_sample_rate_to_be_checked_against():
    assert_rejected(form_for(bitrate="128"), "bitrate", "sample rate")


# --- the composition plan ------------------------------------------------------------------------


def test_a_full_plan_is_cleaned_to_the_wire_shape():
    raw = plan(
        section("Intro", 3, positiveLocalStyles=[" soft pads ", ""], lines=[]),
        section("Chorus", 120, lines=["Neon lights", "  ", "Carry me home"], negativeLocalStyles=["drums"]),
        negativeGlobalStyles=["acoustic"],
    )

    params = assert_valid(form_for(compositionPlan=raw, respectSectionsDurations="true"))

    assert params["compositionPlan"] == {
        "positiveGlobalStyles": ["synthwave"],
        "negativeGlobalStyles": ["acoustic"],
        "sections": [
            {
                "sectionName": "Intro",
                "positiveLocalStyles": ["soft pads"],
                "negativeLocalStyles": [],
                "duration": 3,
                "lines": [],
            },
            {
                "sectionName": "Chorus",
                "positiveLocalStyles": [],
                "negativeLocalStyles": ["drums"],
                "duration": 120,
                "lines": ["Neon lights", "Carry me home"],
            },
        ],
    }
    json.dumps(params)  # stored on the generation as JSON


def test_an_empty_plan_is_no_plan():
    assert "compositionPlan" not in assert_valid(form_for(compositionPlan=""))
    assert "compositionPlan" not in assert_valid(form_for(compositionPlan="{}"))


@pytest.mark.parametrize(
    "duration, passes", [(3, True), (120, True), (2, False), (121, False), (10.5, False), ("20", False)]
)
def test_section_duration_is_3_to_120_whole_seconds(duration, passes):
    form = form_for(compositionPlan=plan(section("Bridge", duration)))
    if passes:
        assert_valid(form)
    else:
        assert_rejected(form, "compositionPlan", "Section 1 (“Bridge”)", "duration", "3 to 120")


def test_errors_name_the_section_and_its_field():
    message = assert_rejected(
        form_for(compositionPlan=plan(section("Intro", 10), section("", 10), section("Outro", 200))),
        "compositionPlan",
    )

    assert "Section 2: the section name is required." in message
    assert "Section 3 (“Outro”): the duration must be" in message
    assert "Intro" not in message


def test_section_name_of_100_characters_passes_and_101_fails():
    assert_valid(form_for(compositionPlan=plan(section("n" * 100))))
    assert_rejected(form_for(compositionPlan=plan(section("n" * 101))), "compositionPlan", "section name", "100 characters")


def test_a_missing_duration_is_asked_for():
    raw = json.dumps({"sections": [{"sectionName": "Verse"}]})

    assert_rejected(form_for(compositionPlan=raw), "compositionPlan", "Section 1 (“Verse”)", "duration is required")


def test_a_plan_needs_at_least_one_section():
    assert_rejected(form_for(compositionPlan=plan()), "compositionPlan", "at least 1 section")


def test_the_sections_may_add_up_to_300_seconds_but_no_more():
    assert_valid(form_for(compositionPlan=plan(*(section(f"Part {n}", 100) for n in range(3)))))
    assert_rejected(
        form_for(compositionPlan=plan(*(section(f"Part {n}", 100) for n in range(3)), section("Coda", 3))),
        "compositionPlan",
        "303 seconds",
        "300",
    )


@pytest.mark.parametrize(
    "raw, words",
    [
        ("{not json", ("not valid JSON",)),
        ("[1, 2]", ("JSON object",)),
        (
            json.dumps({"sections": [section()], "positive_global_styles": ["x"]}),
            ("unknown field", "positive_global_styles"),
        ),
        (json.dumps({"sections": [section(duration_ms=20000)]}), ("Section 1", "unknown field", "duration_ms")),
        (json.dumps({"sections": [section(lines="la la")]}), ("Section 1", "lines", "list of text")),
        (json.dumps({"sections": [section()], "negativeGlobalStyles": [1]}), ("negative global styles",)),
        (json.dumps({"sections": ["Verse"]}), ("Section 1 must be an object",)),
        (json.dumps({"sections": {"sectionName": "Verse"}}), ("at least 1 section",)),
    ],
    ids=["not-json", "a-list", "snake-case-key", "unknown-section-key", "lines-not-a-list", "style-not-text",
         "section-not-an-object", "sections-not-a-list"],
)  # fmt: skip
def test_malformed_plans_are_explained(raw, words):
    assert_rejected(form_for(compositionPlan=raw), "compositionPlan", *words)


def test_a_bound_form_shows_the_plan_as_posted_and_a_fresh_one_shows_the_stored_plan():
    raw = plan(section("Verse", 200))
    bound = form_for(compositionPlan=raw)
    bound.is_valid()
    stored = {"positiveGlobalStyles": [], "negativeGlobalStyles": [], "sections": [section("Hook", 12, lines=[])]}
    fresh = GenerateForm(catalog_model=MODEL, initial={"compositionPlan": stored})

    assert "Verse" in str(bound["compositionPlan"]) and "200" in str(bound["compositionPlan"])
    assert "&quot;Hook&quot;" in str(fresh["compositionPlan"])


def test_the_editor_renders_every_input_with_a_label_and_the_json_textarea_as_the_fallback():
    html = str(form_for()["compositionPlan"])

    assert '<textarea name="compositionPlan"' in html and 'id="id_compositionPlan"' in html
    assert "data-plan-editor" in html and "hidden" in html  # the editor waits for the script
    assert "composition_plan.js" in html
    for input_id in ("positive_global", "negative_global", "s__KEY___name", "s__KEY___duration", "s__KEY___lines",
                     "s__KEY___positive", "s__KEY___negative"):  # fmt: skip
        assert f'<label for="id_compositionPlan_{input_id}">' in html
        assert f'id="id_compositionPlan_{input_id}"' in html
    assert 'min="3" max="120"' in html
    assert 'maxlength="100"' in html


def test_the_plan_field_can_take_other_limits():
    field = CompositionPlanField(limits=PlanLimits(section_min_seconds=5, max_total_seconds=None), required=False)

    assert field.clean(json.dumps({"sections": [section(duration=120), section(duration=120), section(duration=120)]}))
    with pytest.raises(Exception) as caught:
        field.clean(json.dumps({"sections": [section(duration=4)]}))
    assert "5 to 120" in str(caught.value)


# --- sizes: what a five-minute song can use, checked on the server -----------------------------


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("[" * 10_000, ("not valid JSON", "nested")),
        (json.dumps({"sections": [section()], "padding": "x" * 60_000}), ("characters long", "at most 50,000")),
        (json.dumps({"sections": [section()] * 101}), ("101 sections", "at most 100")),
        (json.dumps({"sections": [section()], "positiveGlobalStyles": ["rock"] * 51}), ("positive global styles", "at most 50")),
        (json.dumps({"sections": [section()], "negativeGlobalStyles": ["x" * 201]}), ("negative global styles", "200 characters")),
        (json.dumps({"sections": [section(lines=["la"] * 101)]}), ("Section 1", "lines", "at most 100")),
        (json.dumps({"sections": [section(lines=["la" * 251])]}), ("Section 1", "lines", "500 characters")),
        (json.dumps({"sections": [section(positiveLocalStyles=["s"] * 51)]}), ("positive local styles", "at most 50")),
    ],
    ids=["nested", "too-long", "too-many-sections", "too-many-styles", "style-too-long", "too-many-lines",
         "line-too-long", "too-many-local-styles"],
)  # fmt: skip
def test_oversized_plans_lyrics_and_style_lists_are_refused(raw, words):
    assert_rejected(form_for(compositionPlan=raw), "compositionPlan", *words)


def test_a_number_far_out_of_range_is_refused_in_words_not_a_crash():
    for value in ("9" * 400, "-" + "9" * 400):
        assert_rejected(form_for(numberResults=value), "numberResults", "Ensure this value")
    assert_rejected(form_for(numberResults="1e309"), "numberResults", "whole number")
