"""A track's audio as an HTTP answer, to members and share links alike."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect

from studio.audio import stored_files
from studio.audio.ranges import file_response
from studio.models import Track


def audio_response(request, track: Track, *, as_attachment: bool) -> HttpResponse:
    """A track's audio, to members and share links alike: a store link, or the bytes with Range."""
    link = stored_files.presigned_url(
        track.file.name, filename=track.download_name, ascii_filename=track.ascii_download_name,
        content_type=track.content_type, as_attachment=as_attachment,
    )  # fmt: skip
    if link:
        return redirect(link)
    try:
        fh = stored_files.open_for_download(track.file.name)
    except FileNotFoundError:
        raise Http404("The audio file is missing") from None
    return file_response(
        request,
        fh,
        size=track.size,
        content_type=track.content_type,
        filename=track.download_name,
        ascii_filename=track.ascii_download_name,
        as_attachment=as_attachment,
        etag=track.sha256,
    )
