"""Fields filled once for many models, and the one table that says where each one lands in each
model's own parameters. Compare mode (a set of prompts × models) fills them once for every model
of the set; "Eleven Music (any gateway)" stores them and maps them onto whichever gateway takes
the job.

- prompt: the model's own prompt (or text) parameter.
- length_seconds: the model's length parameter in its own unit (seconds or milliseconds),
  clamped into its range and rounded to its step; left out where a model has no length.
- instrumental: the model's "instrumental only" switch, where it has one.
- output_format: the nearest format the model offers (same codec first, then the closest sample
  rate and bitrate); left out where a model takes no format.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from studio.catalog.model import CatalogModel
from studio.catalog.params import Choice, Number

# The studio's own format choices, offered once for every model: (key, label).
SHARED_FORMATS = (
    ("mp3_128", "MP3, 44.1 kHz, 128 kbps"),
    ("mp3_192", "MP3, 44.1 kHz, 192 kbps"),
    ("wav", "WAV, 44.1 kHz (uncompressed)"),
    ("flac", "FLAC (lossless)"),
    ("ogg", "Ogg (Opus or Vorbis), 48 kHz"),
)


@dataclass(frozen=True)
class Lands:
    """Where the shared fields land in one model: its parameter names (None: it has none)."""

    prompt: str
    length: str | None = None
    per_second: int = 1  # length units per second: 1000 for milliseconds
    instrumental: str | None = None
    output_format: str | None = None


# The mapping: catalog model key → where each shared field lands (README, "Sets").
TABLE: dict[str, Lands] = {
    "pixazo-eleven-music": Lands(prompt="prompt", output_format="output_format"),
    "pixazo-eleven-v3-speech": Lands(prompt="text"),
    "aimlapi-stable-audio": Lands(prompt="prompt", length="seconds_total"),
    "aimlapi-eleven-music": Lands(prompt="prompt", length="music_length_ms", per_second=1000),
    "elevenlabs-speech": Lands(prompt="text", output_format="output_format"),
    "elevenlabs-sound-effects": Lands(prompt="text", length="duration_seconds", output_format="output_format"),
    "apiframe-eleven-music": Lands(
        prompt="prompt", length="music_length_ms", per_second=1000, instrumental="force_instrumental",
        output_format="output_format",
    ),  # fmt: skip
    "runware-eleven-music": Lands(
        prompt="positivePrompt", length="duration", instrumental="forceInstrumental", output_format="outputFormat"
    ),
    "eleven-music-any": Lands(
        prompt="prompt", length="length_seconds", instrumental="instrumental", output_format="output_format"
    ),
}

# --- Formats: (codec family, sample rate in Hz, bitrate in kbps), None where a value does not say -----

_ELEVENLABS_STYLE = re.compile(r"^(?P<codec>mp3|pcm|ulaw|alaw|opus)_(?P<rate>\d+)(?:_(?P<kbps>\d+))?$")
_FAMILY = {"mp3": "mp3", "pcm": "wav", "ulaw": "telephone", "alaw": "telephone", "opus": "ogg"}
NAMED_FORMATS: dict[str, tuple[str, int | None, int | None]] = {
    # The studio's own.
    "mp3_128": ("mp3", 44100, 128),
    "mp3_192": ("mp3", 44100, 192),
    "wav": ("wav", 44100, None),
    "flac": ("flac", 44100, None),
    "ogg": ("ogg", 48000, 128),
    # Apiframe's (specs/003).
    "mp3_standard": ("mp3", 44100, 128),
    "mp3_high_quality": ("mp3", 44100, 192),
    "wav_16khz": ("wav", 16000, None),
    "wav_22khz": ("wav", 22050, None),
    "wav_24khz": ("wav", 24000, None),
    "wav_cd_quality": ("wav", 44100, None),
    # Runware's (specs/004): the sample rate and bitrate are separate parameters.
    "MP3": ("mp3", None, None),
    "WAV": ("wav", None, None),
    "FLAC": ("flac", None, None),
    "OGG": ("ogg", None, None),
}
LOSSLESS, LOSSY = {"wav", "flac"}, {"mp3", "ogg"}


def format_facts(value: str) -> tuple[str, int | None, int | None]:
    """What a format value means: a named one, or ElevenLabs' "codec_rate[_kbps]" form."""
    if value in NAMED_FORMATS:
        return NAMED_FORMATS[value]
    match = _ELEVENLABS_STYLE.match(value)
    if match is None:
        raise ValueError(f"unknown output format {value!r}")
    kbps = match["kbps"]
    return _FAMILY[match["codec"]], int(match["rate"]), int(kbps) if kbps else None


def _distance(wanted: tuple, offered: tuple) -> float:
    (family, rate, kbps), (other_family, other_rate, other_kbps) = wanted, offered
    if family == other_family:
        score = 0.0
    elif {family, other_family} <= LOSSLESS or {family, other_family} <= LOSSY:
        score = 1.0
    elif "telephone" in (family, other_family):
        score = 6.0  # 8 kHz μ-law / A-law only when nothing else is offered
    else:
        score = 3.0
    if rate and other_rate:
        score += abs(math.log2(rate / other_rate))
    if kbps and other_kbps:
        score += abs(kbps - other_kbps) / 64
    return score


def nearest_format(wanted: str, offered: list[str]) -> str:
    """The offered format closest to the wanted one (the first of equals, in the model's order)."""
    facts = format_facts(wanted)
    return min(offered, key=lambda value: _distance(facts, format_facts(value)))


# --- Mapping -----------------------------------------------------------------------------------


def lands(model: CatalogModel) -> Lands:
    return TABLE[model.key]


def filled_params(model: CatalogModel) -> set[str]:
    """The model's parameters that shared fields fill (a set's per-model fields leave them out)."""
    where = lands(model)
    return {name for name in (where.prompt, where.length, where.instrumental, where.output_format) if name}


def _param(model: CatalogModel, name: str):
    return next(p for p in model.spec.params if p.name == name)


def clamp_length(param: Number, seconds: float, per_second: int) -> int | float:
    """`seconds` in the parameter's unit, inside its range and on its step."""
    value = min(max(float(seconds) * per_second, float(param.min)), float(param.max))
    if param.step:
        step = float(param.step)
        value = float(param.min) + round((value - float(param.min)) / step) * step
        value = min(value, float(param.max))
    return int(round(value)) if param.integer else round(value, 3)


def model_values(model: CatalogModel, shared: dict[str, Any]) -> dict[str, Any]:
    """The model's own parameter values for the shared fields given (None or "" fields are left
    out, so the model keeps its own default)."""
    where, values = lands(model), {}
    if shared.get("prompt"):
        values[where.prompt] = shared["prompt"]
    if where.length and shared.get("length_seconds") not in (None, ""):
        values[where.length] = clamp_length(_param(model, where.length), shared["length_seconds"], where.per_second)
    if where.instrumental and shared.get("instrumental") is not None:
        values[where.instrumental] = bool(shared["instrumental"])
    if where.output_format and shared.get("output_format"):
        choice: Choice = _param(model, where.output_format)
        values[where.output_format] = nearest_format(shared["output_format"], [value for value, _ in choice.choices])
    return values
