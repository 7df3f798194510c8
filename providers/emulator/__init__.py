"""A local stand-in for the hosted audio APIs: real HTTP on loopback, no keys, no network."""

from .app import Emulator
from .server import RunningEmulator, start_emulator

__all__ = ["Emulator", "RunningEmulator", "start_emulator"]
