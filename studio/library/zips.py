"""Many tracks as one ZIP, streamed: the archive is written as it is sent, a block at a time,
so its size never touches memory. Python's zipfile writes to a stream it cannot seek by
putting each entry's sizes and CRC after its data (a data descriptor), which every unzip reads.
Audio is already compressed: entries are stored, not deflated, byte for byte as the provider
delivered them. Every archive ends with its manifest: each file's provenance record in
manifest.json and one row per file in manifest.csv (provenance.py)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Iterator

from django.utils import timezone

from django.http import StreamingHttpResponse
from django.utils.text import slugify

from studio.audio.ranges import download_disposition
from studio.audio.stored_files import open_for_download
from studio.library import provenance
from studio.models import UNSAFE_IN_FILE_NAMES, Track

BLOCK = 64 * 1024


class _Pipe:
    """A write-only file whose bytes are collected until the generator hands them on."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._offset = 0

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        return data


MANIFESTS = ("manifest.json", "manifest.csv")


def unique_names(tracks: Iterable[Track], name_for: Callable[[Track], str] | None = None) -> Iterator[tuple[str, Track]]:
    """Each track's download name (or `name_for`'s), numbered when two tracks would share one."""
    seen: set[str] = set(MANIFESTS)
    for track in tracks:
        name = name_for(track) if name_for else track.download_name
        stem, _, ext = name.rpartition(".")
        n = 2
        while name in seen:
            name = f"{stem}-{n}.{ext}"
            n += 1
        seen.add(name)
        yield name, track


def zip_chunks(
    tracks: Iterable[Track], *, name_for: Callable[[Track], str] | None = None, public: bool = False
) -> Iterator[bytes]:
    """The archive's bytes as they are written. `public`: for a share link (the manifest leaves
    out the member who started each job)."""
    pipe = _Pipe()
    written: list[tuple[str, Track]] = []
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, track in unique_names(tracks, name_for):
            try:
                source = open_for_download(track.file.name)
            except FileNotFoundError:
                continue  # a file lost from storage leaves the rest of the archive intact
            written.append((name, track))
            info = zipfile.ZipInfo(name, date_time=track.created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            info.file_size = track.size  # lets zipfile decide up front whether ZIP64 is needed
            try:
                with archive.open(info, "w") as entry:
                    for block in iter(lambda: source.read(BLOCK), b""):
                        entry.write(block)
                        yield pipe.drain()
            finally:
                source.close()
            yield pipe.drain()
        records = provenance.records(
            [track for _, track in written], names={track.pk: name for name, track in written}, public=public
        )
        now = timezone.now().timetuple()[:6]
        for name, data in zip(MANIFESTS, (provenance.as_json(records), provenance.as_csv(records))):
            archive.writestr(zipfile.ZipInfo(name, date_time=now), data)
            yield pipe.drain()
    yield pipe.drain()


def zip_response(
    tracks: Iterable[Track], *, archive_name: str, name_for: Callable[[Track], str] | None = None, public: bool = False
) -> StreamingHttpResponse:
    stem = slugify(archive_name)[:80].strip("-") or "tracks"
    named = " ".join(UNSAFE_IN_FILE_NAMES.sub("", archive_name).split())[:120].strip(" .") or stem
    response = StreamingHttpResponse(
        (chunk for chunk in zip_chunks(tracks, name_for=name_for, public=public) if chunk), content_type="application/zip"
    )
    response["Content-Disposition"] = download_disposition(True, f"{named}.zip", f"{stem}.zip")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
