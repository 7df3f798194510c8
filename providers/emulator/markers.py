"""`[emulate:...]` markers in a prompt, which let tests and demos force an API's unhappy paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

FORCED_STATUS_CODES = (400, 401, 402, 403, 429, 500)
OUTCOMES = ("failed", "error")
SLOW_FACTOR = 5.0

_MARKER = re.compile(r"\[emulate:([^\]\s]*)\]", re.IGNORECASE)
KNOWN = tuple(str(code) for code in FORCED_STATUS_CODES) + OUTCOMES + ("slow",)


class UnknownMarker(ValueError):
    pass


@dataclass(frozen=True)
class Markers:
    status_code: int | None = None  # answer the submit with this instead of accepting it
    outcome: str = "completed"  # how an accepted job ends: completed, failed or error
    slow: bool = False  # stretch the job's timings by SLOW_FACTOR

    @property
    def time_factor(self) -> float:
        return SLOW_FACTOR if self.slow else 1.0


def read_markers(text: object) -> Markers:
    """Markers found in `text` (anything that is not a string has none); the first status code wins."""
    if not isinstance(text, str):
        return Markers()
    names = [name.lower() for name in _MARKER.findall(text)]
    unknown = [name for name in names if name not in KNOWN]
    if unknown:
        raise UnknownMarker(f"unknown emulator marker [emulate:{unknown[0]}]; known: {', '.join(KNOWN)}")
    codes = [int(name) for name in names if name.isdigit()]
    outcomes = [name for name in names if name in OUTCOMES]
    return Markers(
        status_code=codes[0] if codes else None,
        outcome=outcomes[0] if outcomes else "completed",
        slow="slow" in names,
    )
