"""Apiframe: its adapter (`adapter.py`) and its part of the emulator (`emulator.py`)."""

from .adapter import Apiframe

__all__ = ["Apiframe"]
