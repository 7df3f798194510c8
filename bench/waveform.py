"""Waveforms: the peaks of a 5-minute 48 kHz stereo WAV (about 58 MB) and of a 5-minute MP3,
computed the way the worker computes them when it saves a track (studio/audio/waveform.py),
with the time each takes and how much this process's memory grows meanwhile.

    .venv/bin/python bench/waveform.py [--seconds 300] [--repeat 3]

The two files are written first by a child process (so their making leaves nothing in this
process's memory), into a temporary folder removed at the end. No database, no network.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench import _common as c  # noqa: E402

RATE = 48_000
TARGET_GROWTH_MB = 30.0  # as for the fetch of a big file (bench/bigfile.py)
BLOCK_SECONDS = 10


def write_files(folder: str, seconds: float) -> None:
    """A WAV and an MP3 of `seconds` of stereo music-like sound, written a block at a time."""
    import lameenc
    import numpy as np
    import soundfile

    rng = np.random.default_rng(7)
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(192)
    encoder.set_in_sample_rate(RATE)
    encoder.set_out_sample_rate(RATE)
    encoder.set_channels(2)
    encoder.set_quality(7)
    with soundfile.SoundFile(os.path.join(folder, "long.wav"), "w", RATE, 2, "PCM_16") as wav, open(
        os.path.join(folder, "long.mp3"), "wb"
    ) as mp3:
        done = 0
        while done < seconds:
            length = min(BLOCK_SECONDS, seconds - done)
            t = np.arange(int(length * RATE)) / RATE + done
            beat = 0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t) ** 2  # swells every two seconds
            left = beat * (0.4 * np.sin(2 * np.pi * 220 * t) + 0.1 * rng.standard_normal(t.size))
            right = beat * (0.4 * np.sin(2 * np.pi * 330 * t) + 0.1 * rng.standard_normal(t.size))
            block = np.clip(np.stack([left, right], axis=1), -1, 1)
            wav.write(block)
            mp3.write(encoder.encode((block * 32767).astype("<i2").tobytes()))
            done += length
        mp3.write(encoder.flush())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
    import django

    django.setup()
    from studio.audio.waveform import BUCKETS, compute_peaks

    rows = []
    with tempfile.TemporaryDirectory(prefix="studio-bench-waveform-") as folder:
        maker = multiprocessing.get_context("spawn").Process(target=write_files, args=(folder, args.seconds))
        maker.start()
        maker.join()
        for name, label in (("long.wav", "48 kHz stereo WAV"), ("long.mp3", "MP3, 192 kbps stereo")):
            path = os.path.join(folder, name)
            size_mb = os.path.getsize(path) / 1e6
            times, growths = [], []
            for _ in range(args.repeat):
                gc.collect()
                with c.RssSampler() as memory, c.timed() as took:
                    peaks = compute_peaks(path)
                times.append(took["seconds"])
                growths.append(memory.growth_mb)
            assert len(peaks) == 2 * BUCKETS, len(peaks)
            rows.append((f"{label} ({size_mb:.1f} MB): time, median of {args.repeat}", f"{c.median(times):.2f} s", "(reported)", True))
            growth = max(growths)
            rows.append((f"{label}: memory growth, worst of {args.repeat}", f"{growth:.1f} MB", f"< {TARGET_GROWTH_MB:g} MB",
                         growth < TARGET_GROWTH_MB))  # fmt: skip
    c.print_table(f"Waveforms of {args.seconds:g} s of audio ({c.load_note()})", rows)


if __name__ == "__main__":
    main()
