"""The library: finding tracks (a project's, or every project's), a track's page and its edits,
several tracks at once, and a track's audio.

Every lookup goes through access.py, so anything outside the user's projects (or above their
role) answers 404 and changes nothing."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from studio.access import (
    get_membership,
    get_project_for_user,
    get_track_for_user,
    get_track_with_membership,
    projects_for_user,
    tracks_for_user,
)
from studio.audio.ranges import download_disposition
from studio.audio.responses import audio_response
from studio.audio.waveform import encoded, ensure_peaks
from studio.errors import Refused
from studio.http import HtmxHttpRequest, parse_ids, parse_int
from studio.library import find as library
from studio.library import provenance, services
from studio.library.forms import BulkForm, CopyForm, MoveForm, TagsForm, TrackTitleForm
from studio.library.zips import zip_response
from studio.models import Role, Track
from studio.sharing.forms import ShareLinkForm


@login_required
@require_GET
def project_tracks(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The project's library alone, swapped in as the user searches, filters and pages."""
    membership = get_membership(request.user, project_id)
    if not request.htmx:
        return redirect(f"{membership.project.get_absolute_url()}?{request.GET.urlencode()}#library")
    project = membership.project
    context = library.find(request.GET, [project_id], project=project, can_edit=membership.allows(Role.EDITOR))
    context.update(project=project, library_version=project.library_version)
    return render(request, "studio/library.html#results", context)


@login_required
@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    """Every project the user belongs to, searched at once."""
    # A list of ids, not a subquery: the planner can then use the search index across projects.
    project_ids = list(projects_for_user(request.user).values_list("pk", flat=True))
    context = library.find(request.GET, project_ids)
    template = "studio/library.html#results" if request.htmx else "studio/search.html"
    return render(request, template, context)


