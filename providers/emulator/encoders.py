"""FLAC and Ogg Vorbis files from 16-bit PCM, for the emulator parts that serve them
(audio.py writes WAV, MP3 and the headerless codecs).

FLAC is written by hand; Vorbis is far too much for that, so it goes through libsndfile
(the system's, or the copy the `soundfile` wheel bundles) when this machine has one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import importlib.util
import os
import struct
import sys
import tempfile
from array import array
from functools import lru_cache

FLAC_BLOCK = 4096  # samples per channel in each frame


def flac_bytes(pcm: bytes, sample_rate: int, channels: int) -> bytes:
    """16-bit little-endian interleaved PCM as a FLAC stream of VERBATIM subframes: valid FLAC
    that any decoder plays, without the compression (not worth it in an emulator)."""
    samples = array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    total = len(samples) // channels
    planes = [samples[c::channels] for c in range(channels)]
    if sys.byteorder == "little":  # FLAC stores samples big-endian
        for plane in planes:
            plane.byteswap()
    block = min(FLAC_BLOCK, total)
    packed = sample_rate << 44 | (channels - 1) << 41 | (16 - 1) << 36 | total
    streaminfo = struct.pack(">HH", block, block) + bytes(6) + packed.to_bytes(8, "big") + hashlib.md5(pcm).digest()
    out = [b"fLaC", bytes([0x80]) + len(streaminfo).to_bytes(3, "big"), streaminfo]
    for number, start in enumerate(range(0, total, FLAC_BLOCK)):
        size = min(FLAC_BLOCK, total - start)
        full = size == FLAC_BLOCK
        # Sync + fixed blocking; block size code 1100 (4096) or 0111 (size-1 follows); rate from STREAMINFO.
        header = bytearray(b"\xff\xf8")
        header.append((0b1100 if full else 0b0111) << 4)
        header.append((channels - 1) << 4 | 0b100 << 1)  # independent channels, 16 bits per sample
        header += _utf8_number(number)
        if not full:
            header += struct.pack(">H", size - 1)
        header.append(_crc8(bytes(header)))
        frame = bytes(header) + b"".join(b"\x02" + plane[start : start + size].tobytes() for plane in planes)
        out.append(frame + struct.pack(">H", _crc16(frame)))
    return b"".join(out)


def _utf8_number(value: int) -> bytes:
    if value < 0x80:
        return bytes([value])
    length = 2
    while value >= 1 << (5 * length + 1):
        length += 1
    first = (0xFF << (8 - length)) & 0xFF | value >> (6 * (length - 1))
    rest = [0x80 | (value >> (6 * i)) & 0x3F for i in range(length - 2, -1, -1)]
    return bytes([first, *rest])


@lru_cache(maxsize=1)
def _crc_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    def table(poly: int, width: int) -> tuple[int, ...]:
        top, mask, rows = 1 << (width - 1), (1 << width) - 1, []
        for byte in range(256):
            crc = byte << (width - 8)
            for _ in range(8):
                crc = (crc << 1 ^ poly if crc & top else crc << 1) & mask
            rows.append(crc)
        return tuple(rows)

    return table(0x07, 8), table(0x8005, 16)


def _crc8(data: bytes) -> int:
    table, crc = _crc_tables()[0], 0
    for byte in data:
        crc = table[crc ^ byte]
    return crc


def _crc16(data: bytes) -> int:
    table, crc = _crc_tables()[1], 0
    for byte in data:
        crc = (crc << 8 & 0xFFFF) ^ table[crc >> 8 ^ byte]
    return crc


class _SfInfo(ctypes.Structure):
    _fields_ = [
        ("frames", ctypes.c_int64),
        ("samplerate", ctypes.c_int),
        ("channels", ctypes.c_int),
        ("format", ctypes.c_int),
        ("sections", ctypes.c_int),
        ("seekable", ctypes.c_int),
    ]


SF_FORMAT_OGG_VORBIS = 0x200000 | 0x0060
SFM_WRITE = 0x20
SFC_SET_VBR_ENCODING_QUALITY = 0x1300


@lru_cache(maxsize=1)
def _bundled_sndfile() -> str | None:
    """The copy of libsndfile that the `soundfile` wheel ships, for machines without the system one."""
    spec = importlib.util.find_spec("_soundfile_data")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = spec.submodule_search_locations[0]
    found = sorted(f for f in os.listdir(folder) if f.startswith("libsndfile") and f.endswith((".so", ".dylib")))
    return os.path.join(folder, found[0]) if found else None


def sndfile():
    """libsndfile, when this machine has it: Vorbis is far too much to encode by hand."""
    name = ctypes.util.find_library("sndfile") or _bundled_sndfile()
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.sf_open.restype = ctypes.c_void_p
    lib.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_SfInfo)]
    lib.sf_writef_short.restype = ctypes.c_int64
    lib.sf_writef_short.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    lib.sf_command.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    lib.sf_close.argtypes = [ctypes.c_void_p]
    lib.sf_strerror.restype = ctypes.c_char_p
    lib.sf_strerror.argtypes = [ctypes.c_void_p]
    return lib


def vorbis_bytes(pcm: bytes, sample_rate: int, channels: int, quality: float = 0.5) -> bytes:
    lib = sndfile()
    if lib is None:
        raise RuntimeError("libsndfile is not installed: cannot encode OGG Vorbis")
    samples = array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    info = _SfInfo(0, sample_rate, channels, SF_FORMAT_OGG_VORBIS, 0, 0)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "result.ogg")
        handle = lib.sf_open(path.encode(), SFM_WRITE, ctypes.byref(info))
        if not handle:
            raise RuntimeError(f"libsndfile: {lib.sf_strerror(None).decode(errors='replace')}")
        try:
            level = ctypes.c_double(min(1.0, max(0.0, quality)))
            lib.sf_command(handle, SFC_SET_VBR_ENCODING_QUALITY, ctypes.byref(level), ctypes.sizeof(level))
            buffer = (ctypes.c_short * len(samples)).from_buffer(samples)
            lib.sf_writef_short(handle, buffer, len(samples) // channels)
        finally:
            lib.sf_close(handle)
        with open(path, "rb") as fh:
            return fh.read()
