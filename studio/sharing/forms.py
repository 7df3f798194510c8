"""The form that makes a share link."""

from datetime import timedelta

from django import forms
from django.utils import timezone

EXPIRY_CHOICES = [("", "Never"), ("1", "In 1 day"), ("7", "In 7 days"), ("30", "In 30 days")]


class ShareLinkForm(forms.Form):
    expires_in = forms.TypedChoiceField(
        label="Expires", choices=EXPIRY_CHOICES, required=False, coerce=int, empty_value=None
    )
    allow_download = forms.BooleanField(
        label="Downloads allowed",
        required=False,
        help_text="Off: a listen-only page with no download button or ZIP. Whatever plays in a browser "
        "can still be recorded by a determined listener, so share only what you would let them keep.",
    )

    def expires_at(self):
        days = self.cleaned_data.get("expires_in")
        return timezone.now() + timedelta(days=days) if days else None
