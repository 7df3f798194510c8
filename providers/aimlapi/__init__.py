"""AI/ML API: its adapter (`adapter.py`) and its part of the emulator (`emulator.py`)."""

from .adapter import AimlApi

__all__ = ["AimlApi"]
