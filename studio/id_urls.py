"""Links to pages named by an id, built without searching the URL patterns on every call."""

import functools

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# Stands for the id when a route is reversed once for all ids (see id_url).
_ID_STAND_IN = 9_876_543_210


@functools.cache
def _around_id(name: str, urlconf: str, script_prefix: str) -> tuple[str, str]:
    before, found, after = reverse(name, urlconf=urlconf, args=[_ID_STAND_IN]).partition(str(_ID_STAND_IN))
    if not found:
        raise ValueError(f"The route {name!r} does not show its id in its URL")
    return before, after


def id_url(name: str, pk: int) -> str:
    """reverse(name, args=[pk]) for a route whose only argument is an id, without searching the
    URL patterns on every call: a page of the library links each of its tracks several ways."""
    before, after = _around_id(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return f"{before}{pk}{after}"
