"""Every hosted API the studio speaks, in one table.

Whatever needs the list of providers reads it here: the settings (PROVIDERS and
PROVIDER_CONCURRENCY, one entry per key), the adapters the pipeline uses
(studio/provider_clients.py), the catalog (studio/catalog/<key>.py for every key), the
emulator (each entry's emulator part, mounted at /<key>) and the tests.

What an API is (its label, whether it answers with the audio itself, whether it calls
back and signs those callbacks, whether the client names the job, what it reports a job's
cost in) is said once, on its adapter class, beside the code that depends on it; an entry
reads it from there. What the studio chooses about an API (its key, where it lives unless
configured, how many requests may be in flight at once, which module emulates it) is said
here.

Adding a sixth provider:
  1. providers/<key>/adapter.py: an Adapter subclass with its label and flags;
  2. providers/<key>/emulator.py: its part of the emulator, a class named `API`;
  3. studio/catalog/<key>.py: the models it serves, in `MODELS`;
  4. one line in PROVIDERS below.
Its settings follow from the key: <KEY>_API_KEY, <KEY>_BASE_URL, <KEY>_CONCURRENCY.

Plain Python, no Django: the emulator and the adapter tests read it too.
"""

from __future__ import annotations

from dataclasses import dataclass

from .aimlapi import AimlApi
from .apiframe import Apiframe
from .base import Adapter, CostUnit
from .elevenlabs import ElevenLabs
from .pixazo import Pixazo
from .runware import Runware


@dataclass(frozen=True)
class Provider:
    key: str  # settings prefix, catalog module, emulator mount point, stored on every catalog model
    adapter: type[Adapter]
    default_base_url: str
    emulator: str  # the module whose `API` class the emulator mounts at /<key>
    # Requests in flight at once, unless <KEY>_CONCURRENCY says otherwise; None: PROVIDER_CONCURRENCY_DEFAULT.
    default_concurrency: int | None = None

    @property
    def label(self) -> str:
        return self.adapter.label

    @property
    def synchronous(self) -> bool:
        return self.adapter.synchronous

    @property
    def accepts_callbacks(self) -> bool:
        return self.adapter.accepts_callbacks

    @property
    def signs_callbacks(self) -> bool:
        return self.adapter.signs_callbacks

    @property
    def client_names_job(self) -> bool:
        return self.adapter.client_names_job

    @property
    def cost_unit(self) -> CostUnit | None:
        return self.adapter.cost_unit


def _by_key(*providers: Provider) -> dict[str, Provider]:
    return {provider.key: provider for provider in providers}


PROVIDERS: dict[str, Provider] = _by_key(
    Provider("pixazo", Pixazo, "https://gateway.pixazo.ai", emulator="providers.pixazo.emulator"),
    Provider("aimlapi", AimlApi, "https://api.aimlapi.com", emulator="providers.aimlapi.emulator"),
    # Each request holds a connection for the whole render, and plans allow only a few at once.
    Provider(
        "elevenlabs", ElevenLabs, "https://api.elevenlabs.io", emulator="providers.elevenlabs.emulator", default_concurrency=2
    ),
    Provider("apiframe", Apiframe, "https://api.apiframe.ai", emulator="providers.apiframe.emulator"),
    Provider("runware", Runware, "https://api.runware.ai/v1", emulator="providers.runware.emulator"),
)


def label(key: str) -> str:
    """What users see for a provider ("AI/ML API"), without building its adapter."""
    return PROVIDERS[key].label
