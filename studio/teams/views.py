"""Accounts, projects and members: sign-up, the home page, a project's settings and members.

Every lookup goes through access.py, so anything outside the user's projects (or above their
role) answers 404 and changes nothing."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio.access import get_membership, get_project_for_user
from studio.errors import Refused
from studio.http import HtmxHttpRequest
from studio.library.find import project_overview
from studio.models import Membership, Role
from studio.sharing.services import live_links
from studio.teams import invitations, services
from studio.teams.forms import DeleteProjectForm, MemberForm, ProjectForm, RoleForm


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest) -> HttpResponse:
    if not settings.SIGNUP_OPEN:
        raise Http404("Sign-up is closed")
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@login_required
@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, "studio/home.html", {"projects": project_overview(request.user), "form": ProjectForm()})


@login_required
@require_POST
def project_create(request: HtmxHttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST)
    if not form.is_valid():
        context = {"projects": project_overview(request.user), "form": form}
        return render(request, "studio/home.html", context, status=400)
    project = services.create_project(owner=request.user, **form.cleaned_data)
    messages.success(request, f"Project “{project.name}” created.")
    return redirect(project)


def _settings_page(request, membership: Membership, *, status=200, **forms) -> HttpResponse:
    project = membership.project
    members = project.memberships.select_related("user").order_by("user__username")
    context = {
        "project": project,
        "membership": membership,
        "members": members,
        "invitations": invitations.open_invitations(project).select_related("invited_by").order_by("email"),
        "live_links": live_links(project).order_by("-created_at", "-pk"),
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
    """Everyone is invited, account or not: they join when they accept, and the answer is the
    same either way, so it tells nobody which addresses have accounts."""
    if project.memberships.filter(user__email__iexact=who.strip()).exists():
        raise Refused(f"{who.strip()} is already a member.")  # the members are listed on the page
    sent = invitations.invite(
        project=project, email=who, role=role, invited_by=request.user, base_url=invitations.site_url(request)
    )
    return f"Invitation sent to {sent.email}."


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
        revoked = services.change_role(membership=member, role=form.cleaned_data["role"])
    except Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{member.user.get_username()} is now {member.get_role_display().lower()}.{_links_revoked(revoked)}"
        )
    return redirect("project_settings", project_id)


@login_required
@require_POST
def member_remove(request: HtmxHttpRequest, project_id: int, membership_id: int) -> HttpResponse:
    member = _other_membership(request, project_id, membership_id)
    try:
        revoked = services.remove_member(membership=member)
    except Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{member.user.get_username()} was removed.{_links_revoked(revoked)}")
    return redirect("project_settings", project_id)


def _links_revoked(count: int) -> str:
    return f" {count} share link{'s' if count != 1 else ''} they made no longer work{'s' if count == 1 else ''}." if count else ""
