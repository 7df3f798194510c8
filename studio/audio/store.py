"""Copying audio into our storage: streamed in constant memory, size-capped, checksummed,
and typed by its actual bytes (providers label files loosely: Pixazo says
`application/octet-stream` for MP3)."""

from __future__ import annotations

import hashlib
import secrets
import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
import mutagen
import mutagen.flac
import mutagen.mp3
import mutagen.mp4
import mutagen.wave
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from studio.audio.media_guard import CheckedURL, MediaURLRefused, check_media_url

CHUNK = 64 * 1024
PAGE_TYPES = frozenset({"text/html", "text/plain", "text/xml", "application/json", "application/xml"})
MAX_REDIRECTS = 3

# The reader for each format sniff() names: letting mutagen guess among every format it knows
# took as long as the rest of storing a short file. Ogg may hold Vorbis or Opus: mutagen tells.
READERS = {"mp3": mutagen.mp3.MP3, "wav": mutagen.wave.WAVE, "flac": mutagen.flac.FLAC, "m4a": mutagen.mp4.MP4}

# Leading bytes → (extension, content type).
SIGNATURES = (
    (b"RIFF", "wav", "audio/wav"),
    (b"ID3", "mp3", "audio/mpeg"),
    (b"OggS", "ogg", "audio/ogg"),
    (b"fLaC", "flac", "audio/flac"),
)


class DownloadFailed(Exception):
    """The file could not be copied; `retryable` says whether trying again may help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class StoredAudio:
    name: str
    size: int
    sha256: str
    content_type: str
    extension: str
    duration_seconds: float | None


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, ext, content_type in SIGNATURES:
        if head.startswith(magic):
            return ext, content_type
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio frame sync
        return "mp3", "audio/mpeg"
    if head[4:8] == b"ftyp":
        return "m4a", "audio/mp4"
    return None


def wav_header(*, data_size: int, sample_rate: int, channels: int = 1, bits: int = 16, fmt_tag: int = 1) -> bytes:
    """A RIFF/WAVE header, to make raw PCM (or μ-law/A-law) playable in a browser."""
    block = channels * bits // 8
    return (
        b"RIFF" + struct.pack("<I", 36 + data_size) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, fmt_tag, channels, sample_rate, sample_rate * block, block, bits)
        + b"data" + struct.pack("<I", data_size)
    )  # fmt: skip


def store_stream(
    chunks: Iterable[bytes],
    *,
    project_id: int,
    declared_type: str = "",
    raw_format: tuple[str, int] | None = None,
    max_bytes: int | None = None,
) -> StoredAudio:
    """Write `chunks` to storage under a generated name.

    `raw_format` = ("pcm" | "ulaw" | "alaw", sample_rate) for headerless audio, which is
    wrapped in WAV so it plays anywhere.
    """
    max_bytes = max_bytes or settings.MAX_DOWNLOAD_BYTES
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as tmp:
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise DownloadFailed(f"the file is larger than {max_bytes // (1024 * 1024)} MB", retryable=False)
            tmp.write(chunk)
        if size == 0:
            raise DownloadFailed("the provider sent an empty file", retryable=True)
        if raw_format:
            tmp = _wrap_raw(tmp, size, *raw_format)
            size = tmp.seek(0, 2)
        tmp.seek(0)
        kind = sniff(tmp.read(16))
        if kind is None:
            if declared_type.startswith("audio/"):
                kind = (_safe_extension(declared_type), declared_type[:100])
            else:
                raise DownloadFailed("the provider sent something that is not audio", retryable=False)
        extension, content_type = kind
        tmp.seek(0)
        for block in iter(lambda: tmp.read(CHUNK), b""):
            digest.update(block)
        # Read from the local copy: on a remote store, reading back would fetch the whole file.
        duration = audio_duration(File(tmp, name=f"audio.{extension}"), extension=extension)
        tmp.seek(0)
        name = default_storage.save(f"tracks/{project_id}/{secrets.token_hex(16)}.{extension}", File(tmp))
    return StoredAudio(
        name=name,
        size=size,
        sha256=digest.hexdigest(),
        content_type=content_type,
        extension=extension,
        duration_seconds=duration,
    )


def _safe_extension(content_type: str) -> str:
    """The subtype of a provider's `audio/...` label, if it is a plain word: it ends up in a path."""
    subtype = content_type.split("/", 1)[1].split(";")[0].strip().lower()
    return subtype[:8] if subtype.isascii() and subtype.isalnum() else "bin"


