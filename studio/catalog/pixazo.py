"""Pixazo gateway models (specs/000)."""

from studio.catalog.model import MUSIC, SPEECH, CatalogModel, characters_in, output_format_choice
from studio.catalog.params import Choice, Flag, Number, ParamSpec, Text

PIXAZO_VOICES = ("Aria", "Domi", "Bella", "Rachel", "Antoni")

MODELS = (
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
        billed_length=characters_in("text"),
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

