"""Money and costs as the pages say them: always with a unit, the provider's own figure beside
the studio's currency, an estimate marked as one, and "unknown" rather than 0."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from providers.base import CostUnit
from providers.registry import PROVIDERS
from studio.models import Generation, SpendBasis
from studio.spend import rates

UNIT_WORDS = {CostUnit.USD: ("USD", "USD"), CostUnit.CREDITS: ("credit", "credits"), CostUnit.CHARACTERS: ("character", "characters")}


def money(amount: Decimal | None) -> str:
    """"0.36 USD", "0.0125 USD", "1,250.00 USD": cents and above, up to four decimals below one;
    "unknown" without a figure."""
    if amount is None:
        return "unknown"
    places = 2 if abs(amount) >= 1 else 4
    rounded = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if rounded == 0 and amount != 0:
        return f"under 0.0001 {rates.currency()}"
    text = f"{rounded:,.{places}f}"
    if places == 4:
        text = text.rstrip("0").ljust(text.index(".") + 3, "0")  # 0.3600 → 0.36, 0.0125 stays
    return f"{text} {rates.currency()}"


def moment(at: datetime) -> str:
    """"on 1 December 2026 at 00:00 UTC"."""
    local = timezone.localtime(at)
    return f"on {local.day} {local:%B %Y} at {local:%H:%M %Z}"


def duration(seconds: float) -> str:
    """Seconds of audio: "45 s", "12 min 30 s", "3 h 5 min"."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours:,} h {minutes} min"
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def quantity(amount: Decimal) -> str:
    """A provider's figure as it reported it: "360,000", "0.18", "1.5"."""
    text = f"{amount.normalize():,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def reported(gen: Generation) -> str:
    """The provider's own report: "360,000 credits at AI/ML API"; "" when there is none."""
    if gen.cost is None or gen.cost_unit not in CostUnit._value2member_map_:
        return ""
    one, many = UNIT_WORDS[CostUnit(gen.cost_unit)]
    unit = one if gen.cost == 1 else many
    return f"{quantity(gen.cost)} {unit} at {_provider(gen)}"


def job_cost(gen: Generation) -> str:
    """What a job cost (or will cost), for its card and its track page."""
    basis, spend, report = gen.spend_basis, gen.spend, reported(gen)
    if basis == SpendBasis.REPORTED and spend is not None:
        if gen.cost_unit == CostUnit.USD and rates.currency() == "USD":
            return f"{money(spend)} (as {_provider(gen)} reported it)"
        return f"{money(spend)} ({report})" if report else money(spend)
    if basis == SpendBasis.PRICE and spend is not None:
        return f"{money(spend)} (the model's set price)"
    if basis == SpendBasis.NOT_CHARGED:
        return f"nothing: {_provider(gen)} did not take the job"
    if report:  # a report the studio has no rate for
        return f"{report} (no {rates.currency()} rate is set)"
    if basis == SpendBasis.ESTIMATE and spend is not None:
        return f"≈ {money(spend)} (estimate)" if gen.is_pending else f"≈ {money(spend)} (estimate: not reported)"
    return "unknown"


def takes(gen: Generation) -> int:
    """How many tracks one job makes (Runware's variations): they share its one cost."""
    return max(1, len(gen.media or ()))


def track_cost(gen: Generation) -> str:
    """A track's cost: its job's, or its share of a job that made several tracks."""
    count = takes(gen)
    if count == 1 or gen.spend is None or gen.spend_basis == SpendBasis.NOT_CHARGED:
        return job_cost(gen)
    marker = "≈ " if gen.spend_basis == SpendBasis.ESTIMATE else ""
    return f"{marker}{money(gen.spend / count)}, its share of the job's {money(gen.spend)} ({count} tracks)"


def _provider(gen: Generation) -> str:
    return PROVIDERS[gen.provider].label if gen.provider else "the provider"
