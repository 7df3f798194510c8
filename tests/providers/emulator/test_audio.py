"""Audio the emulator makes up for its jobs (providers/emulator/audio.py): playable, the same
bytes for the same seed, and quick enough to render on every request."""

from __future__ import annotations

import time

import pytest

from providers.emulator.audio import parse_output_format, render


def test_render_is_deterministic_and_fast():
    started = time.perf_counter()
    first = render("Mysterious jungle soundtrack", 6, "wav", 44100, channels=2)
    elapsed = time.perf_counter() - started

    assert first == render("Mysterious jungle soundtrack", 6, "wav", 44100, channels=2)
    assert first != render("Something else", 6, "wav", 44100, channels=2)
    assert elapsed < 0.5


@pytest.mark.parametrize("fmt, format_tag", [("ulaw", 7), ("alaw", 6), ("wav", 1)])
def test_wav_containers_carry_the_right_format_tag(fmt, format_tag):
    audio = render("seed", 1, fmt, 8000)

    assert audio.data[:4] == b"RIFF" and audio.data[8:12] == b"WAVE"
    assert int.from_bytes(audio.data[20:22], "little") == format_tag


def test_pcm_is_raw_16_bit_samples():
    audio = render("seed", 1.5, "pcm", 16000, channels=2)

    assert (audio.content_type, audio.extension) == ("audio/pcm", "pcm")
    assert len(audio.data) == int(1.5 * 16000) * 2 * 2


def test_output_format_strings_are_parsed():
    assert parse_output_format("mp3_22050_32") == ("mp3", 22050, 32)
    assert parse_output_format("ulaw_8000") == ("ulaw", 8000, None)
    assert parse_output_format("opus_48000_64") == ("opus", 48000, 64)
    with pytest.raises(ValueError):
        parse_output_format("mp3")
