"""The ledger as CSV: one row per job, with what its provider reported and what it cost in the
studio's currency, and how that is known. Text a spreadsheet would run as a formula is quoted."""

from __future__ import annotations

from collections.abc import Iterator

from providers.registry import PROVIDERS
from studio.catalog import BY_KEY
from studio.models import Generation, SpendBasis
from studio.spend import rates

HEADER = (
    "job", "started", "finished", "project", "member", "provider", "model", "state", "audio_seconds",
    "reported_amount", "reported_unit", "cost", "currency", "cost_basis",
)  # fmt: skip
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def ledger_rows(jobs) -> Iterator[tuple]:
    """The header, then a row per job of the queryset, oldest first, read in chunks."""
    yield HEADER
    currency = rates.currency()
    rows = (
        jobs.select_related("project", "created_by")
        .only(
            "pk", "created_at", "finished_at", "project__name", "created_by__username", "model_key", "gateway", "state",
            "audio_seconds", "cost", "cost_unit", "spend", "spend_basis",
        )
        .order_by("created_at", "pk")
    )  # fmt: skip
    for gen in rows.iterator(chunk_size=2000):
        yield _row(gen, currency)


def _row(gen: Generation, currency: str) -> tuple:
    model = BY_KEY.get(gen.model_key)
    return (
        gen.pk,
        gen.created_at.isoformat(),
        gen.finished_at.isoformat() if gen.finished_at else "",
        _text(gen.project.name),
        _text(gen.created_by.get_username() if gen.created_by else ""),
        PROVIDERS[gen.provider].label if gen.provider else "",
        _text(model.label if model else gen.model_key),
        gen.state,
        f"{gen.audio_seconds:.1f}",
        "" if gen.cost is None else f"{gen.cost.normalize():f}",
        gen.cost_unit,
        "" if gen.spend is None else f"{gen.spend:f}",
        currency,
        SpendBasis(gen.spend_basis).label.lower() if gen.spend_basis in SpendBasis.values else gen.spend_basis,
    )


def _text(value: str) -> str:
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
