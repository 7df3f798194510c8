"""The Pixazo gateway: its adapter (`adapter.py`) and its part of the emulator (`emulator.py`)."""

from .adapter import Pixazo

__all__ = ["Pixazo"]
