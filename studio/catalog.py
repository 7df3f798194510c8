"""The models the studio offers: who serves them, what kind of audio they make and the
parameters they take (ranges and choices exactly as the provider specs give them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from .params import Choice, Flag, Number, ParamSpec, Text

MUSIC, SPEECH, SFX = "music", "speech", "sfx"
KIND_LABELS = {MUSIC: "Music", SPEECH: "Speech", SFX: "Sound effect"}

ELEVENLABS_OUTPUT_FORMATS = (
    "mp3_22050_32", "mp3_44100_32", "mp3_44100_64", "mp3_44100_96", "mp3_44100_128",
    "mp3_44100_192", "pcm_8000", "pcm_16000", "pcm_22050", "pcm_24000", "pcm_44100",
    "pcm_48000", "ulaw_8000", "alaw_8000", "opus_48000_32", "opus_48000_64",
    "opus_48000_96", "opus_48000_128", "opus_48000_192",
)  # fmt: skip


def output_format_choice(name: str = "output_format", **kwargs) -> Choice:
    return Choice(
        name=name,
        label="Output format",
        help="Codec, sample rate (Hz) and bitrate (kbps). PCM and μ-law/A-law are stored as WAV.",
        choices=tuple((f, f) for f in ELEVENLABS_OUTPUT_FORMATS),
        blank_label="Provider default",
        **kwargs,
    )


@dataclass(frozen=True)
class CatalogModel:
    key: str  # stable id stored on generations
    label: str
    kind: str
    provider: str  # adapter name, also the settings key
    provider_model: str  # the provider's own model id
    spec: ParamSpec
    description: str = ""
    deadline_minutes: int = 20  # a job still unfinished after this is ended as failed

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


PIXAZO_VOICES = ("Aria", "Domi", "Bella", "Rachel", "Antoni")

MODELS: tuple[CatalogModel, ...] = (
    CatalogModel(
        key="pixazo-eleven-music",
        label="ElevenLabs Music (Pixazo)",
        kind=MUSIC,
        provider="pixazo",
        provider_model="elevenlabs-music-api-368",
        description="Songs and scores from a description of style, mood, instruments and structure.",
        spec=ParamSpec(
            params=(
                Text(
                    name="prompt",
                    label="Prompt",
                    required=True,
                    max_length=4000,
                    help="Style, mood, instruments and structure, e.g. “30-second intro, tribal percussion”.",
                ),
                Flag(
                    name="respect_sections_durations",
                    label="Respect section durations",
                    help="Keep timing cues written in the prompt (e.g. “45-second loop”).",
                ),
                output_format_choice(),
            )
        ),
    ),
    CatalogModel(
        key="pixazo-eleven-v3-speech",
        label="Eleven v3 speech (Pixazo)",
        kind=SPEECH,
        provider="pixazo",
        provider_model="eleven-v3-alpha-954",
        description="Expressive text to speech with ElevenLabs v3 voices.",
        deadline_minutes=10,
        spec=ParamSpec(
            prompt_param="text",
            params=(
                Text(name="text", label="Text", required=True, max_length=5000, rows=4,
                     help="What the voice says."),
                Choice(name="voice", label="Voice", required=True, default="Aria",
                       choices=tuple((v, v) for v in PIXAZO_VOICES)),
                Number(name="stability", label="Stability", min=0.0, max=1.0, default=0.5,
                       help="0 to 1. Lower is more expressive, higher more consistent."),
                Number(name="similarity_boost", label="Similarity boost", min=0.0, max=1.0,
                       default=0.75, help="0 to 1. How closely to follow the original voice."),
                Number(name="speed", label="Speed", min=0.5, max=2.0, default=1.0,
                       help="0.5 to 2.0. Below 1 slows speech down, above 1 speeds it up."),
            ),
        ),
    ),
)

BY_KEY = {m.key: m for m in MODELS}


def provider_configured(provider: str) -> bool:
    return bool(settings.PROVIDERS.get(provider, {}).get("api_key"))


def available_models() -> list[CatalogModel]:
    """The models a user may pick: those whose provider has a key."""
    return [m for m in MODELS if provider_configured(m.provider)]


def get_model(key: str) -> CatalogModel | None:
    model = BY_KEY.get(key)
    if model is None or not provider_configured(model.provider):
        return None
    return model
