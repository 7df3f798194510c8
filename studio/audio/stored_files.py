"""Reading stored audio back for the browser, from local disk or an S3-compatible store.

`ranges.file_response` seeks once and then reads forward; on S3 that becomes one ranged GET
from the asked-for byte on, so a seek in a long track never pulls the whole object through
the web process.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import default_storage

from studio.audio.ranges import download_disposition


def _is_s3(storage) -> bool:
    return hasattr(storage, "bucket")  # django-storages' S3Storage


class RangedObject:
    """A read-only, forward-reading file over one S3 object."""

    def __init__(self, obj):
        self._obj = obj
        self._position = 0
        self._body = None

    def seek(self, position: int, whence: int = 0) -> int:
        if whence != 0 or self._body is not None:
            raise OSError("only one absolute seek before the first read")
        self._position = position
        return position

    def read(self, size: int = -1) -> bytes:
        if self._body is None:
            self._body = self._obj.get(Range=f"bytes={self._position}-")["Body"]
        data = self._body.read() if size is None or size < 0 else self._body.read(size)
        self._position += len(data)
        return data

    def close(self) -> None:
        if self._body is not None:
            self._body.close()


def open_for_download(name: str):
    """A binary file for `ranges.file_response`; FileNotFoundError when the object is gone."""
    storage = default_storage
    if not _is_s3(storage):
        return storage.open(name, "rb")
    from botocore.exceptions import ClientError  # only installed with the s3 extra

    try:
        handle = storage.open(name, "rb")  # a HEAD: fails early when the object is missing
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            raise FileNotFoundError(name) from exc
        raise
    return RangedObject(handle.obj)


def presigned_url(name: str, *, filename: str, content_type: str, as_attachment: bool, ascii_filename: str = "") -> str | None:
    """A short-lived link straight to the store, when configured to hand those out; else None."""
    storage = default_storage
    if settings.AUDIO_DOWNLOADS != "redirect" or not _is_s3(storage):
        return None
    return storage.url(
        name,
        parameters={
            "ResponseContentDisposition": download_disposition(as_attachment, filename, ascii_filename),
            "ResponseContentType": content_type,
        },
        expire=settings.AWS_QUERYSTRING_EXPIRE,
    )
