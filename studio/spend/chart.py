"""Spend per day as a server-rendered SVG bar chart: each day's reported cost, with its estimated
cost stacked on top, against a scale of round figures. Geometry only; the template draws it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from studio.spend.usage import Figures
from studio.spend.wording import money

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 76, 8, 12, 28  # room for the scale and the day numbers
NICE = (1, 2, 2.5, 5)


@dataclass(frozen=True)
class Bar:
    x: str
    width: str
    reported_y: str
    reported_height: str
    estimated_y: str
    estimated_height: str
    title: str  # what the bar says on hover and to screen readers
    day: int
    labelled: bool  # whether its day number is printed under it
    label_x: str


@dataclass(frozen=True)
class Tick:
    y: str
    label: str


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    empty: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `value`."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (value.adjusted())
    for step in NICE:
        if Decimal(str(step)) * power >= value:
            return Decimal(str(step)) * power
    return 10 * power


def spend_chart(days: list[Figures]) -> Chart:
    top = nice_ceiling(max((day.total for day in days), default=Decimal(0)))
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    width = max(slot * 0.7, 1.0)

    def height(amount: Decimal) -> float:
        return float(amount / top) * plot_height

    bars = []
    for n, day in enumerate(days):
        reported, estimated = height(day.reported), height(day.estimated)
        x = LEFT + n * slot + (slot - width) / 2
        base = HEIGHT - BOTTOM
        title = f"{day.key.day} {day.key:%B}: {money(day.reported)} reported, {money(day.estimated)} estimated, {day.jobs} job{'s' if day.jobs != 1 else ''}"
        bars.append(Bar(
            x=_n(x), width=_n(width), reported_y=_n(base - reported), reported_height=_n(reported),
            estimated_y=_n(base - reported - estimated), estimated_height=_n(estimated), title=title,
            day=day.key.day, labelled=day.key.day == 1 or day.key.day % 5 == 0, label_x=_n(x + width / 2),
        ))  # fmt: skip
    ticks = [Tick(y=_n(HEIGHT - BOTTOM - plot_height * share), label=money(top * Decimal(str(share)))) for share in (0, 0.5, 1)]
    return Chart(bars=bars, ticks=ticks, empty=not any(day.total for day in days))


def _n(value: float) -> str:
    return f"{value:.1f}"
