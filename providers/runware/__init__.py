"""Runware: its adapter (`adapter.py`) and its part of the emulator (`emulator.py`)."""

from .adapter import Runware

__all__ = ["Runware"]
