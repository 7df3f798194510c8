"""The FLAC the emulator writes by hand (providers/emulator/encoders.py) is real FLAC."""

from __future__ import annotations

import hashlib
import io

import mutagen.flac

from providers.emulator.audio import render
from providers.emulator.encoders import flac_bytes


def test_flac_encoder_writes_verbatim_frames_with_the_pcm_md5():
    pcm = render("seed", 0.5, "pcm", 16000, channels=1).data

    data = flac_bytes(pcm, 16000, 1)

    info = mutagen.flac.FLAC(io.BytesIO(data)).info
    assert data[:4] == b"fLaC"
    assert info.md5_signature == int.from_bytes(hashlib.md5(pcm).digest(), "big")
    assert info.total_samples == 8000
    assert len(data) > len(pcm)  # uncompressed frames: every sample is there
