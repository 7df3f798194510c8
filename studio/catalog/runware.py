"""Runware models (specs/004): Eleven Music v1.

The flat names below are the wire's own; the adapter nests `sampleRate`/`bitrate`/`channels`
under `audioSettings` and the ElevenLabs options under `providerSettings.elevenlabs.music`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from studio.catalog.model import MUSIC, CatalogModel, param_number
from studio.catalog.composition import CompositionPlan
from studio.catalog.params import Choice, Flag, Number, ParamSpec, Text

OUTPUT_FORMATS = (
    ("MP3", "MP3 (compressed, the default)"),
    ("WAV", "WAV (uncompressed)"),
    ("FLAC", "FLAC (lossless)"),
    ("OGG", "OGG Vorbis (compressed)"),
)
LOSSY_FORMATS = ("MP3", "OGG")  # the only ones that take audioSettings
PROVIDER_DEFAULT_FORMAT = "MP3"
PROVIDER_DEFAULT_CHANNELS = 2

# Sample rate (Hz) → (min, max) bitrate in kbps, as the spec's tables give them.
MP3_BITRATES = {
    8000: (8, 64), 11025: (8, 64), 12000: (8, 64),
    16000: (8, 160), 22050: (8, 160), 24000: (8, 160),
    32000: (32, 320), 44100: (32, 320), 48000: (32, 320),
}  # fmt: skip
OGG_BITRATES = {  # by channel count too
    1: {8000: (8, 40), 12000: (16, 48), 16000: (16, 96), 24000: (16, 80), 48000: (32, 224)},
    2: {8000: (16, 80), 12000: (16, 96), 16000: (24, 192), 24000: (32, 160), 48000: (48, 256)},
}
SAMPLE_RATES = sorted(set(MP3_BITRATES) | set(OGG_BITRATES[1]))
MIN_BITRATE = 8  # the spec's floor; the ceiling is the highest in the tables
MAX_BITRATE = max(high for _, high in MP3_BITRATES.values())
AUDIO_SETTINGS = ("sampleRate", "bitrate", "channels")


@dataclass(frozen=True)
class IntegerChoice(Choice):
    """A choice among numbers (sample rates, channel counts): cleaned and sent as an int."""

    def form_field(self) -> forms.Field:
        return forms.TypedChoiceField(
            label=self.label,
            help_text=self.help,
            required=self.required,
            initial=self.default,
            choices=self.options(),
            coerce=int,
            empty_value=None,
        )

    def to_wire(self, value: Any) -> Any:
        return None if value in (None, "") else int(value)


def bitrate_limits(output_format: str, channels: int) -> dict[int, tuple[int, int]]:
    """Sample rate → allowed bitrate range for a lossy format (OGG's also depend on channels)."""
    if output_format == "OGG":
        return OGG_BITRATES[channels]
    return MP3_BITRATES


def audio_settings_fit_format(cleaned: dict[str, Any]) -> dict[str, str]:
    """audioSettings only for MP3/OGG, a sample rate the format offers, and a bitrate inside
    that rate's range (spec 004's tables)."""
    chosen = {name: cleaned[name] for name in AUDIO_SETTINGS if cleaned.get(name) is not None}
    if not chosen or "outputFormat" not in cleaned:
        return {}
    output_format = cleaned["outputFormat"] or PROVIDER_DEFAULT_FORMAT
    if output_format not in LOSSY_FORMATS:
        return {
            name: f"Sample rate, bitrate and channels apply to MP3 and OGG only; {output_format} takes none."
            for name in chosen
        }
    channels = chosen.get("channels", PROVIDER_DEFAULT_CHANNELS)
    limits = bitrate_limits(output_format, channels)
    errors = {}
    rate, bitrate = chosen.get("sampleRate"), chosen.get("bitrate")
    if rate is not None and rate not in limits:
        offered = ", ".join(f"{r:,}" for r in limits)
        errors["sampleRate"] = f"{output_format} takes a sample rate of {offered} Hz."
    if bitrate is not None:
        if rate is None:
            errors["bitrate"] = "Choose a sample rate too: the bitrate allowed depends on it."
        elif rate in limits:
            low, high = limits[rate]
            if not low <= bitrate <= high:
                layout = {1: " mono", 2: " stereo"}[channels] if output_format == "OGG" else ""
                errors["bitrate"] = (
                    f"The bitrate for{layout} {output_format} at {rate:,} Hz must be {low} to {high} kbps."
                )
    return errors


def seconds_asked(params: dict[str, Any]) -> float:
    """Seconds of music a job asks for, all takes together (each take is charged): a plan's
    sections, else the duration (30 s when the model decides), times the variations."""
    plan = params.get("compositionPlan")
    sections = plan.get("sections") if isinstance(plan, dict) else None
    if isinstance(sections, list) and sections:
        seconds = sum(param_number(s, "duration", 0) for s in sections if isinstance(s, dict))
    else:
        seconds = param_number(params, "duration", 30)
    return seconds * param_number(params, "numberResults", 1)


def prompt_or_plan(cleaned: dict[str, Any]) -> dict[str, str]:
    """Something must say what to make. (A field that failed its own checks is absent: skip.)"""
    if "positivePrompt" not in cleaned or "compositionPlan" not in cleaned:
        return {}
    if cleaned["positivePrompt"] or cleaned["compositionPlan"]:
        return {}
    return {"positivePrompt": "Describe the music in the prompt, or plan its sections in the composition plan."}


MODELS = (
    CatalogModel(
        key="runware-eleven-music",
        label="Eleven Music v1 (Runware)",
        kind=MUSIC,
        provider="runware",
        provider_model="elevenlabs:1@1",
        description="ElevenLabs' music model through Runware: vocal songs or instrumentals from a prompt, "
        "or from a plan of timed sections with their own lyrics and styles.",
        deadline_minutes=30,  # up to four five-minute tracks per job
        billed_length=seconds_asked,
        spec=ParamSpec(
            prompt_param="positivePrompt",
            checks=(prompt_or_plan, audio_settings_fit_format),
            params=(
                Text(
                    name="positivePrompt",
                    label="Prompt",
                    max_length=2000,
                    rows=4,
                    help="Genre, mood, instruments, vocals, structure; up to 2,000 characters. "
                    "Optional when the composition plan below describes the song.",
                ),
                Number(
                    name="duration",
                    label="Length (seconds)",
                    min=10,
                    max=300,
                    step=1,
                    integer=True,
                    help="10 to 300 seconds. Leave empty to let the model decide; a composition plan "
                    "sets the length by its sections.",
                ),
                Number(
                    name="numberResults",
                    label="Variations",
                    min=1,
                    max=4,
                    step=1,
                    integer=True,
                    help="1 to 4 tracks from the same settings, each from its own seed (each is charged). "
                    "Empty means one.",
                ),
                Flag(
                    name="forceInstrumental",
                    label="Instrumental only",
                    help="Make the track without vocals.",
                ),
                CompositionPlan(
                    name="compositionPlan",
                    label="Composition plan",
                    help="Optional: styles for the whole song, then sections in order, each with a name, "
                    "a duration, lyrics and its own styles.",
                ),
                Flag(
                    name="respectSectionsDurations",
                    advanced=True,
                    label="Keep section durations exactly",
                    help="With a composition plan: hold every section to its duration instead of letting "
                    "the model adjust them.",
                ),
                Choice(
                    name="outputFormat",
                    label="File format",
                    choices=OUTPUT_FORMATS,
                    blank_label="Provider default (MP3)",
                    help="MP3 and OGG are compressed and take the settings below; WAV and FLAC are "
                    "lossless and take none.",
                ),
                IntegerChoice(
                    name="sampleRate",
                    advanced=True,
                    label="Sample rate",
                    choices=tuple((str(rate), f"{rate:,} Hz") for rate in SAMPLE_RATES),
                    blank_label="Provider default",
                    help="MP3: any rate listed. OGG: 8,000, 12,000, 16,000, 24,000 or 48,000 Hz.",
                ),
                Number(
                    name="bitrate",
                    advanced=True,
                    label="Bitrate (kbps)",
                    min=MIN_BITRATE,
                    max=MAX_BITRATE,
                    step=1,
                    integer=True,
                    help="Needs a sample rate: MP3 allows 8–64 kbps up to 12,000 Hz, 8–160 up to 24,000 Hz "
                    "and 32–320 above; OGG's limits are lower and depend on the channels.",
                ),
                IntegerChoice(
                    name="channels",
                    advanced=True,
                    label="Channels",
                    choices=(("1", "Mono"), ("2", "Stereo")),
                    blank_label="Provider default (stereo)",
                    help="MP3 and OGG only.",
                ),
            ),
        ),
    ),
)
