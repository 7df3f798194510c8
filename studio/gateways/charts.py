"""Small bar charts for the Providers page, drawn as SVG on the server: submissions per bucket, the
failed ones in front."""

from __future__ import annotations

from dataclasses import dataclass

from studio.gateways.figures import Figures, Window

HEIGHT = 40
BAR_WIDTH = 10


@dataclass(frozen=True)
class Bar:
    x: int
    submitted_height: float
    failed_height: float
    submitted: int
    failed: int

    @property
    def submitted_y(self) -> float:
        return HEIGHT - self.submitted_height

    @property
    def failed_y(self) -> float:
        return HEIGHT - self.failed_height


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    words: str  # what a screen reader hears instead


def chart(figures: Figures, window: Window) -> Chart:
    tallest = max(figures.submitted_per_bucket, default=0) or 1
    bars = [
        Bar(
            x=n * BAR_WIDTH,
            submitted_height=round(HEIGHT * submitted / tallest, 1),
            failed_height=round(HEIGHT * failed / tallest, 1),
            submitted=submitted,
            failed=failed,
        )
        for n, (submitted, failed) in enumerate(zip(figures.submitted_per_bucket, figures.failed_per_bucket))
    ]
    step = f"{int(window.bucket.total_seconds() // 60)} minutes" if window.bucket.total_seconds() < 3600 else "hour"
    words = (
        f"Submissions per {step} over the last {window.name}, oldest first: "
        + ", ".join(f"{bar.submitted}" + (f" ({bar.failed} failed)" if bar.failed else "") for bar in bars)
    )
    return Chart(width=len(bars) * BAR_WIDTH, height=HEIGHT, bars=bars, words=words)
