"""What a provider's report is worth in the studio's currency, at the rates the deployment sets
(settings: SPEND_USD_PER_UNIT, SPEND_MODEL_USD_PRICES, SPEND_PER_USD; README "Spend")."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from providers.base import Cost
from providers.registry import PROVIDERS

PLACES = Decimal("0.000001")  # what the ledger keeps


def currency() -> str:
    return settings.SPEND_CURRENCY


def from_usd(usd: Decimal | None) -> Decimal | None:
    """US dollars in the studio's currency; None without a rate for it."""
    if usd is None or settings.SPEND_PER_USD is None:
        return None
    return (usd * settings.SPEND_PER_USD).quantize(PLACES)


def converted(provider: str, cost: Cost) -> Decimal | None:
    """A provider's report in the studio's currency; None when no rate is configured for its unit."""
    if cost.unit != PROVIDERS[provider].cost_unit:
        return None
    usd_per_unit = settings.SPEND_USD_PER_UNIT.get(provider)
    return None if usd_per_unit is None else from_usd(cost.amount * usd_per_unit)


def set_price(model_key: str) -> Decimal | None:
    """The price per job set for a model whose provider reports nothing, in the studio's currency."""
    return from_usd(settings.SPEND_MODEL_USD_PRICES.get(model_key))
