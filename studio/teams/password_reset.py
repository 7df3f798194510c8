"""Password reset requests, limited: a few per account and per address each hour.

A reset mail is a message the studio sends to someone on a stranger's request: unlimited, it
floods a mailbox (and the mail server's reputation). Over the account's limit the page still
says "sent" and sends nothing, so the limit tells nobody whether the address has an account;
over the address's limit the page says to wait."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.utils import timezone

from studio.models import PasswordResetRequest
from studio.teams.client_address import client_address

WINDOW = timedelta(hours=1)


def _recent():
    return PasswordResetRequest.objects.filter(requested_at__gt=timezone.now() - WINDOW)


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        address = client_address(self.request) or None
        PasswordResetRequest.objects.filter(requested_at__lte=timezone.now() - WINDOW).delete()
        if address and _recent().filter(client_address=address).count() >= settings.PASSWORD_RESETS_PER_ADDRESS:
            form.add_error(None, "Too many reset requests from your address: try again in an hour.")
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        too_many_for_account = _recent().filter(email=email).count() >= settings.PASSWORD_RESETS_PER_ACCOUNT
        PasswordResetRequest.objects.create(email=email, client_address=address)
        if too_many_for_account:
            return super(auth_views.PasswordResetView, self).form_valid(form)  # the "sent" page, nothing sent
        return super().form_valid(form)


password_reset = ThrottledPasswordResetView.as_view()
