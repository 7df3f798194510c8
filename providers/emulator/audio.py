"""Real, playable audio made up from a seed string, so emulated jobs have media worth listening to.

Pure stdlib (no numpy): every note is a whole number of wave cycles copied from
precomputed cycle tables, one table per loudness step, so a note costs one bytes
join instead of a Python loop over its samples. The same seed always yields the
same bytes, which lets tests compare checksums.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
import struct
import sys
from array import array
from dataclasses import dataclass
from functools import lru_cache
from operator import add
from typing import NamedTuple

import lameenc

# WAV format tags (RIFF "fmt " chunk).
WAVE_FORMAT_PCM = 1
WAVE_FORMAT_ALAW = 6
WAVE_FORMAT_MULAW = 7

CODECS = ("wav", "mp3", "pcm", "ulaw", "alaw")
DEFAULT_MP3_KBPS = 128

# Envelope gains are rounded to this many steps; each step is one cached cycle table.
LOUDNESS_STEPS = 40

MAJOR_PENTATONIC = (0, 2, 4, 7, 9)
# I - V - vi - IV, as semitone offsets of each chord's root from the key.
PROGRESSION = (0, 7, 9, 5)
# Relative strength of harmonics 1, 2, 3, ...: soft and round for music, buzzy for "speech".
TIMBRES = {
    "music": (1.0, 0.35, 0.12),
    "speech": (1.0, 0.55, 0.35, 0.22, 0.14),
}


class Audio(NamedTuple):
    data: bytes
    content_type: str
    extension: str


class OutputFormat(NamedTuple):
    codec: str  # mp3, pcm, ulaw, alaw, opus
    sample_rate: int
    bitrate_kbps: int | None


_OUTPUT_FORMAT = re.compile(r"^(?P<codec>[a-z0-9]+)_(?P<rate>\d+)(?:_(?P<kbps>\d+))?$")


def parse_output_format(value: str) -> OutputFormat:
    """Read an ElevenLabs-style `output_format` such as `mp3_44100_128`, `pcm_16000` or `ulaw_8000`."""
    match = _OUTPUT_FORMAT.match(value or "")
    if not match:
        raise ValueError(f"not an output format: {value!r}")
    kbps = match["kbps"]
    return OutputFormat(match["codec"], int(match["rate"]), int(kbps) if kbps else None)


@dataclass(frozen=True)
class AudioSpec:
    """Everything needed to render one job's media; kept on the job so rendering can wait until fetched."""

    seed: str
    seconds: float
    codec: str = "wav"
    sample_rate: int = 44100
    bitrate_kbps: int | None = None
    channels: int = 1
    style: str = "music"

    def render(self) -> Audio:
        return render(
            self.seed,
            self.seconds,
            self.codec,
            self.sample_rate,
            self.bitrate_kbps,
            channels=self.channels,
            style=self.style,
        )


def render(
    seed: str,
    seconds: float,
    fmt: str,
    sample_rate: int,
    bitrate_kbps: int | None = None,
    *,
    channels: int = 1,
    style: str = "music",
) -> Audio:
    """Synthesize `seconds` of audio from `seed` and encode it as `fmt` (one of CODECS)."""
    if fmt not in CODECS:
        raise ValueError(f"unsupported audio format {fmt!r}; expected one of {CODECS}")
    if channels not in (1, 2):
        raise ValueError("channels must be 1 or 2")
    if style not in TIMBRES:
        raise ValueError(f"unknown style {style!r}")
    frames = max(1, round(seconds * sample_rate))
    rng = random.Random(hashlib.sha256(seed.encode()).digest())
    if style == "speech":
        left = right = _speech_layer(rng, frames, sample_rate)
    else:
        left, right = _music_channels(rng, frames, sample_rate)
    samples = left if channels == 1 else _interleave(left, right)
    return _encode(samples, fmt, sample_rate, channels, bitrate_kbps)


# --- synthesis ---------------------------------------------------------------


@lru_cache(maxsize=512)
def _unit_cycle(period: int, style: str) -> tuple[float, ...]:
    harmonics = TIMBRES[style]
    norm = sum(harmonics)
    return tuple(
        sum(h * math.sin(2 * math.pi * (n + 1) * i / period) for n, h in enumerate(harmonics)) / norm
        for i in range(period)
    )


