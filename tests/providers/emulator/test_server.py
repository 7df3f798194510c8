"""The emulator is served on loopback only: it must never be reachable from another machine."""

from __future__ import annotations

import pytest

from providers.emulator import start_emulator


def test_emulator_refuses_to_listen_off_loopback():
    with pytest.raises(ValueError):
        start_emulator(host="0.0.0.0")
