"""The watch token: lets a project page's polls skip the session.

A page polls every 1.5 s while a card is pending. Reading the session row and the user row for
each poll cost about a third of a poll that sends changed cards, and most of one that finds
nothing changed. The project page (and any poll answered through the session) sets a
short-lived cookie naming the user, signed with the secret key and dated, and bound both to the
session cookie it was given beside (signing in or out changes that cookie, and the token no
longer counts) and to the account's password (as Django binds a session). A poll carrying a
valid one is answered without reading the session; who may see what is checked on every poll
all the same, in the query that reads the cards' versions: the membership (a removed member is
refused at once), the account being active, and the password unchanged since the token was given.

What the token does not see is a session ended on the server alone (expired, or deleted by an
administrator): it lapses WATCH_TOKEN_SECONDS after it was given. A library change is answered
through the session (sent again as the user searched it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

COOKIE = "studio_watch"
PATH = "/projects/"  # only the project pages' polls read it
_SALT = "studio.jobs.poll_token"


@dataclass(frozen=True)
class Token:
    user_id: int
    account: str  # a digest of the account's password hash when the token was given
    renew: bool  # past half its life: the next poll goes through the session, which renews it

    def vouches_for(self, password_hash: str) -> bool:
        """Whether the account's password is still the one the token was given under."""
        return constant_time_compare(self.account, _account_digest(password_hash))


def _account_digest(password_hash: str) -> str:
    return salted_hmac(_SALT, password_hash, algorithm="sha256").hexdigest()[:20]


def _session_digest(session_key: str) -> str:
    return salted_hmac(_SALT + ".session", session_key or "", algorithm="sha256").hexdigest()[:20]


def read(request) -> Token | None:
    """The request's token, if it is ours and not lapsed."""
    value = request.COOKIES.get(COOKIE)
    if not value:
        return None
    try:
        # A plain signer checks the signature and leaves the date to read (TimestampSigner signs the same way).
        named, stamp = signing.Signer(salt=_SALT).unsign(value).rsplit(":", 1)
        age = time.time() - signing.b62_decode(stamp)
        user_id, account, session = named.split(".")
    except (signing.BadSignature, ValueError):
        return None
    lifetime = settings.WATCH_TOKEN_SECONDS
    if not (-5 <= age <= lifetime and user_id.isascii() and user_id.isdigit()):
        return None
    if not constant_time_compare(session, _session_digest(request.COOKIES.get(settings.SESSION_COOKIE_NAME, ""))):
        return None  # given beside another session: someone signed in or out since
    return Token(int(user_id), account, renew=age > lifetime / 2)


def give(response, request) -> None:
    """Set a fresh token for the request's user (signed in) and session on the response."""
    user = request.user
    named = f"{user.pk}.{_account_digest(user.password)}.{_session_digest(request.session.session_key)}"
    value = signing.TimestampSigner(salt=_SALT).sign(named)
    response.set_cookie(
        COOKIE, value, max_age=settings.WATCH_TOKEN_SECONDS, path=PATH, secure=settings.SESSION_COOKIE_SECURE,
        httponly=True, samesite="Lax",
    )  # fmt: skip
