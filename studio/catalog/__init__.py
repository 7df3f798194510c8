"""The models the studio offers: who serves them, what kind of audio they make and the
parameters they take (ranges and choices exactly as the provider specs give them).

Each provider's models live in their own module beside this one."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

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


def _collect() -> tuple[CatalogModel, ...]:
    """Every provider module's MODELS, in the order of PROVIDER_MODULES."""
    from importlib import import_module

    models = []
    for name in PROVIDER_MODULES:
        try:
            module = import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        models.extend(module.MODELS)
    return tuple(models)


# One module per provider API, each with a MODELS tuple.
PROVIDER_MODULES = ("pixazo", "aimlapi", "elevenlabs", "apiframe", "runware")
MODELS: tuple[CatalogModel, ...] = _collect()
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