@login_required
@require_GET
def track_detail(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track, membership = get_track_with_membership(request.user, track_id)
    ensure_peaks(track)  # a track stored before waveforms gets its own on its first view
    can_edit = membership.allows(Role.EDITOR)
    context = {
        "track": track,
        "gen": track.generation,
        "project": track.project,
        "can_edit": can_edit,
        "title_form": TrackTitleForm(initial={"title": track.title}),
        "tags_form": TagsForm(initial={"tags": ", ".join(t.name for t in track.tags.all())}),
        "move_form": MoveForm(user=request.user, exclude=track.project_id) if can_edit else None,
        "copy_form": CopyForm(user=request.user, exclude=track.project_id) if can_edit else None,
        "share_form": ShareLinkForm() if can_edit else None,
        "provenance": provenance.records([track])[0],
    }
    return render(request, "studio/track.html", context)


def _back_to_track(request, track) -> HttpResponse:
    if request.htmx and request.POST.get("row"):
        track, membership = get_track_with_membership(request.user, track.pk)
        context = {"track": track, "can_edit": True, "library_project": track.project}
        return render(request, "studio/library.html#track-row", context)
    return redirect("track_detail", track.pk)


@login_required
@require_POST
def track_rename(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track, _ = get_track_with_membership(request.user, track_id, Role.EDITOR)
    form = TrackTitleForm(request.POST)
    if form.is_valid():
        services.rename_track(user=request.user, track=track, title=form.cleaned_data["title"])
        messages.success(request, "Title saved.")
    else:
        messages.error(request, "A title is needed (at most 200 characters): nothing was changed.")
    return _back_to_track(request, track)


@login_required
@require_POST
def track_favorite(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track, _ = get_track_with_membership(request.user, track_id, Role.EDITOR)
    services.set_favorite(user=request.user, tracks=[track], favorite=request.POST.get("favorite") == "1")
    return _back_to_track(request, track)


@login_required
@require_POST
def track_tags(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track, _ = get_track_with_membership(request.user, track_id, Role.EDITOR)
    form = TagsForm(request.POST)
    if form.is_valid():
        services.set_tags(user=request.user, track=track, names=services.parse_tags(form.cleaned_data["tags"]))
        messages.success(request, "Tags saved.")
    return _back_to_track(request, track)


@login_required
@require_POST
def track_move(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    return _to_another_project(request, track_id, MoveForm, services.move_tracks, done="Moved")


@login_required
@require_POST
def track_copy(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    return _to_another_project(request, track_id, CopyForm, services.copy_tracks, done="Copied")


def _to_another_project(request, track_id: int, form_class, change, *, done: str) -> HttpResponse:
    """Move or copy one track into another project the user edits, from its page."""
    track, _ = get_track_with_membership(request.user, track_id, Role.EDITOR)
    form = form_class(request.POST, user=request.user, exclude=track.project_id)
    if not form.is_valid():
        raise Http404("No such project")  # not an editor there: the same answer as for any stranger's id
    try:
        change(user=request.user, tracks=[track], to_project=form.cleaned_data["project"])
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{done} to “{form.cleaned_data['project'].name}”.")
    return redirect("track_detail", track.pk)


@login_required
@require_POST
def track_delete(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track, _ = get_track_with_membership(request.user, track_id, Role.EDITOR)
    project = track.project
    services.delete_tracks(user=request.user, tracks=[track])
    messages.success(request, f"“{track.title}” was deleted.")
    return redirect(project)


@login_required
@require_POST
def tracks_bulk(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    form = BulkForm(request.POST)
    back = reverse("project", args=[project_id]) + "#library"
    if not form.is_valid():
        get_membership(request.user, project_id)
        messages.error(request, "Select at least one track and an action.")
        return redirect(back)
    action, ids = form.cleaned_data["action"], form.cleaned_data["tracks"]
    if action == "zip":  # listening rights are enough to download
        membership = get_membership(request.user, project_id)
        tracks = tracks_for_user(request.user, project_id, ids).order_by("-created_at", "-id")
        return zip_response(tracks.iterator(), archive_name=membership.project.name)
    tracks = tracks_for_user(request.user, project_id, ids, Role.EDITOR)
    try:
        messages.success(request, _bulk_change(request, action, tracks, form.cleaned_data))
    except Refused as exc:
        messages.error(request, exc.message)
    return redirect(back)


def _bulk_change(request, action: str, tracks, data: dict) -> str:
    """Carry out a bulk action on the tracks; answer what was done, in words for the page."""
    user = request.user
    if action == "delete":
        count = services.delete_tracks(user=user, tracks=tracks)
        return f"{count} track{'s' if count != 1 else ''} deleted."
    if action == "favorite":
        services.set_favorite(user=user, tracks=tracks, favorite=True)
        return "Marked as favorites."
    if action == "tag":
        names = services.parse_tags(data["tags"] or "")
        if not names:
            raise Refused("Type the tags to add: nothing was changed.")
        services.add_tags(user=user, tracks=tracks, names=names)
        return f"Tagged {', '.join(names)}."
    # move or copy: the target goes through the same access check as any project id the user sends
    target = get_project_for_user(user, data["project"] or 0, Role.EDITOR)
    if action == "copy":
        count = services.copy_tracks(user=user, tracks=tracks, to_project=target)
        return f"{count} track{'s' if count != 1 else ''} copied to “{target.name}”."
    count = services.move_tracks(user=user, tracks=tracks, to_project=target)
    return f"{count} track{'s' if count != 1 else ''} moved to “{target.name}”."


WAVEFORMS_PER_REQUEST = 25  # a page of the library


@login_required
@require_GET
def track_waveforms(request: HtmxHttpRequest) -> JsonResponse:
    """The waveforms of listed tracks stored before waveforms existed, computed now: one request
    for a whole page (static/player.js asks once per page that shows such tracks)."""
    ids = parse_ids(request.GET.getlist("ids"), limit=WAVEFORMS_PER_REQUEST)
    width = parse_int(request.GET.get("width", ""), low=16, high=800) or 160
    tracks = Track.objects.filter(pk__in=ids, project__in=projects_for_user(request.user))
    return JsonResponse({str(track.pk): encoded(ensure_peaks(track), width=width) for track in tracks})


@login_required
@require_GET
def track_audio(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track = get_track_for_user(request.user, track_id)
    return audio_response(request, track, as_attachment=request.GET.get("download") == "1")


@login_required
@require_GET
def track_provenance(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    """The track's provenance record as a JSON file (the same record every ZIP's manifest holds)."""
    track = get_track_for_user(request.user, track_id)
    response = HttpResponse(provenance.as_json(provenance.records([track])[0]), content_type="application/json")
    stem = track.download_name.rpartition(".")[0]
    response["Content-Disposition"] = download_disposition(True, f"{stem}-provenance.json")
    response["Cache-Control"] = "private, no-store"
    return response
