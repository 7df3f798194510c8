"""Sign-in throttling (django-axes): wrong passwords lock the pair of a username and the address
they came from, so nobody can lock another person out from elsewhere; and one address that
fails too often, across usernames, is locked out as a whole (password spraying)."""

from __future__ import annotations

from axes.handlers.database import AxesDatabaseHandler
from axes.attempts import get_cool_off_threshold
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LockoutHandler(AxesDatabaseHandler):
    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self.address_failures(request) >= settings.LOGIN_ADDRESS_FAILURE_LIMIT

    def address_failures(self, request) -> int:
        """Wrong passwords from this address within the lockout time, whatever the username."""
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return 0
        attempts = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