@lru_cache(maxsize=8192)
def _cycle_bytes(period: int, step: int, peak: int, style: str) -> bytes:
    gain = peak * step / LOUDNESS_STEPS
    return array("h", [int(v * gain) for v in _unit_cycle(period, style)]).tobytes()


def _note(freq: float, frames: int, sample_rate: int, peak: int, style: str, decay: float) -> bytes:
    """A plucked note: fast attack, exponential fall to a sustain level, linear release.

    The gain changes only at cycle boundaries, where the wave crosses zero, so the steps do not click.
    """
    period = max(2, round(sample_rate / freq))
    cycles = frames // period
    attack = max(1, round(0.012 * freq))
    release = max(1, cycles // 5)
    parts = []
    for i in range(cycles):
        t = i * period / sample_rate
        gain = 0.3 + 0.7 * math.exp(-t / decay)
        gain *= min(1.0, (i + 1) / attack, (cycles - i) / release)
        parts.append(_cycle_bytes(period, round(gain * LOUDNESS_STEPS), peak, style))
    return b"".join(parts)


def _layer(
    notes: list[tuple[int, int, float]], frames: int, sample_rate: int, peak: int, style: str, decay: float
) -> array:
    """Place monophonic (start, length, frequency) notes on a silent track of `frames` samples."""
    chunks, cursor = [], 0
    for start, length, freq in sorted(notes):
        if start < cursor or start >= frames:
            continue
        chunks.append(bytes(2 * (start - cursor)))
        note = _note(freq, min(length, frames - start), sample_rate, peak, style, decay)
        chunks.append(note)
        cursor = start + len(note) // 2
    chunks.append(bytes(2 * (frames - cursor)))
    track = array("h")
    track.frombytes(b"".join(chunks))
    if sys.byteorder == "big":
        track.byteswap()
    return track


def _hz(midi_note: float) -> float:
    return 440.0 * 2 ** ((midi_note - 69) / 12)


def _music_channels(rng: random.Random, frames: int, sample_rate: int) -> tuple[array, array]:
    """Melody + bass on the left, an arpeggio + the same bass on the right, over I-V-vi-IV."""
    key = 57 + rng.randrange(8)  # A3 .. E4
    beat = round(sample_rate * 60 / rng.choice((84, 96, 108, 120)))
    eighth = beat // 2
    melody, arpeggio, bass = [], [], []
    pos, bar = 0, 0
    while pos < frames:
        root = key + PROGRESSION[bar % len(PROGRESSION)]
        for half in range(2):
            bass.append((pos + half * 2 * beat, 2 * beat - eighth // 4, _hz(root - 24)))
        for step in range(8):
            start = pos + step * eighth
            minor_third = root - key == 9 and step % 4 == 1  # the vi chord is minor
            chord_tone = root + (0, 4, 7, 12)[step % 4] - minor_third
            arpeggio.append((start, eighth, _hz(chord_tone)))
            if rng.random() < 0.8:
                length = eighth * (2 if rng.random() < 0.3 else 1)
                pitch = key + 12 + rng.choice(MAJOR_PENTATONIC) + rng.choice((0, 0, 12))
                melody.append((start, length, _hz(pitch)))
        pos += 8 * eighth
        bar += 1
    bass_track = _layer(bass, frames, sample_rate, 9000, "music", 0.6)
    left = array("h", map(add, _layer(melody, frames, sample_rate, 9000, "music", 0.25), bass_track))
    right = array("h", map(add, _layer(arpeggio, frames, sample_rate, 5500, "music", 0.15), bass_track))
    return left, right


def _speech_layer(rng: random.Random, frames: int, sample_rate: int) -> array:
    """Syllable-like buzzes at a speaking pitch, grouped in words, with a falling end: a voice-ish murmur."""
    base = rng.uniform(110, 230)
    syllables, pos = [], round(0.05 * sample_rate)
    while pos < frames:
        for _ in range(rng.randint(1, 3)):
            length = round(rng.uniform(0.09, 0.18) * sample_rate)
            pitch = base * rng.uniform(0.85, 1.2) * (0.8 if pos + length > 0.85 * frames else 1.0)
            syllables.append((pos, length, pitch))
            pos += length + round(0.03 * sample_rate)
        pos += round(rng.uniform(0.08, 0.2) * sample_rate)
    return _layer(syllables, frames, sample_rate, 14000, "speech", 0.08)


def _interleave(left: array, right: array) -> array:
    stereo = array("h", bytes(4 * len(left)))
    stereo[0::2] = left
    stereo[1::2] = right
    return stereo


# --- encoding ----------------------------------------------------------------


def _encode(samples: array, fmt: str, sample_rate: int, channels: int, bitrate_kbps: int | None) -> Audio:
    pcm = _little_endian(samples)
    if fmt == "pcm":
        return Audio(pcm, "audio/pcm", "pcm")
    if fmt == "wav":
        return Audio(_wav(WAVE_FORMAT_PCM, pcm, sample_rate, channels, 16), "audio/wav", "wav")
    if fmt == "ulaw":
        data = bytes(_ulaw_table()[(s >> 2) & 0x3FFF] for s in samples)
        return Audio(_wav(WAVE_FORMAT_MULAW, data, sample_rate, channels, 8), "audio/wav", "wav")
    if fmt == "alaw":
        data = bytes(_alaw_table()[(s >> 3) & 0x1FFF] for s in samples)
        return Audio(_wav(WAVE_FORMAT_ALAW, data, sample_rate, channels, 8), "audio/wav", "wav")
    return Audio(_mp3(pcm, sample_rate, channels, bitrate_kbps or DEFAULT_MP3_KBPS), "audio/mpeg", "mp3")


def _little_endian(samples: array) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _wav(format_tag: int, data: bytes, sample_rate: int, channels: int, bits: int) -> bytes:
    block_align = channels * bits // 8
    fmt_chunk = struct.pack(
        "<HHIIHH", format_tag, channels, sample_rate, sample_rate * block_align, block_align, bits
    )
    chunks = [b"fmt ", struct.pack("<I", len(fmt_chunk)), fmt_chunk]
    if format_tag != WAVE_FORMAT_PCM:
        # Non-PCM WAV files carry a "fact" chunk with the frame count.
        chunks += [b"fact", struct.pack("<II", 4, len(data) // block_align)]
    pad = b"\0" if len(data) % 2 else b""
    chunks += [b"data", struct.pack("<I", len(data)), data, pad]
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _mp3(pcm: bytes, sample_rate: int, channels: int, bitrate_kbps: int) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(bitrate_kbps)
    encoder.set_in_sample_rate(sample_rate)
    # LAME would otherwise resample low bitrates to a lower rate than the format promises.
    encoder.set_out_sample_rate(sample_rate)
    encoder.set_channels(channels)
    encoder.set_quality(7)
    encoder.silence()
    return bytes(encoder.encode(pcm) + encoder.flush())


@lru_cache(maxsize=1)
def _ulaw_table() -> bytes:
    """G.711 mu-law code for every 14-bit sample (index = sample >> 2, two's complement)."""
    codes = bytearray(1 << 14)
    for index in range(1 << 14):
        sample = (index - (1 << 14) if index >= 1 << 13 else index) << 2
        sign = 0x80 if sample < 0 else 0
        magnitude = min(abs(sample), 32635) + 0x84
        exponent = min(7, (magnitude >> 7).bit_length() - 1)
        mantissa = (magnitude >> (exponent + 3)) & 0x0F
        codes[index] = ~(sign | exponent << 4 | mantissa) & 0xFF
    return bytes(codes)


@lru_cache(maxsize=1)
def _alaw_table() -> bytes:
    """G.711 A-law code for every 13-bit sample (index = sample >> 3, two's complement)."""
    segment_ends = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
    codes = bytearray(1 << 13)
    for index in range(1 << 13):
        value = index - (1 << 13) if index >= 1 << 12 else index
        mask = 0xD5 if value >= 0 else 0x55
        if value < 0:
            value = -value - 1
        segment = next((n for n, end in enumerate(segment_ends) if value <= end), 8)
        if segment >= 8:
            codes[index] = 0x7F ^ mask
            continue
        shift = 1 if segment < 2 else segment
        codes[index] = ((segment << 4) | ((value >> shift) & 0x0F)) ^ mask
    return bytes(codes)
