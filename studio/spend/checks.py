"""Startup checks for spend: rates and prices that leave costs unknown, or name no model."""

from django.conf import settings
from django.core import checks

from providers.registry import PROVIDERS
from studio.catalog import BY_KEY, MODELS, provider_configured

RATE_SETTINGS = {"credits": "{KEY}_USD_PER_CREDIT", "characters": "{KEY}_USD_PER_1K_CHARACTERS"}


def check_spend(app_configs, **kwargs):
    messages = []
    currency = settings.SPEND_CURRENCY
    if settings.SPEND_PER_USD is None:
        messages.append(checks.Warning(
            f"SPEND_CURRENCY is {currency} but SPEND_PER_USD is not set: every cost in {currency} stays unknown.",
            hint=f"Set SPEND_PER_USD to what one US dollar is in {currency}.", id="studio.W010",
        ))  # fmt: skip
    unknown = sorted(set(settings.SPEND_MODEL_USD_PRICES) - set(BY_KEY))
    if unknown:
        messages.append(checks.Warning(
            f"MODEL_USD_PRICES names models the studio does not offer: {', '.join(unknown)}.",
            hint=f"Model keys: {', '.join(sorted(BY_KEY))}.", id="studio.W011",
        ))  # fmt: skip
    for key, provider in PROVIDERS.items():
        if not provider_configured(key):
            continue
        if provider.cost_unit is None:
            unpriced = [m.key for m in MODELS if m.provider == key and m.key not in settings.SPEND_MODEL_USD_PRICES]
            if unpriced:
                messages.append(checks.Info(
                    f"{provider.label} reports no cost and {', '.join(unpriced)} {'has' if len(unpriced) == 1 else 'have'} "
                    "no price: their costs stay unknown.",
                    hint="Set MODEL_USD_PRICES, e.g. " + ",".join(f"{k}=0.50" for k in unpriced) + ".", id="studio.I010",
                ))  # fmt: skip
        elif settings.SPEND_USD_PER_UNIT.get(key) is None:
            setting = RATE_SETTINGS[provider.cost_unit.value].format(KEY=key.upper())
            messages.append(checks.Info(
                f"No rate for the {provider.cost_unit.value} {provider.label} reports: its jobs' costs are kept in "
                f"{provider.cost_unit.value} but stay unknown in {currency}.",
                hint=f"Set {setting}.", id="studio.I011",
            ))  # fmt: skip
    return messages
