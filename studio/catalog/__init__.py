"""The models the studio offers: who serves them, what kind of audio they make and the
parameters they take (ranges and choices exactly as the provider specs give them).

Each provider's models live in their own module beside this one, named by its registry key;
what an entry is lives in model.py."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings

from providers.registry import PROVIDERS
from studio.catalog import any_gateway
from studio.catalog.model import KIND_LABELS, MUSIC, SFX, SPEECH, CatalogModel, output_format_choice

__all__ = ["KIND_LABELS", "MUSIC", "SFX", "SPEECH", "CatalogModel", "output_format_choice"]

# Every provider's MODELS, from studio/catalog/<key>.py for each key of providers/registry.py, in
# the registry's order: a provider module that fails to import stops the start.
MODELS: tuple[CatalogModel, ...] = tuple(
    model for key in PROVIDERS for model in import_module(f"{__name__}.{key}").MODELS
)
# Served by whichever of several gateways works (routing: studio/jobs/routing.py).
ROUTED_MODELS: tuple[CatalogModel, ...] = any_gateway.MODELS
BY_KEY = {m.key: m for m in (*MODELS, *ROUTED_MODELS)}


def provider_configured(provider: str) -> bool:
    return bool(settings.PROVIDERS.get(provider, {}).get("api_key"))


def is_offered(model: CatalogModel) -> bool:
    """Its provider has a key; for a routed model, at least one of its gateways has."""
    if model.gateway_models:
        return any(provider_configured(BY_KEY[key].provider) for key in model.gateway_models)
    return provider_configured(model.provider)


def available_models() -> list[CatalogModel]:
    """The models a user may pick: those whose provider has a key, then the routed ones."""
    return [m for m in (*MODELS, *ROUTED_MODELS) if is_offered(m)]


def get_model(key: str) -> CatalogModel | None:
    model = BY_KEY.get(key)
    if model is None or not is_offered(model):
        return None
    return model
