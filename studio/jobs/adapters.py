"""Adapters built from settings, one per provider per process (httpx clients are thread-safe).

For a provider's label or flags, read providers/registry.py (`registry.label(key)`,
`PROVIDERS[key].synchronous`): no adapter needs building for those."""

from functools import cache

import httpx
from django.conf import settings
from django.core.signals import setting_changed

from providers.base import Adapter
from providers.registry import PROVIDERS


@cache
def get_adapter(provider: str) -> Adapter:
    config = settings.PROVIDERS[provider]
    adapter = PROVIDERS[provider].adapter(api_key=config["api_key"], base_url=config["base_url"])
    if config.get("timeout"):
        adapter.client.timeout = httpx.Timeout(config["timeout"], connect=5.0)
    elif settings.PROVIDER_TIMEOUT_SECONDS and not adapter.synchronous:  # rendering APIs keep their long wait
        adapter.client.timeout = httpx.Timeout(settings.PROVIDER_TIMEOUT_SECONDS, connect=5.0)
    return adapter


def _forget_adapters(*, setting, **kwargs):
    if setting in ("PROVIDERS", "PROVIDER_TIMEOUT_SECONDS"):  # tests point providers at an emulator on a random port
        get_adapter.cache_clear()


setting_changed.connect(_forget_adapters)
