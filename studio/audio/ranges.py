"""Serving stored audio with HTTP Range (RFC 9110 §14), so players can seek and downloads resume.

Django's FileResponse always sends the whole file; browsers' <audio> elements ask for ranges.
"""

from __future__ import annotations

import re

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

BLOCK = 64 * 1024
_SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.ASCII)  # ASCII digits only: not "٣", not "²"


class Unsatisfiable(Exception):
    pass


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


def file_response(request, fh, *, size: int, content_type: str, filename: str, as_attachment: bool, etag: str = ""):
    """Answer 200, 206 or 416 for an open binary file of `size` bytes."""
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition_header(as_attachment, filename),
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
