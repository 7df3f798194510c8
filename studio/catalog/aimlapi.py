"""AI/ML API models: Stable Audio (specs/001) and Eleven Music (specs/002)."""

from typing import Any

from studio.catalog.model import MUSIC, CatalogModel, param_number
from studio.catalog.params import Number, ParamSpec, Text

STABLE_AUDIO_MAX_SECONDS = 47
STABLE_AUDIO_DEFAULT_SECONDS = 30  # what the API generates when seconds_total is not sent


def start_before_end(cleaned: dict[str, Any]) -> dict[str, str]:
    """A clip cannot start at or after its own end (the API does not check; the audio would be empty)."""
    if "seconds_total" not in cleaned:
        return {}  # the duration itself was invalid: its own error says so
    start = cleaned.get("seconds_start")
    total = cleaned["seconds_total"] or STABLE_AUDIO_DEFAULT_SECONDS
    if start is not None and start >= total:
        return {"seconds_start": f"Start must be earlier than the duration ({total} s)."}
    return {}


MODELS = (
    CatalogModel(
        key="aimlapi-stable-audio",
        label="Stable Audio (AI/ML API)",
        kind=MUSIC,
        provider="aimlapi",
        provider_model="stable-audio",
        description="Instrumental clips of up to 47 seconds from a description of style, mood and "
        "instruments. Also good for sound effects and ambiences (“rain on a tin roof”, “sci-fi door whoosh”).",
        deadline_minutes=10,  # the docs expect 50–60 seconds under normal load
        billed_length=lambda params: param_number(params, "steps", 100),  # 252 credits a step
        spec=ParamSpec(
            params=(
                Text(
                    name="prompt",
                    label="Prompt",
                    required=True,
                    help="Genre, mood, instruments and tempo, e.g. “lo-fi hip-hop, mellow piano, 80 BPM”; "
                    "or a sound, e.g. “heavy wooden door creaking open”.",
                ),
                Number(
                    name="seconds_total",
                    label="Duration (seconds)",
                    min=1,
                    max=STABLE_AUDIO_MAX_SECONDS,
                    integer=True,
                    default=STABLE_AUDIO_DEFAULT_SECONDS,
                    help="Length of the clip, 1 to 47 seconds. Short values suit sound effects.",
                ),
                Number(
                    name="seconds_start",
                    advanced=True,
                    label="Start (seconds)",
                    min=1,
                    max=STABLE_AUDIO_MAX_SECONDS,
                    integer=True,
                    help="Optional, 1 to 47 and below the duration: where the clip begins within the piece. "
                    "Leave empty to start at the beginning.",
                ),
                Number(
                    name="steps",
                    advanced=True,
                    label="Steps",
                    min=1,
                    max=1000,
                    integer=True,
                    default=100,
                    help="Denoising steps, 1 to 1000. More steps can sound cleaner but take longer; "
                    "each step costs 252 AI/ML API tokens.",
                ),
            ),
            checks=(start_before_end,),
        ),
    ),
    CatalogModel(
        key="aimlapi-eleven-music",
        label="Eleven Music (AI/ML API)",
        kind=MUSIC,
        provider="aimlapi",
        provider_model="elevenlabs/eleven_music",
        description="Full songs or scores, with or without vocals, from a description of genre, mood, "
        "instruments, structure and even lyrics.",
        deadline_minutes=15,  # simple prompts take about 30 s; five-minute songs take longer
        billed_length=lambda params: param_number(params, "music_length_ms", 10000) / 1000,
        spec=ParamSpec(
            params=(
                Text(
                    name="prompt",
                    label="Prompt",
                    required=True,
                    max_length=2000,
                    rows=4,
                    help="Genre, mood, instruments, vocals, tempo and structure (“lyrics begin at 15 seconds”), "
                    "or your own lyrics. Up to 2000 characters.",
                ),
                Number(
                    name="music_length_ms",
                    label="Length (milliseconds)",
                    min=10000,
                    max=300000,
                    integer=True,
                    default=10000,
                    help="10000 to 300000 ms (10 s to 5 min). The model may not keep to it exactly.",
                ),
            )
        ),
    ),
)
