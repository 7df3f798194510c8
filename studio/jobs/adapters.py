"""Adapters built from settings, one per provider per process (httpx clients are thread-safe)."""

from functools import cache

import httpx
from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from providers.base import Adapter

ADAPTER_CLASSES = {
    "pixazo": "providers.pixazo.Pixazo",
    "aimlapi": "providers.aimlapi.AimlApi",
    "elevenlabs": "providers.elevenlabs.ElevenLabs",
    "apiframe": "providers.apiframe.Apiframe",
    "runware": "providers.runware.Runware",
}


@cache
def get_adapter(provider: str) -> Adapter:
    config = settings.PROVIDERS[provider]
    adapter_class = import_string(ADAPTER_CLASSES[provider])
    adapter = adapter_class(api_key=config["api_key"], base_url=config["base_url"])
    if settings.PROVIDER_TIMEOUT_SECONDS and not adapter.synchronous:  # rendering APIs keep their long wait
        adapter.client.timeout = httpx.Timeout(settings.PROVIDER_TIMEOUT_SECONDS, connect=5.0)
    return adapter


def _forget_adapters(*, setting, **kwargs):
    if setting in ("PROVIDERS", "PROVIDER_TIMEOUT_SECONDS"):  # tests point providers at an emulator on a random port
        get_adapter.cache_clear()


setting_changed.connect(_forget_adapters)


def provider_label(provider: str) -> str:
    return get_adapter(provider).label
