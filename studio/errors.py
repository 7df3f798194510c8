"""The studio's words for what went wrong, shared by the pipeline (which records them) and the
pages (which explain them), and the one refusal every "may this happen" rule raises."""

from __future__ import annotations

from enum import StrEnum

from providers.base import ProviderError


class ErrorKind(StrEnum):
    # What a provider answered: the adapters' own kinds (providers.base.ErrorKind), same values.
    INVALID = "invalid"  # the request itself was wrong
    AUTH = "auth"  # the API key was refused
    CREDIT = "credit"  # the provider account has no credit left
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    UNREADABLE = "unreadable"
    # What happened to the job.
    FAILED = "failed"  # the provider ran it and reported failure
    DEADLINE = "deadline"  # it never finished
    DOWNLOAD = "download"  # its audio could not be copied
    STORAGE = "storage"  # its audio could not be stored
    INTERRUPTED = "interrupted"  # a worker died while sending it
    INTERNAL = "internal"  # the studio's own step kept failing


def error_kind(exc: ProviderError) -> ErrorKind:
    return ErrorKind(exc.kind.value)


class Refused(Exception):
    """A request the user may make but the studio's rules do not allow now, in plain words for the
    page (any entry point: a view, a bulk action, a set, the admin)."""

    def __init__(self, message: str, *, rule: str = ""):
        super().__init__(message)
        self.message = message
        self.rule = rule  # which rule refused: "role", "archived", "model", "pending", ...
