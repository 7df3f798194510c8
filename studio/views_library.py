"""The library pages: project settings and members, track details and edits, bulk actions, search.

Every lookup goes through access.py, so anything outside the user's projects (or above their
role) answers 404 and changes nothing."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import invitations, library, services
from .access import get_membership, get_project_for_user, get_track_with_membership, projects_for_user, tracks_for_user
from .forms import (
    BulkForm,
    DeleteProjectForm,
    MemberForm,
    MoveForm,
    ProjectForm,
    RoleForm,
    ShareLinkForm,
    TagsForm,
    TrackTitleForm,
)
from .errors import Refused
from .models import Membership, Role
from .views import HtmxHttpRequest
from .zips import zip_response

# --- Finding ----------------------------------------------------------------------


@login_required
@require_GET
def project_tracks(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    """The project's library alone, swapped in as the user searches, filters and pages."""
    membership = get_membership(request.user, project_id)
    if not request.htmx:
        return redirect(f"{membership.project.get_absolute_url()}?{request.GET.urlencode()}#library")
    context = library.find(request.GET, [project_id], project=membership.project, can_edit=membership.allows(Role.EDITOR))
    return render(request, "studio/library.html#results", {"project": membership.project, **context})


@login_required
@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    """Every project the user belongs to, searched at once."""
    # A list of ids, not a subquery: the planner can then use the search index across projects.
    project_ids = list(projects_for_user(request.user).values_list("pk", flat=True))
    context = library.find(request.GET, project_ids)
    template = "studio/library.html#results" if request.htmx else "studio/search.html"
    return render(request, template, context)


# --- Projects ---------------------------------------------------------------------


def _settings_page(request, membership: Membership, *, status=200, **forms) -> HttpResponse:
    project = membership.project
    members = project.memberships.select_related("user").order_by("user__username")
    context = {
        "project": project,
        "membership": membership,
        "members": members,
        "invitations": invitations.open_invitations(project).select_related("invited_by").order_by("email"),
        "project_form": forms.get("project_form") or ProjectForm(instance=project),
        "member_form": forms.get("member_form") or MemberForm(),
        "delete_form": forms.get("delete_form") or DeleteProjectForm(project=project),
    }
    return render(request, "studio/project_settings.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = get_membership(request.user, project_id, Role.OWNER)
    if request.method == "GET":
        return _settings_page(request, membership)
    form = ProjectForm(request.POST, instance=None)
    if not form.is_valid():
        return _settings_page(request, membership, status=400, project_form=form)
    services.update_project(project=membership.project, **form.cleaned_data)
    messages.success(request, "Project saved.")
    return redirect("project_settings", project_id)


@login_required
@require_POST
def project_archive(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    project = get_project_for_user(request.user, project_id, Role.OWNER)
    archived = request.POST.get("archived") != "0"
    services.set_archived(project=project, archived=archived)
    messages.success(request, f"“{project.name}” {'archived' if archived else 'restored'}.")
    return redirect(project)


@login_required
@require_POST
def project_delete(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = get_membership(request.user, project_id, Role.OWNER)
    form = DeleteProjectForm(request.POST, project=membership.project)
    if not form.is_valid():
        return _settings_page(request, membership, status=400, delete_form=form)
    name = membership.project.name
    services.delete_project(project=membership.project)
    messages.success(request, f"“{name}” and its audio were deleted.")
    return redirect("home")


@login_required
@require_POST
def member_add(request: HtmxHttpRequest, project_id: int) -> HttpResponse:
    membership = get_membership(request.user, project_id, Role.OWNER)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            done = _add_or_invite(request, membership.project, **form.cleaned_data)
        except Refused as exc:
            form.add_error("who", str(exc))
        else:
            messages.success(request, done)
            return redirect("project_settings", project_id)
    return _settings_page(request, membership, status=400, member_form=form)


def _add_or_invite(request, project, *, who: str, role: str) -> str:
    """An account joins at once; an address no account has gets an invitation by e-mail."""
    if invitations.wants_invitation(who):
        sent = invitations.invite(
            project=project, email=who, role=role, invited_by=request.user, base_url=invitations.site_url(request)
        )
        return f"Invitation sent to {sent.email}."
    added = services.add_member(project=project, who=who, role=role)
    return f"{added.user.get_username()} joined as {added.get_role_display().lower()}."


def _other_membership(request, project_id: int, membership_id: int) -> Membership:
    get_membership(request.user, project_id, Role.OWNER)
    return get_object_or_404(Membership.objects.select_related("user"), pk=membership_id, project_id=project_id)


@login_required
@require_POST
def member_role(request: HtmxHttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    member = _other_membership(request, project_id, membership_id)
    form = RoleForm(request.POST)
    try:
        if not form.is_valid():
            raise Refused("Choose editor or viewer.")
        services.change_role(membership=member, role=form.cleaned_data["role"])
    except Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member.user.get_username()} is now {member.get_role_display().lower()}.")
    return redirect("project_settings", project_id)


@login_required
@require_POST
def member_remove(request: HtmxHttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    member = _other_membership(request, project_id, membership_id)
    try:
        services.remove_member(membership=member)
    except Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member.user.get_username()} was removed.")
    return redirect("project_settings", project_id)


# --- Tracks -----------------------------------------------------------------------


@login_required
@require_GET
def track_detail(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track, membership = get_track_with_membership(request.user, track_id)
    can_edit = membership.allows(Role.EDITOR)
    context = {
        "track": track,
        "gen": track.generation,
        "project": track.project,
        "can_edit": can_edit,
        "title_form": TrackTitleForm(initial={"title": track.title}),
        "tags_form": TagsForm(initial={"tags": ", ".join(t.name for t in track.tags.all())}),
        "move_form": MoveForm(user=request.user, exclude=track.project_id) if can_edit else None,
        "share_form": ShareLinkForm() if can_edit else None,
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
    track, _ = get_track_with_membership(request.user, track_id, Role.EDITOR)
    form = MoveForm(request.POST, user=request.user, exclude=track.project_id)
    if not form.is_valid():
        raise Http404("No such project")  # not an editor there: the same answer as for any stranger's id
    try:
        services.move_tracks(user=request.user, tracks=[track], to_project=form.cleaned_data["project"])
    except Refused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Moved to “{form.cleaned_data['project'].name}”.")
    return redirect("track_detail", track.pk)


@login_required
@require_POST
def track_delete(request: HtmxHttpRequest, track_id: int) -> HttpResponse:
    track, _ = get_track_with_membership(request.user, track_id, Role.EDITOR)
    project = track.project
    services.delete_tracks(user=request.user, tracks=[track])
    messages.success(request, f"“{track.title}” was deleted.")
    return redirect(project)


# --- Several tracks at once -------------------------------------------------------


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
    # move: the target goes through the same access check as any project id the user sends
    target = get_project_for_user(user, data["project"] or 0, Role.EDITOR)
    count = services.move_tracks(user=user, tracks=tracks, to_project=target)
    return f"{count} track{'s' if count != 1 else ''} moved to “{target.name}”."
