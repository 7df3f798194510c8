"""Fixtures the emulator tests share (each provider's `test_emulator.py`, and `emulator/`): one
emulator per module, started with the module's `FAST` timings, reset before each test, and a
client that sends the module's `AUTH_HEADERS`. The adapter tests mock HTTP with respx instead."""

import httpx
import pytest

from providers.emulator import Emulator, start_emulator


@pytest.fixture(scope="module")
def running(request):
    with start_emulator(**request.module.FAST) as running:
        yield running


@pytest.fixture
def emulator(running) -> Emulator:
    running.emulator.reset()
    return running.emulator


@pytest.fixture(scope="module")
def shared_client(request, running):
    timeout = getattr(request.module, "CLIENT_TIMEOUT", 5)
    with httpx.Client(base_url=running.base_url, headers=request.module.AUTH_HEADERS, timeout=timeout) as client:
        yield client


@pytest.fixture
def client(shared_client, emulator):
    return shared_client
