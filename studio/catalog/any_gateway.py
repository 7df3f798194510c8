"""Eleven Music through whichever gateway works: four gateways sell the same ElevenLabs model, so
one entry offers it through all of them. A job stores the shared fields (shared_fields.py); the
gateway that takes it (studio/jobs/routing.py) gets them mapped onto its own parameters."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from studio.catalog.model import MUSIC, CatalogModel
from studio.catalog.params import Choice, Flag, Number, ParamSpec, Text
from studio.catalog.shared_fields import SHARED_FORMATS, model_values

MAX_PROMPT = 2000  # AI/ML API and Runware take no more; Pixazo and Apiframe take more


@dataclass(frozen=True)
class MappedSpec(ParamSpec):
    """A gateway model's own spec whose wire form is built from the shared fields."""

    source: CatalogModel | None = field(default=None, compare=False)

    def to_wire(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return self.source.spec.to_wire(model_values(self.source, cleaned))


@cache
def served_by(gateway_model: CatalogModel) -> CatalogModel:
    """The gateway's own entry, taking the shared fields a routed job stores."""
    spec = gateway_model.spec
    return replace(gateway_model, spec=MappedSpec(spec.params, spec.prompt_param, spec.checks, source=gateway_model))


MODELS = (
    CatalogModel(
        key="eleven-music-any",
        label="Eleven Music (any gateway)",
        kind=MUSIC,
        provider="",  # whichever of the gateways below takes the job
        provider_model="",
        gateway_models=("pixazo-eleven-music", "aimlapi-eleven-music", "apiframe-eleven-music", "runware-eleven-music"),
        description="ElevenLabs' music model through whichever gateway works: if the preferred one is down, "
        "the job goes to the next, and the card says so.",
        deadline_minutes=30,  # the serving gateway's own deadline applies once it has the job
        spec=ParamSpec(
            params=(
                Text(
                    name="prompt",
                    label="Prompt",
                    required=True,
                    max_length=MAX_PROMPT,
                    rows=4,
                    help="Genre, mood, instruments, vocals, tempo and structure; up to 2,000 characters.",
                ),
                Number(
                    name="length_seconds",
                    label="Length (seconds)",
                    min=10,
                    max=300,
                    integer=True,
                    help="10 to 300 seconds, sent in each gateway's own unit. Pixazo takes no length: "
                    "there the model decides. Empty: each gateway's default.",
                ),
                Flag(
                    name="instrumental",
                    label="Instrumental only",
                    help="Apiframe and Runware guarantee no vocals; through Pixazo or AI/ML API, say so in the prompt.",
                ),
                Choice(
                    name="output_format",
                    label="Output format",
                    choices=SHARED_FORMATS,
                    blank_label="Each gateway's default",
                    help="Each gateway sends the nearest format it offers (AI/ML API offers no choice).",
                ),
            )
        ),
    ),
)
