"""The watch token: lets a project page's unchanged polls skip the session.

A page polls every 1.5 s while a card is pending; most answers say "nothing changed". Reading the
session row and the user row for each of them cost more than the answer. The project page (and
any poll answered through the session) sets a short-lived cookie holding the user's id, signed
with the secret key and dated. A poll carrying a valid one is answered without the session when
nothing changed: membership (and the account being active) is still checked on every poll, in
the same query that reads the cards' versions, so a removed member is refused at once. Anything
that has changed goes through the session as before, so nothing is ever shown on the token's
word alone. Signing out deletes the cookie; otherwise it lapses after WATCH_TOKEN_SECONDS.
"""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.core import signing

COOKIE = "studio_watch"
PATH = "/projects/"  # only the project pages' polls read it
_SALT = "studio.jobs.poll_token"


def read(request) -> tuple[int | None, bool]:
    """The user id a request's token vouches for (None: no valid token), and whether the token
    is due for renewal (past half its life, or missing)."""
    value = request.COOKIES.get(COOKIE)
    if not value:
        return None, True
    try:
        # A plain signer checks the signature and leaves the date to read (TimestampSigner signs the same way).
        user_id, stamp = signing.Signer(salt=_SALT).unsign(value).rsplit(":", 1)
        age = time.time() - signing.b62_decode(stamp)
    except (signing.BadSignature, ValueError):
        return None, True
    lifetime = settings.WATCH_TOKEN_SECONDS
    if not (-5 <= age <= lifetime and user_id.isascii() and user_id.isdigit()):
        return None, True
    return int(user_id), age > lifetime / 2


def give(response, user) -> None:
    """Set a fresh token for `user` (signed in) on the response."""
    response.set_cookie(
        COOKIE, signing.TimestampSigner(salt=_SALT).sign(str(user.pk)), max_age=settings.WATCH_TOKEN_SECONDS, path=PATH,
        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax",
    )  # fmt: skip


def forgetting(view):
    """`view` (signing out), deleting the token in the same answer: the browser's other tabs stop
    skipping the session at once."""

    @functools.wraps(view)
    def signing_out(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.delete_cookie(COOKIE, path=PATH, samesite="Lax")
        return response

    return signing_out