def _wrap_raw(tmp, size: int, kind: str, sample_rate: int):
    fmt_tag, bits = {"pcm": (1, 16), "ulaw": (7, 8), "alaw": (6, 8)}[kind]
    wrapped = tempfile.TemporaryFile()
    wrapped.write(wav_header(data_size=size, sample_rate=sample_rate, bits=bits, fmt_tag=fmt_tag))
    tmp.seek(0)
    for block in iter(lambda: tmp.read(CHUNK), b""):
        wrapped.write(block)
    tmp.close()
    return wrapped


def audio_duration(fh, *, extension: str = "") -> float | None:
    try:
        fh.seek(0)
        info = READERS.get(extension, mutagen.File)(fh)
    except Exception:  # an unreadable header only costs us the duration
        return None
    length = getattr(getattr(info, "info", None), "length", None)
    return round(float(length), 3) if length else None


_client = httpx.Client(
    timeout=httpx.Timeout(settings.DOWNLOAD_READ_TIMEOUT_SECONDS, connect=5.0), follow_redirects=False
)


def _pinned(checked: CheckedURL) -> dict:
    """Request options that reach the checked address under the URL's own name: the Host header,
    and the name TLS sends (SNI) and checks the certificate against. A connection made for one
    name is not reused for another that shares its address."""
    if checked.address is None:
        return {}
    return {
        "headers": {"Host": checked.host_header, "Connection": "close"},
        "extensions": {"sni_hostname": checked.host},
    }


def _redirect_target(url: str, location: str) -> str:
    try:
        return urljoin(url, location)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket: not an address to follow
        raise DownloadFailed(f"the media link was refused: a redirect to an invalid address ({exc})", retryable=False) from None


def download(
    url: str,
    *,
    project_id: int,
    provider_base_url: str,
    declared_type: str = "",
    keep_alive: Callable[[Iterable[bytes]], Iterable[bytes]] = lambda chunks: chunks,
) -> StoredAudio:
    """Stream a provider's media URL into storage, checking every hop before connecting.
    `keep_alive` wraps the stream of chunks (the caller renews its lease as they arrive)."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            checked = check_media_url(url, provider_base_url=provider_base_url)
        except MediaURLRefused as exc:
            raise DownloadFailed(f"the media link was refused: {exc}", retryable=False) from exc
        try:
            with _client.stream("GET", checked.connect_url, **_pinned(checked)) as response:
                if response.is_redirect:
                    url = _redirect_target(url, response.headers.get("Location", ""))
                    continue
                if response.status_code in (403, 404, 410):
                    raise DownloadFailed(f"the media link answered {response.status_code} (expired?)", retryable=True)
                if not response.is_success:
                    raise DownloadFailed(f"the media host answered {response.status_code}", retryable=True)
                declared = response.headers.get("Content-Type", declared_type)
                if declared.split(";")[0].strip().lower() in PAGE_TYPES:
                    # An error or sign-in page served with 200 (an expired CDN link): not audio.
                    raise DownloadFailed(f"the media link answered a page ({declared[:40]})", retryable=True)
                stored = store_stream(
                    keep_alive(response.iter_bytes(CHUNK)), project_id=project_id, declared_type=declared
                )
                expected = response.headers.get("Content-Length")
                if expected and expected.isascii() and expected.isdigit() and int(expected) != response.num_bytes_downloaded:
                    default_storage.delete(stored.name)
                    raise DownloadFailed("the download was cut short", retryable=True)
                return stored
        except httpx.HTTPError as exc:
            raise DownloadFailed(f"the download failed ({type(exc).__name__})", retryable=True) from exc
    raise DownloadFailed("too many redirects", retryable=False)
