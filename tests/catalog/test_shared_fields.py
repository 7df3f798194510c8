"""The one table of where shared fields land in each model, and how a length and a format are mapped."""

import pytest

from studio.catalog import BY_KEY, MODELS, ROUTED_MODELS
from studio.catalog.any_gateway import served_by
from studio.catalog.params import Choice, Flag, Number
from studio.catalog.shared_fields import SHARED_FORMATS, TABLE, clamp_length, filled_params, model_values, nearest_format


def test_every_model_has_a_row_and_every_row_names_its_own_parameters():
    assert set(TABLE) == {m.key for m in (*MODELS, *ROUTED_MODELS)}
    for key, lands in TABLE.items():
        model = BY_KEY[key]
        params = {p.name: p for p in model.spec.params}
        assert lands.prompt == model.spec.prompt_param
        assert lands.length is None or isinstance(params[lands.length], Number), key
        assert lands.instrumental is None or isinstance(params[lands.instrumental], Flag), key
        assert lands.output_format is None or isinstance(params[lands.output_format], Choice), key


@pytest.mark.parametrize(
    ("key", "seconds", "expected"),
    [
        ("aimlapi-eleven-music", 30, 30000),
        ("aimlapi-eleven-music", 3, 10000),  # below its range: its minimum
        ("apiframe-eleven-music", 12.4, 12000),  # whole seconds: its step is 1,000 ms
        ("apiframe-eleven-music", 900, 300000),
        ("runware-eleven-music", 45, 45),
        ("aimlapi-stable-audio", 60, 47),  # Stable Audio stops at 47 s
        ("elevenlabs-sound-effects", 0.2, 0.5),
        ("eleven-music-any", 5, 10),
    ],
)
def test_a_length_in_seconds_lands_in_the_models_unit_and_range(key, seconds, expected):
    assert model_values(BY_KEY[key], {"length_seconds": seconds})[TABLE[key].length] == expected


def test_models_without_a_length_or_switch_leave_them_out():
    values = model_values(BY_KEY["pixazo-eleven-music"], {"prompt": "x", "length_seconds": 30, "instrumental": True})
    assert values == {"prompt": "x"}


@pytest.mark.parametrize(
    ("wanted", "offered_by", "expected"),
    [
        ("mp3_192", "pixazo-eleven-music", "mp3_44100_192"),
        ("mp3_128", "apiframe-eleven-music", "mp3_standard"),
        ("mp3_192", "apiframe-eleven-music", "mp3_high_quality"),
        ("wav", "pixazo-eleven-music", "pcm_44100"),
        ("wav", "apiframe-eleven-music", "wav_cd_quality"),
        ("flac", "apiframe-eleven-music", "wav_cd_quality"),  # lossless: the nearest lossless
        ("flac", "runware-eleven-music", "FLAC"),
        ("ogg", "elevenlabs-speech", "opus_48000_128"),
        ("ogg", "apiframe-eleven-music", "mp3_standard"),  # no Ogg there: a lossy format near its rate
        ("wav", "runware-eleven-music", "WAV"),
    ],
)
def test_an_output_format_lands_on_the_nearest_the_model_offers(wanted, offered_by, expected):
    choice = next(p for p in BY_KEY[offered_by].spec.params if p.name == TABLE[offered_by].output_format)
    assert nearest_format(wanted, [value for value, _ in choice.choices]) == expected


def test_every_shared_format_lands_somewhere_on_every_model_that_takes_a_format():
    for key, lands in TABLE.items():
        if lands.output_format:
            for wanted, _ in SHARED_FORMATS:
                assert model_values(BY_KEY[key], {"output_format": wanted})[lands.output_format]


def test_a_step_and_an_integer_are_kept():
    param = Number(name="n", label="n", min=5000, max=300000, step=1000, integer=True)
    assert clamp_length(param, 7.6, 1000) == 8000


def test_the_filled_parameters_are_those_of_the_table():
    assert filled_params(BY_KEY["runware-eleven-music"]) == {"positivePrompt", "duration", "forceInstrumental", "outputFormat"}


def test_a_gateway_serves_the_routed_fields_in_its_own_wire_form():
    served = served_by(BY_KEY["apiframe-eleven-music"])
    wire = served.spec.to_wire({"prompt": "Calm piano", "length_seconds": 20, "instrumental": False, "output_format": "wav"})
    assert wire == {"prompt": "Calm piano", "music_length_ms": 20000, "force_instrumental": False, "output_format": "wav_cd_quality"}
    assert (served.key, served.provider, served.label) == ("apiframe-eleven-music", "apiframe", "Eleven Music (Apiframe)")
