"""What a catalog entry is: a model the studio offers, who serves it, what kind of audio it makes
and the parameters it takes. The provider modules beside this one list the entries."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from studio.catalog.params import Choice, ParamSpec

MUSIC, SPEECH, SFX = "music", "speech", "sfx"
KIND_LABELS = {MUSIC: "Music", SPEECH: "Speech", SFX: "Sound effect"}

ELEVENLABS_OUTPUT_FORMATS = (
    "mp3_22050_32", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128",
    "mp3_44100_192", "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100",
    "pcm_48000", "ulaw_8000", "alaw_8000", "opus_48000_32", "opus_48000_64",
    "opus_48000_96", "opus_48000_128", "opus_48000_192",
)  # fmt: skip


def output_format_choice(name: str = "output_format", formats=ELEVENLABS_OUTPUT_FORMATS, **overrides) -> Choice:
    options = {
        "label": "Output format",
        "help": "Codec, sample rate (Hz) and bitrate (kbps). PCM and μ-law/A-law are stored as WAV.",
        "choices": tuple((f, f) for f in formats),
        "blank_label": "Provider default",
        **overrides,
    }
    return Choice(name=name, **options)


def param_number(params: Mapping[str, Any], name: str, default: float) -> float:
    """A parameter as stored (or as typed in the form) as a number; `default` when it is absent
    or not a finite number."""
    try:
        value = float(params.get(name) or default)
    except (TypeError, ValueError):
        return default
    return value if math.isfinite(value) else default


def characters_in(name: str) -> Callable[[Mapping[str, Any]], float]:
    """The length of a text parameter, for models billed by the character."""
    return lambda params: float(len(str(params.get(name) or "")))


@dataclass(frozen=True)
class CatalogModel:
    key: str  # stable id stored on generations
    label: str
    kind: str
    provider: str  # its key in providers/registry.py, also the settings key
    provider_model: str  # the provider's own model id
    spec: ParamSpec
    description: str = ""
    deadline_minutes: int = 20  # a job still unfinished after this is ended as failed
    # A model any of these entries may serve (their keys, one per gateway): the job goes to
    # whichever gateway works (studio/jobs/routing.py). Empty for a model of one provider.
    gateway_models: tuple[str, ...] = ()
    # What a request's price grows with (seconds of audio asked for, times the takes; characters
    # of text; steps), for estimates learnt from the model's recent jobs of similar length
    # (studio/spend/estimates.py). None: every request of the model costs alike.
    billed_length: Callable[[Mapping[str, Any]], float] | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]
