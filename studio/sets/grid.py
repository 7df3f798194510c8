"""The set page's grid: rows are prompts, columns models, each cell the live card of its latest
job. A fixed number of queries, however many cells."""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.catalog import BY_KEY
from studio.jobs.cards import Card, with_tracks
from studio.models import GenerationSet
from studio.sets.services import latest_jobs


@dataclass(frozen=True)
class Cell:
    model: str  # its column's label
    card: Card | None  # None: no job there (a model's jobs the rules refused never exist)


@dataclass
class GridRow:
    number: int  # from 1, as the page shows it
    prompt: str
    title: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Grid:
    columns: list[str]  # the models' labels
    rows: list[GridRow]
    cards: list[Card]

    @property
    def pending(self) -> list[Card]:
        return [card for card in self.cards if card.gen.is_pending]


def grid(generation_set: GenerationSet) -> Grid:
    cards = with_tracks(latest_jobs(generation_set).values())
    by_cell = {(card.gen.set_row, card.gen.set_column): card for card in cards}
    columns = [BY_KEY[key].label if key in BY_KEY else key for key in generation_set.model_keys]
    rows = [
        GridRow(n + 1, row["prompt"], row.get("title", ""), [Cell(label, by_cell.get((n, c))) for c, label in enumerate(columns)])
        for n, row in enumerate(generation_set.rows)
    ]
    return Grid(columns, rows, cards)
