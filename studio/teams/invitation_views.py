"""Invitations: the owner resends and revokes them from the project's settings; whoever holds a
live link joins, signed in or with a new account. A dead or unknown link is a plain 404."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from studio.access import get_live_invitation, get_membership
from studio.errors import Refused
from studio.http import HtmxHttpRequest
from studio.models import Invitation, Membership, Role
from studio.teams import invitations
from studio.teams.forms import InvitationSignupForm

# --- Managed by the owner ---------------------------------------------------------


def _open_invitation(request, project_id: int, invitation_id: int) -> Invitation:
    membership = get_membership(request.user, project_id, Role.OWNER)
    return get_object_or_404(invitations.open_invitations(membership.project).select_related("invited_by"), pk=invitation_id)


@login_required
@require_POST
def invitation_resend(request: HtmxHttpRequest, project_id: int, invitation_id: int) -> HttpResponse:
    invitation = _open_invitation(request, project_id, invitation_id)
    try:
        invitations.resend(invitation=invitation, base_url=invitations.site_url(request))
    except Refused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Invitation sent again to {invitation.email}; the previous link no longer works.")
    return redirect("project_settings", project_id)


@login_required
@require_POST
def invitation_revoke(request: HtmxHttpRequest, project_id: int, invitation_id: int) -> HttpResponse:
    invitation = _open_invitation(request, project_id, invitation_id)
    invitations.revoke(invitation=invitation)
    messages.success(request, f"The invitation to {invitation.email} was revoked: its link no longer works.")
    return redirect("project_settings", project_id)


# --- Opened by the invitee --------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """What the invitation is; POST joins (signed in) or creates the account and joins (signed out).
    The invitation is the permission: signing up here does not need SIGNUP_OPEN."""
    invitation = get_live_invitation(token)
    form = None
    status = 200
    if request.user.is_authenticated:
        if request.method == "POST":
            if invitations.is_for(invitation, request.user):
                return _accept(request, invitation)
            status = 403  # another address's invitation: the page says whose
    else:
        form = InvitationSignupForm(request.POST or None, invitation=invitation)
        if request.method == "POST" and form.is_valid():
            return _accept_with_new_account(request, invitation, form)
    context = {
        "invitation": invitation,
        "form": form,
        "already_member": request.user.is_authenticated
        and invitation.project.memberships.filter(user=request.user).exists(),
        "for_this_account": request.user.is_authenticated and invitations.is_for(invitation, request.user),
    }
    response = render(request, "studio/invitation.html", context, status=400 if form and form.errors else status)
    response["X-Robots-Tag"] = "noindex"
    # The token never leaves in a Referer header to another site. Not "no-referrer": browsers
    # would then send "Origin: null" with this page's own forms, and the CSRF check refuses those.
    response["Referrer-Policy"] = "same-origin"
    return response


def _accept(request, invitation: Invitation) -> HttpResponse:
    try:
        membership, joined = invitations.accept(invitation=invitation, user=request.user)
    except invitations.InvitationGone:
        raise Http404("No such invitation") from None
    except Refused as exc:  # the account's address changed since the page was shown
        messages.error(request, str(exc))
        return redirect("home")
    return _welcome(request, membership, joined)


def _accept_with_new_account(request, invitation: Invitation, form) -> HttpResponse:
    try:
        user, membership = invitations.accept_with_new_account(invitation=invitation, form=form)
    except invitations.InvitationGone:
        raise Http404("No such invitation") from None  # and no account was created
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return _welcome(request, membership, True)


def _welcome(request, membership: Membership, joined: bool) -> HttpResponse:
    project = membership.project
    if joined:
        messages.success(request, f"You joined “{project.name}” as {membership.get_role_display().lower()}.")
    else:
        messages.info(request, f"You were already a member of “{project.name}”: your role stays {membership.get_role_display().lower()}.")
    return redirect(project)
