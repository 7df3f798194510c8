"""Share links: members make and revoke them; anyone holding a live link listens (and downloads,
when the link allows it) without an account. A dead or unknown link is a plain 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio.access import get_live_share_link, get_membership
from studio.audio.responses import audio_response
from studio.http import HtmxHttpRequest, parse_id
from studio.library.zips import zip_response
from studio.models import Role, ShareLink, Track
from studio.sharing import services
from studio.sharing.forms import ShareLinkForm

PUBLIC_TRACK_LIMIT = 500  # a project link lists this many tracks; the ZIP has them all


@login_required
@require_http_methods(["GET", "POST"])
def project_shares(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The project's links (list, copy, revoke) and the form that makes a new one."""
    membership = get_membership(request.user, project_id, Role.EDITOR)
    project = membership.project
    form = ShareLinkForm(request.POST or None)
    if request.method == "POST":
        track = None
        if request.POST.get("track"):
            track = get_object_or_404(Track, pk=parse_id(request.POST["track"]) or 0, project=project)
        if form.is_valid():
            link = services.create_share_link(
                project=project,
                user=request.user,
                track=track,
                expires_at=form.expires_at(),
                allow_download=form.cleaned_data["allow_download"],
            )
            messages.success(request, "Share link created: copy it from the list below.")
            return redirect(f"{request.path}#link-{link.pk}")
    links = project.share_links.select_related("track", "created_by")
    context = {"project": project, "form": form, "links": links}
    return render(request, "studio/shares.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def share_revoke(request: HtmxHttpRequest, link_id: int) -> HttpResponse:
    link = get_object_or_404(ShareLink, pk=link_id)
    get_membership(request.user, link.project_id, Role.EDITOR)
    services.revoke_share_link(link=link)
    messages.success(request, "The link no longer works.")
    return redirect("project_shares", link.project_id)


# --- Public -----------------------------------------------------------------------


def _shared_tracks(link: ShareLink):
    if link.track_id:
        return Track.objects.filter(pk=link.track_id)
    return link.project.tracks.order_by("-created_at", "-id")


@require_GET
def share_page(request: HtmxHttpRequest, token: str) -> HttpResponse:
    link = get_live_share_link(token)
    tracks = list(_shared_tracks(link)[:PUBLIC_TRACK_LIMIT])
    context = {"link": link, "tracks": tracks, "title": link.track.title if link.track_id else link.project.name}
    response = render(request, "studio/share.html", context)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"  # the token never leaks through a Referer header
    return response


@require_GET
def share_audio(request: HtmxHttpRequest, token: str, track_id: int) -> HttpResponse:
    link = get_live_share_link(token)
    track = _shared_tracks(link).filter(pk=track_id).first()
    if track is None:
        raise Http404("No such track")
    download = request.GET.get("download") == "1"
    if download and not link.allow_download:
        raise Http404("Downloads are not allowed")
    range_header = request.headers.get("Range", "")
    if download and (not range_header or range_header.startswith("bytes=0-")):  # a resumed download is one
        services.count_share_use(link=link, download=True)
    return audio_response(request, track, as_attachment=download)


@require_POST
def share_played(request: HtmxHttpRequest, token: str, track_id: int) -> HttpResponse:
    """A player on the shared page started (share_plays.js): one play. Fetching the file counts
    nothing, so previews, bots and seeks do not inflate the figure."""
    link = get_live_share_link(token)
    if not _shared_tracks(link).filter(pk=track_id).exists():
        raise Http404("No such track")
    services.count_share_use(link=link, download=False)
    return HttpResponse(status=204)


@require_GET
def share_zip(request: HtmxHttpRequest, token: str) -> HttpResponse:
    link = get_live_share_link(token)
    if link.track_id or not link.allow_download:
        raise Http404("No archive here")
    services.count_share_use(link=link, download=True)
    return zip_response(_shared_tracks(link).iterator(), archive_name=link.project.name, public=True)
