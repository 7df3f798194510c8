"""ElevenLabs, called directly: its adapter (`adapter.py`) and its part of the emulator (`emulator.py`)."""

from .adapter import ElevenLabs

__all__ = ["ElevenLabs"]
