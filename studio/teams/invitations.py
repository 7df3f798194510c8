"""Invitations by e-mail: the only way into a project. The owner names an e-mail address; its
holder accepts, signed in with an account of that address or creating one. Nobody joins without
saying yes, and the owner learns nothing of which addresses have accounts.

The link carries a random token; the database keeps only its SHA-256, so a copy of the database
opens nothing. Accepting claims the invitation with a conditional update, so a link works once
however many requests race for it."""

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from studio.errors import Refused
from studio.models import (
    INVITATION_DAYS,
    Invitation,
    Membership,
    Project,
    Role,
    invitation_token_hash,
    new_invitation_token,
)
from studio.teams.services import is_email_address

logger = logging.getLogger(__name__)


class InvitationGone(Exception):
    """Used, revoked or expired between the page and the click."""


def is_for(invitation: Invitation, user) -> bool:
    """Whether the signed-in account may accept: its e-mail address is the invited one. (The
    studio proves an address by the invitation itself: accounts made through one carry it.)"""
    return bool(user.email) and user.email.strip().lower() == invitation.email


def site_url(request) -> str:
    """The origin links in e-mails start with: PUBLIC_BASE_URL when set, else the one the owner used."""
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def open_invitations(project: Project):
    """Neither accepted nor revoked (expired ones included: a resend revives them)."""
    return project.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)


def invite(*, project: Project, email: str, role: str, invited_by, base_url: str) -> Invitation:
    """Invite the address, or refresh its open invitation (new link, fresh expiry), and mail the link."""
    email = email.strip().lower()
    if role not in (Role.EDITOR, Role.VIEWER):
        raise Refused("Choose editor or viewer.")
    if not is_email_address(email):
        raise Refused(f"“{email}” is not a valid e-mail address.")
    try:
        with transaction.atomic():
            invitation = open_invitations(project).select_for_update().filter(email=email).first()
            if invitation is None:
                invitation = Invitation(project=project, email=email)
            invitation.role, invitation.invited_by = role, invited_by
            _renew_and_send(invitation, base_url)
    except IntegrityError:  # the same address invited by two requests at once: the other one won
        raise Refused(f"An invitation to {email} was sent a moment ago.") from None
    return invitation


def resend(*, invitation: Invitation, base_url: str) -> None:
    """A new link and a fresh expiry; the old link stops working."""
    with transaction.atomic():
        _renew_and_send(invitation, base_url)


def revoke(*, invitation: Invitation) -> None:
    open_invitations(invitation.project).filter(pk=invitation.pk).update(revoked_at=timezone.now())


def _renew_and_send(invitation: Invitation, base_url: str) -> None:
    """Inside the caller's transaction: if the mail cannot go, nothing is saved."""
    token = new_invitation_token()
    invitation.token_hash = invitation_token_hash(token)
    invitation.sent_at = timezone.now()
    invitation.expires_at = invitation.sent_at + timedelta(days=INVITATION_DAYS)
    invitation.save()
    try:
        send_mail(_subject(invitation), _body(invitation, accept_url(token, base_url)), None, [invitation.email])
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("invitation mail to %s failed: %s", invitation.email, exc)
        raise Refused(f"The e-mail to {invitation.email} could not be sent: nothing was changed. Try again later.") from exc


def accept_url(token: str, base_url: str) -> str:
    return base_url.rstrip("/") + reverse("invitation", args=[token])


def _inviter(invitation: Invitation) -> str:
    user = invitation.invited_by
    return (user.get_full_name() or user.get_username()) if user else "A member"


def _subject(invitation: Invitation) -> str:
    # One line whatever the project's name holds: a header cannot carry a line break.
    return " ".join(f"{_inviter(invitation)} invited you to “{invitation.project.name}” on Audio Studio".split())


def _body(invitation: Invitation, url: str) -> str:
    role = "an editor (generate and organize audio)" if invitation.role == Role.EDITOR else "a viewer (listen and download)"
    expires = timezone.localtime(invitation.expires_at).strftime("%d %B %Y, %H:%M %Z")
    return (
        f"{_inviter(invitation)} invited you to join the project “{invitation.project.name}” on Audio Studio "
        f"as {role}.\n\n"
        f"Open this link to create your account (or sign in) and join:\n{url}\n\n"
        f"The link works once, until {expires}. If you did not expect this e-mail, ignore it.\n"
    )


# --- Accepting ----------------------------------------------------------------------


def accept(*, invitation: Invitation, user) -> tuple[Membership, bool]:
    """Join the project with the invited role (an existing membership stays as it is).
    Returns the membership and whether it is new; InvitationGone if the link no longer works,
    Refused if the account's address is not the invited one."""
    if not is_for(invitation, user):
        raise Refused(f"This invitation is for {invitation.email}; sign in with the account of that address.")
    now = timezone.now()
    with transaction.atomic():
        claimed = (
            Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
            .update(accepted_at=now, accepted_by=user)
        )
        if not claimed:
            raise InvitationGone
        return Membership.objects.get_or_create(project_id=invitation.project_id, user=user, defaults={"role": invitation.role})


def accept_with_new_account(*, invitation: Invitation, form) -> tuple[object, Membership]:
    """The sign-up form's account, created only if the invitation is still there to accept."""
    with transaction.atomic():
        user = form.save()
        membership, _ = accept(invitation=invitation, user=user)
    return user, membership
