"""Serving stored audio with HTTP Range (RFC 9110 §14), so players can seek and downloads resume.

Django's FileResponse always sends the whole file; browsers' <audio> elements ask for ranges.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse

BLOCK = 64 * 1024
_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII)  # ASCII digits only: not "٣", not "²"


class Unsatisfiable(Exception):
    pass


def download_disposition(as_attachment: bool, filename: str, ascii_filename: str = "") -> str:
    """Content-Disposition naming the file as typed, in any script (RFC 6266 `filename*`, UTF-8
    per RFC 5987), with a plain ASCII `filename` first for clients that read only that."""
    kind = "attachment" if as_attachment else "inline"
    fallback = ascii_filename or _ascii(filename)
    header = f'{kind}; filename="{fallback}"'
    if filename != fallback:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


def _ascii(filename: str) -> str:
    """Accents dropped, anything else outside printable ASCII (and quotes, backslashes) replaced."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    return re.sub(r'[^\x20-\x7e]|["\\]', "_", folded) or "download"


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte positions asked for, inclusive; None means "send it all".

    A header we do not understand (other units, several ranges) is ignored, as the RFC allows.
    """
    match = _SINGLE_RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise Unsatisfiable
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise Unsatisfiable
    return start, end


def _read(fh, start: int, length: int):
    try:
        fh.seek(start)
        while length > 0:
            block = fh.read(min(BLOCK, length))
            if not block:
                break
            length -= len(block)
            yield block
    finally:
        fh.close()


def file_response(
    request, fh, *, size: int, content_type: str, filename: str, as_attachment: bool, etag: str = "", ascii_filename: str = ""
):
    """Answer 200, 206 or 416 for an open binary file of `size` bytes."""
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": download_disposition(as_attachment, filename, ascii_filename),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
    }
    if etag:
        headers["ETag"] = f'"{etag}"'
    try:
        wanted = parse_range(request.headers.get("Range", ""), size)
        if wanted and request.headers.get("If-Range") and request.headers["If-Range"] != headers.get("ETag"):
            wanted = None  # the file changed since the client's partial copy: send all of it
    except Unsatisfiable:
        fh.close()
        return HttpResponse(status=416, headers={"Content-Range": f"bytes */{size}", **headers})
    start, end = wanted if wanted else (0, size - 1)
    length = max(0, end - start + 1)
    response = StreamingHttpResponse(
        _read(fh, start, length),
        status=206 if wanted else 200,
        content_type=content_type,
        headers=headers,
    )
    response["Content-Length"] = str(length)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response
