"""Apiframe models (specs/003)."""

from studio.catalog.model import MUSIC, CatalogModel, param_number
from studio.catalog.params import Choice, Flag, Number, ParamSpec, Text

APIFRAME_OUTPUT_FORMATS = (
    ("mp3_standard", "MP3, standard quality"),
    ("mp3_high_quality", "MP3, high quality"),
    ("wav_16khz", "WAV, 16 kHz"),
    ("wav_22khz", "WAV, 22 kHz"),
    ("wav_24khz", "WAV, 24 kHz"),
    ("wav_cd_quality", "WAV, CD quality (44.1 kHz)"),
)

MODELS = (
    CatalogModel(
        key="apiframe-eleven-music",
        label="Eleven Music (Apiframe)",
        kind=MUSIC,
        provider="apiframe",
        provider_model="elevenlabs-music",
        description="ElevenLabs Music through Apiframe: songs and scores up to five minutes long.",
        # About a minute on average; a five-minute song, a busy queue and our polling need headroom.
        deadline_minutes=15,
        billed_length=lambda params: param_number(params, "music_length_ms", 60000) / 1000,
        spec=ParamSpec(
            params=(
                Text(
                    name="prompt",
                    label="Prompt",
                    required=True,
                    max_length=5000,
                    help="Genre, mood, instruments and structure, e.g. “upbeat synthwave with a driving bassline”.",
                ),
                Number(
                    name="music_length_ms",
                    label="Length (milliseconds)",
                    min=5000,
                    max=300000,
                    step=1000,
                    integer=True,
                    help="5,000 ms = 5 seconds · 300,000 ms = 5 minutes, in whole seconds. "
                    "Leave empty for Apiframe's default of 60 seconds.",
                ),
                Flag(
                    name="force_instrumental",
                    label="Instrumental only",
                    help="Yes guarantees a track without vocals. Apiframe's default is No.",
                ),
                Choice(
                    name="output_format",
                    label="Output format",
                    help="MP3 is smaller; WAV is uncompressed at the sample rate shown.",
                    choices=APIFRAME_OUTPUT_FORMATS,
                    blank_label="Provider default (MP3, high quality)",
                ),
            )
        ),
    ),
)
