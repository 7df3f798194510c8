"""ElevenLabs direct models (specs/001, ElevenLabs half): text to speech and sound effects.

The speech voice list comes from the account itself (`GET /v1/voices`), cached for a few
minutes; when ElevenLabs cannot be asked, a short list of its well-known default voices
keeps the form usable.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from providers.base import ProviderError
from studio.catalog.model import SFX, SPEECH, CatalogModel, characters_in, output_format_choice
from studio.catalog.params import Choice, Flag, Number, Param, ParamSpec, Text
from studio.jobs import adapters as provider_clients

log = logging.getLogger(__name__)

VOICES_CACHE_SECONDS = 600
FALLBACK_CACHE_SECONDS = 30  # long enough to spare a struggling API, short enough to recover soon

# ElevenLabs' default voices (every account has them), for when the voice list cannot be fetched.
FALLBACK_VOICES = (
    ("JBFqnCBsd6RMkjVDRZzb", "George"),
    ("21m00Tcm4TlvDq8ikWAM", "Rachel"),
    ("EXAVITQu4vr4xnSDxMaL", "Sarah"),
    ("9BWtsMINqrJLrRacOk9x", "Aria"),
    ("pNInz6obpgDQGcFmaJgB", "Adam"),
    ("XB0fDUnXU5powFXDhCwa", "Charlotte"),
    ("onwK4e9ZLuTAKqWW03F9", "Daniel"),
    ("nPczCjzI2devNBz1zQrb", "Brian"),
)
DEFAULT_VOICE = "JBFqnCBsd6RMkjVDRZzb"  # George: the voice of ElevenLabs' own examples

# Text to speech models → the most characters one request may carry.
SPEECH_MODELS = (
    ("eleven_multilingual_v2", "Multilingual v2 (high quality, 29 languages)", 10000),
    ("eleven_v3", "Eleven v3 (most expressive, 70+ languages)", 5000),
    ("eleven_flash_v2_5", "Flash v2.5 (fastest, 32 languages)", 40000),
    ("eleven_turbo_v2_5", "Turbo v2.5 (fast, 32 languages)", 40000),
    ("eleven_flash_v2", "Flash v2 (fastest, English)", 30000),
    ("eleven_turbo_v2", "Turbo v2 (fast, English)", 30000),
    ("eleven_monolingual_v1", "English v1 (legacy)", 10000),
    ("eleven_multilingual_v1", "Multilingual v1 (legacy)", 10000),
)
TEXT_LIMITS = {model_id: limit for model_id, _, limit in SPEECH_MODELS}
PROVIDER_DEFAULT_SPEECH_MODEL = "eleven_monolingual_v1"  # what the API uses when model_id is left out
MAX_TEXT_CHARS = max(TEXT_LIMITS.values())
LANGUAGE_MODELS = ("eleven_turbo_v2_5", "eleven_flash_v2_5")  # the only models that take language_code
NO_FORCED_NORMALIZATION = ("eleven_turbo_v2_5", "eleven_flash_v2_5")
V3_STABILITY = (0.0, 0.5, 1.0)

LANGUAGES = (
    ("en", "English"), ("ja", "Japanese"), ("zh", "Chinese"), ("de", "German"), ("hi", "Hindi"),
    ("fr", "French"), ("ko", "Korean"), ("pt", "Portuguese"), ("it", "Italian"), ("es", "Spanish"),
    ("id", "Indonesian"), ("nl", "Dutch"), ("tr", "Turkish"), ("fil", "Filipino"), ("pl", "Polish"),
    ("sv", "Swedish"), ("bg", "Bulgarian"), ("ro", "Romanian"), ("ar", "Arabic"), ("cs", "Czech"),
    ("el", "Greek"), ("fi", "Finnish"), ("hr", "Croatian"), ("ms", "Malay"), ("sk", "Slovak"),
    ("da", "Danish"), ("ta", "Tamil"), ("uk", "Ukrainian"), ("ru", "Russian"), ("hu", "Hungarian"),
    ("no", "Norwegian"), ("vi", "Vietnamese"),
)  # fmt: skip

MAX_SEED = 4294967295
MAX_LINKED_REQUESTS = 3
MAX_DICTIONARIES = 3


# --- Parameters peculiar to ElevenLabs -------------------------------------------------------


def voices_cache_key() -> str:
    """Voices belong to an account: one cache entry per key and base URL (the key itself is not stored)."""
    config = settings.PROVIDERS.get("elevenlabs", {})
    account = f"{config.get('base_url', '')}\n{config.get('api_key', '')}"
    return "elevenlabs:voices:" + hashlib.sha256(account.encode()).hexdigest()[:32]


def voice_choices() -> tuple[tuple[str, str], ...]:
    """(voice_id, "Name (category)") for the configured account, cached; the default voices if ElevenLabs fails."""
    key = voices_cache_key()
    cached = cache.get(key)
    if cached is not None:
        return cached
    try:
        voices = provider_clients.get_adapter("elevenlabs").list_voices()
    except ProviderError as exc:
        log.warning("ElevenLabs voices unavailable, offering the default voices: %s", exc.message)
        choices = tuple((voice_id, f"{name} (default voice)") for voice_id, name in FALLBACK_VOICES)
        cache.set(key, choices, FALLBACK_CACHE_SECONDS)
        return choices
    choices = tuple(
        (voice.voice_id, f"{voice.name} ({voice.category})" if voice.category else voice.name)
        for voice in sorted(voices, key=lambda v: v.name.casefold())
    )
    if not choices:  # an account without voices: the default ones still answer
        choices = tuple((voice_id, f"{name} (default voice)") for voice_id, name in FALLBACK_VOICES)
    cache.set(key, choices, VOICES_CACHE_SECONDS)
    return choices


@dataclass(frozen=True)
class VoiceChoice(Choice):
    """A voice of the account, listed when the form is built rather than when the catalog loads."""

    def form_field(self) -> forms.Field:
        field = super().form_field()
        field.choices = list(voice_choices())
        return field


_SEPARATORS = re.compile(r"[\s,]+")


def _split_ids(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(item).strip() for item in value if str(item).strip()]
    return [part for part in _SEPARATORS.split(str(value or "")) if part]


@dataclass(frozen=True)
class RequestIds(Param):
    """Up to three earlier request ids, typed one per line (or comma-separated); sent as a list."""

    limit: int = MAX_LINKED_REQUESTS

    def form_field(self) -> forms.Field:
        limit, label = self.limit, self.label

        def at_most_limit(value: str) -> None:
            if len(_split_ids(value)) > limit:
                raise ValidationError(f"{label}: at most {limit} request ids.")

        return forms.CharField(
            label=self.label,
            help_text=self.help,
            required=False,
            validators=[at_most_limit],
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def to_wire(self, value: Any) -> Any:
        return _split_ids(value) or None


def _parse_locators(value: Any) -> list[dict[str, str]]:
    if isinstance(value, (list, tuple)):
        return [dict(item) for item in value]
    locators = []
    for line in str(value or "").splitlines():
        parts = _SEPARATORS.split(line.strip())
        parts = [p for p in parts if p]
        if not parts:
            continue
        if len(parts) > 2:
            raise ValueError(line)
        locator = {"pronunciation_dictionary_id": parts[0]}
        if len(parts) == 2:
            locator["version_id"] = parts[1]
        locators.append(locator)
    return locators


@dataclass(frozen=True)
class DictionaryLocators(Param):
    """Pronunciation dictionaries, one per line as "dictionary_id version_id"; sent as locator objects."""

    limit: int = MAX_DICTIONARIES

    def form_field(self) -> forms.Field:
        limit, label = self.limit, self.label

        def valid_locators(value: str) -> None:
            try:
                locators = _parse_locators(value)
            except ValueError:
                raise ValidationError(f"{label}: one dictionary per line, as “dictionary_id version_id”.") from None
            if len(locators) > limit:
                raise ValidationError(f"{label}: at most {limit} dictionaries per request.")

        return forms.CharField(
            label=self.label,
            help_text=self.help,
            required=False,
            validators=[valid_locators],
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def to_wire(self, value: Any) -> Any:
        return _parse_locators(value) or None


# --- Cross-field rules ------------------------------------------------------------------------


def _speech_model(cleaned: dict[str, Any]) -> str:
    return cleaned.get("model_id") or PROVIDER_DEFAULT_SPEECH_MODEL


def text_fits_the_model(cleaned: dict[str, Any]) -> dict[str, str]:
    model_id, text = _speech_model(cleaned), cleaned.get("text") or ""
    limit = TEXT_LIMITS.get(model_id)
    if limit and len(text) > limit:
        return {"text": f"Text: {model_id} takes at most {limit} characters per request ({len(text)} given)."}
    return {}


def language_needs_a_v2_5_model(cleaned: dict[str, Any]) -> dict[str, str]:
    if cleaned.get("language_code") and _speech_model(cleaned) not in LANGUAGE_MODELS:
        return {"language_code": "Language: only Turbo v2.5 and Flash v2.5 can be told the language."}
    return {}


def normalization_on_is_not_for_v2_5(cleaned: dict[str, Any]) -> dict[str, str]:
    if cleaned.get("apply_text_normalization") == "on" and _speech_model(cleaned) in NO_FORCED_NORMALIZATION:
        return {"apply_text_normalization": "Text normalization: cannot be turned on for Turbo v2.5 or Flash v2.5."}
    return {}


def v3_stability_is_a_preset(cleaned: dict[str, Any]) -> dict[str, str]:
    stability = cleaned.get("stability")
    if _speech_model(cleaned) == "eleven_v3" and stability is not None and float(stability) not in V3_STABILITY:
        return {"stability": "Stability: Eleven v3 takes 0 (Creative), 0.5 (Natural) or 1 (Robust)."}
    return {}


# --- Models -----------------------------------------------------------------------------------

MODELS = (
    CatalogModel(
        key="elevenlabs-speech",
        label="ElevenLabs speech",
        kind=SPEECH,
        provider="elevenlabs",
        provider_model="text-to-speech",
        description="Lifelike voice-over in the voices of your ElevenLabs account, in up to 70 languages.",
        deadline_minutes=10,
        billed_length=characters_in("text"),  # billed by the character
        spec=ParamSpec(
            prompt_param="text",
            checks=(
                text_fits_the_model,
                language_needs_a_v2_5_model,
                normalization_on_is_not_for_v2_5,
                v3_stability_is_a_preset,
            ),
            params=(
                Text(name="text", label="Text", required=True, max_length=MAX_TEXT_CHARS, rows=5,
                     help="What the voice says. Eleven v3 takes up to 5,000 characters, Multilingual v2 "
                          "10,000, Flash/Turbo v2.5 40,000."),
                VoiceChoice(name="voice_id", label="Voice", required=True, default=DEFAULT_VOICE,
                            help="The voices of your ElevenLabs account."),
                Choice(name="model_id", label="Voice model", default="eleven_multilingual_v2",
                       blank_label="Provider default",
                       choices=tuple((model_id, label) for model_id, label, _ in SPEECH_MODELS),
                       help="Multilingual v2 for quality, v3 for expression, Flash/Turbo for speed and long texts."),
                Choice(name="language_code", advanced=True, label="Language", blank_label="Detect from the text",
                       choices=LANGUAGES,
                       help="Force the language (ISO 639-1). Only Turbo v2.5 and Flash v2.5 accept it."),
                Number(name="stability", label="Stability", min=0.0, max=1.0,
                       help="0 to 1. Lower is more expressive, higher more consistent. "
                            "Eleven v3 takes 0, 0.5 or 1. Leave blank for the voice's own setting."),
                Number(name="similarity_boost", label="Similarity boost", min=0.0, max=1.0,
                       help="0 to 1. How closely to follow the original voice."),
                Number(name="style", advanced=True, label="Style exaggeration", min=0.0, max=1.0,
                       help="0 to 1 (default 0). Amplifies the speaker's style; above 0 adds latency."),
                Flag(name="use_speaker_boost", advanced=True, label="Speaker boost",
                     help="Closer to the original speaker, a little slower (default yes)."),
                # Decimal bounds: the form compares Decimals, and the float 1.2 is a hair below 1.2.
                Number(name="speed", label="Speed", min=Decimal("0.7"), max=Decimal("1.2"),
                       help="0.7 to 1.2 (default 1). Below 1 slows the speech down, above 1 speeds it up."),
                Number(name="seed", advanced=True, label="Seed", min=0, max=MAX_SEED, integer=True,
                       help="0 to 4294967295. The same seed and settings give (nearly) the same take."),
                Text(name="previous_text", advanced=True, label="Text before", rows=2,
                     help="What was said just before, for natural prosody across takes."),
                Text(name="next_text", advanced=True, label="Text after", rows=2,
                     help="What is said just after, for natural prosody across takes."),
                RequestIds(name="previous_request_ids", advanced=True, label="Previous request ids",
                           help="Up to 3 request ids of the takes just before this one, one per line "
                                "(overrides “Text before”)."),
                RequestIds(name="next_request_ids", advanced=True, label="Next request ids",
                           help="Up to 3 request ids of the takes just after this one, one per line "
                                "(overrides “Text after”)."),
                Choice(name="apply_text_normalization", advanced=True, label="Text normalization",
                       blank_label="Provider default (auto)",
                       choices=(("auto", "Auto"), ("on", "On"), ("off", "Off")),
                       help="Spell out numbers, dates and the like. Cannot be on for Turbo/Flash v2.5."),
                Flag(name="apply_language_text_normalization", advanced=True, label="Language text normalization",
                     help="Language-specific normalization (Japanese for now); adds latency. Default no."),
                DictionaryLocators(name="pronunciation_dictionary_locators", advanced=True, label="Pronunciation dictionaries",
                                   help="Up to 3, one per line: “dictionary_id version_id”, applied in order."),
                Flag(name="use_pvc_as_ivc", advanced=True, label="Use instant clone of a professional voice",
                     help="Use the IVC version of a PVC voice, which answers faster. Default no."),
                Flag(name="enable_logging", advanced=True, label="History logging",
                     help="“No” is zero-retention mode (enterprise plans only): no history, no request stitching."),
                Number(name="optimize_streaming_latency", advanced=True, label="Latency optimisation", min=0, max=4,
                       integer=True,
                       help="Deprecated. 0 (none) to 4 (max, text normalizer off); trades quality for speed."),
                output_format_choice(),
            ),
        ),
    ),
    CatalogModel(
        key="elevenlabs-sound-effects",
        label="ElevenLabs sound effects",
        kind=SFX,
        provider="elevenlabs",
        provider_model="sound-generation",
        description="Sound effects from a description: foley, ambiences, impacts, UI sounds, loops.",
        deadline_minutes=5,
        billed_length=characters_in("text"),  # reported in characters of its description
        spec=ParamSpec(
            params=(
                Text(name="text", label="Description", required=True, rows=3,
                     help="The sound, e.g. “Spacious braam suitable for high-impact movie trailer moments”."),
                Number(name="duration_seconds", label="Duration (seconds)", min=0.5, max=22,
                       help="0.5 to 22. Leave blank to let ElevenLabs pick a length that suits the prompt."),
                Number(name="prompt_influence", label="Prompt influence", min=0.0, max=1.0, default=0.3,
                       help="0 to 1 (default 0.3). Higher follows the prompt more closely, with less variety."),
                Flag(name="loop", label="Seamless loop", help="Make a sound that loops smoothly (default no)."),
                Choice(name="model_id", label="Sound model", blank_label="Provider default",
                       choices=(("eleven_text_to_sound_v2", "Text to sound v2"),),
                       help="Seamless loops need Text to sound v2, the default."),
                output_format_choice(),
            ),
            prompt_param="text",
        ),
    ),
)
