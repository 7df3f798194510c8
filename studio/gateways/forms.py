"""A project's own order of gateways for routed models: a place for each gateway (equal places for
equally preferred ones, the faster first), or "not used"."""

from __future__ import annotations

from django import forms

from providers import registry
from studio.catalog import BY_KEY
from studio.jobs.routing import deployment_ranks
from studio.models import Project

PLACES = [("1", "1st"), ("2", "2nd"), ("3", "3rd"), ("4", "4th"), ("", "Not used")]


def routed_gateways() -> list[str]:
    """Every gateway that serves a routed model, in the registry's order."""
    served = {BY_KEY[key].provider for model in BY_KEY.values() for key in model.gateway_models}
    return [key for key in registry.PROVIDERS if key in served]


class GatewayOrderForm(forms.Form):
    def __init__(self, *args, project: Project, **kwargs):
        super().__init__(*args, **kwargs)
        ranks = project.gateway_ranks or deployment_ranks()
        for gateway in routed_gateways():
            self.fields[gateway] = forms.ChoiceField(
                label=registry.label(gateway),
                choices=PLACES,
                required=False,
                initial=str(ranks[gateway]) if gateway in ranks else "",
            )

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(gateway) for gateway in routed_gateways()):
            raise forms.ValidationError("Give at least one gateway a place: nothing was changed.")
        return cleaned

    def ranks(self) -> dict[str, int]:
        return {gateway: int(place) for gateway, place in self.cleaned_data.items() if place}
