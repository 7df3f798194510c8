"""A track's waveform: the lowest and highest sample of each of a few hundred stretches of it,
for the pages to draw (cards, library rows, the track page, the share page).

libsndfile (bundled with the `soundfile` wheel) decodes every format the providers send: WAV
(PCM, μ-law, A-law), MP3, FLAC and Ogg (Vorbis, Opus). The audio is decoded in blocks and
reduced as it goes, so a five-minute 48 kHz stereo file costs a few megabytes at most, never
the file's size.
"""

from __future__ import annotations

import base64
import logging
import shutil
import tempfile
from collections.abc import Sequence

import numpy as np
import soundfile
from django.core.files.storage import default_storage

from studio.audio.stored_files import open_for_download

log = logging.getLogger(__name__)

BUCKETS = 800  # stretches kept per track: finer than any waveform the pages draw
BLOCK_FRAMES = 65536  # frames decoded at once
SCALE = 127  # peaks are kept as whole numbers from -127 to 127


def compute_peaks(source, *, buckets: int = BUCKETS) -> list[int]:
    """[min, max, min, max, ...] of `buckets` equal stretches of the audio in `source` (a path or
    a seekable binary file), all channels together, scaled to -127..127. Raises
    soundfile.LibsndfileError (a RuntimeError) for what libsndfile cannot read."""
    with soundfile.SoundFile(source) as audio:
        # Stretches of a fixed number of frames, reduced to `buckets` at the end: the frame count
        # a header declares is not always the number decoded (an MP3's is an estimate).
        step = max(1, audio.frames // (buckets * 4)) if audio.frames > 0 else 1024
        lows: list[np.ndarray] = []
        highs: list[np.ndarray] = []
        left_low = left_high = np.empty(0, dtype=np.float32)  # a stretch a block ended inside
        # read() rather than blocks(): blocks() trusts the declared frame count and hands back
        # unwritten memory past an MP3's real end.
        while (block := audio.read(BLOCK_FRAMES, dtype="float32", always_2d=True)).size:
            low = np.concatenate([left_low, block.min(axis=1)])
            high = np.concatenate([left_high, block.max(axis=1)])
            whole = (low.size // step) * step
            if whole:
                lows.append(low[:whole].reshape(-1, step).min(axis=1))
                highs.append(high[:whole].reshape(-1, step).max(axis=1))
            left_low, left_high = low[whole:], high[whole:]
        if left_low.size:
            lows.append(left_low.min(keepdims=True))
            highs.append(left_high.max(keepdims=True))
    if not lows:
        return []
    return _reduce(np.concatenate(lows), np.concatenate(highs), buckets)


def _reduce(low: np.ndarray, high: np.ndarray, buckets: int) -> list[int]:
    if low.size == 0:
        return []
    edges = np.linspace(0, low.size, num=min(buckets, low.size) + 1).astype(int)
    lows = np.minimum.reduceat(low, edges[:-1])
    highs = np.maximum.reduceat(high, edges[:-1])
    pairs = np.empty(lows.size * 2, dtype=np.int64)
    # Samples are within -1..1; a damaged frame a decoder could not read is drawn silent.
    pairs[0::2] = np.round(np.clip(np.nan_to_num(lows, posinf=0, neginf=0), -1, 1) * SCALE)
    pairs[1::2] = np.round(np.clip(np.nan_to_num(highs, posinf=0, neginf=0), -1, 1) * SCALE)
    return pairs.tolist()


def stored_peaks(name: str) -> list[int]:
    """The waveform of a stored file; [] when it cannot be decoded (the track plays all the same).
    On local disk libsndfile reads the file where it is; from another store the file is first
    copied to a temporary file, in blocks."""
    try:
        path = default_storage.path(name)
    except NotImplementedError:  # a remote store (S3): no local path
        path = None
    try:
        if path:
            return compute_peaks(path)
        with tempfile.TemporaryFile() as local:
            source = open_for_download(name)
            try:
                shutil.copyfileobj(source, local, 1024 * 1024)
            finally:
                source.close()
            local.seek(0)
            return compute_peaks(local)
    except (RuntimeError, OSError, ValueError) as exc:  # undecodable or missing: no waveform
        log.warning("no waveform for %s: %s", name, exc)
        return []


def ensure_peaks(track) -> list[int]:
    """The track's waveform, computed and saved first if it has none yet (tracks stored before
    waveforms existed)."""
    if track.peaks is None:
        track.peaks = stored_peaks(track.file.name)
        type(track).objects.filter(pk=track.pk).update(peaks=track.peaks)
    return track.peaks


def encoded(peaks: Sequence[int] | None, *, width: int) -> str:
    """The waveform reduced to `width` stretches, as base64 of signed bytes (min, max, ...): what
    a page carries in a data attribute for the player script to draw. Empty when there is none."""
    if not peaks:
        return ""
    values = np.asarray(peaks, dtype=np.int16)
    low, high = values[0::2], values[1::2]
    count = min(width, low.size)
    edges = np.linspace(0, low.size, num=count + 1).astype(int)[:-1]
    pairs = np.empty(count * 2, dtype=np.int8)
    pairs[0::2] = np.minimum.reduceat(low, edges)
    pairs[1::2] = np.maximum.reduceat(high, edges)
    return base64.b64encode(pairs.tobytes()).decode("ascii")
