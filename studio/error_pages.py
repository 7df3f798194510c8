"""The studio's own error pages (403, 404, 500, a failed CSRF check) in every mode.

With DEBUG on (the embedded mode `make run` starts) Django answers a 404 or an uncaught error
with its technical pages, which list every URL pattern or show the code: `DebugErrorPages`
answers them with the studio's pages instead (the traceback still goes to the log)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template import loader

log = logging.getLogger("django.request")  # where Django logs the errors it answers itself


def _page(request: HttpRequest | None, template: str, status: int, context: dict | None = None) -> HttpResponse:
    body = loader.get_template(template).render(context or {}, request)
    return HttpResponse(body, status=status, content_type="text/html; charset=utf-8")


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _page(request, "404.html", 404)


def forbidden(request: HttpRequest, exception=None) -> HttpResponse:
    return _page(request, "403.html", 403)


def server_error(request: HttpRequest) -> HttpResponse:
    # No request context: whatever failed (the database, a context processor) may fail again.
    return _page(None, "500.html", 500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return _page(request, "403_csrf.html", 403)


class DebugErrorPages:
    """With DEBUG on, the studio's 404 and 500 pages instead of Django's technical ones."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # A path no route matches is answered before any view runs: its technical page has no match.
        if settings.DEBUG and response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            return not_found(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not settings.DEBUG:
            return None  # Django's own handling calls the handlers in urls.py
        if isinstance(exception, Http404):
            return not_found(request, exception)
        if isinstance(exception, PermissionDenied):
            return None  # handler403 answers, DEBUG or not
        log.error("Internal Server Error: %s", request.path, exc_info=exception, extra={"status_code": 500, "request": request})
        return server_error(request)
