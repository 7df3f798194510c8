"""Sets build every offered model's own fields: ElevenLabs' voices come from its API, so the
list is put in the cache first (no test talks to the network)."""

import pytest
from django.core.cache import cache

from studio.catalog import elevenlabs


@pytest.fixture(autouse=True)
def elevenlabs_voices_known(settings):
    choices = tuple((voice_id, f"{name} (premade)") for voice_id, name in elevenlabs.FALLBACK_VOICES)
    cache.set(elevenlabs.voices_cache_key(), choices, 600)
    yield
    cache.clear()
