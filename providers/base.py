"""The seam between the studio and the hosted audio APIs.

An adapter turns the studio's request into one provider's wire format and the provider's
answers back into the studio's terms: `Submitted`, `JobState` and a handful of errors that
say whether retrying can help. Adapters never sleep and never retry; the caller decides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import httpx


class State(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Media:
    """One finished file at the provider (a job may yield several)."""

    url: str
    content_type: str = ""
    title: str = ""
    duration: float | None = None


class CostUnit(StrEnum):
    """What a provider reports a job's cost in."""

    USD = "usd"
    CREDITS = "credits"  # the provider's own credits: each provider sets its own price for them
    CHARACTERS = "characters"  # characters of text billed (ElevenLabs)


@dataclass(frozen=True)
class Cost:
    """What a job cost, as the provider reported it: an amount in the provider's unit."""

    amount: Decimal
    unit: CostUnit


@dataclass(frozen=True)
class JobState:
    state: State
    external_id: str = ""
    media: tuple[Media, ...] = ()
    error: str = ""
    cost: Cost | None = None
    progress: int | None = None
    raw: Any = field(default=None, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.state in (State.SUCCEEDED, State.FAILED)


@dataclass(frozen=True)
class Submitted:
    external_id: str
    state: JobState | None = None  # when the submit answer already tells more than "accepted"


@dataclass(frozen=True)
class AudioBody:
    """A synchronous API's answer: the audio itself, to be streamed into storage."""

    content_type: str
    chunks: Iterator[bytes]
    external_id: str = ""
    cost: Cost | None = None
    # Headerless audio ("pcm" | "ulaw" | "alaw", sample rate): the studio wraps it in WAV.
    raw_format: tuple[str, int] | None = None


# --- Errors -------------------------------------------------------------------------


class ErrorKind(StrEnum):
    """What went wrong, in the terms the pipeline and the job cards act on."""

    INVALID = "invalid"  # 400/404/409/413/422: the request itself is wrong
    AUTH = "auth"  # 401/403: the key is wrong or lacks access
    CREDIT = "credit"  # 402 or a provider's "out of credit" code
    RATE_LIMITED = "rate_limited"  # 429
    UNAVAILABLE = "unavailable"  # 5xx, connection refused/reset
    TIMEOUT = "timeout"  # no answer in time
    UNREADABLE = "unreadable"  # an answer (often 2xx) we cannot read


class ProviderError(Exception):
    """Something the provider said or failed to say.

    `kind` says what, `retryable` whether trying again can help, `user_message` says it in
    plain words; `message` keeps the provider's own words for the technical view.
    """

    kind: ErrorKind  # each subclass names its own
    retryable = False

    def __init__(self, message: str, *, provider: str = "the provider", status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code

    @property
    def user_message(self) -> str:
        return f"{self.provider} error: {self.message}"


class InvalidRequest(ProviderError):
    """400/404/409/413/422: the request itself is wrong; the user can fix it."""

    kind = ErrorKind.INVALID

    @property
    def user_message(self) -> str:
        return f"{self.provider} rejected the request: {self.message}"


class AuthFailed(ProviderError):
    """401/403: the configured key is wrong or lacks access."""

    kind = ErrorKind.AUTH

    @property
    def user_message(self) -> str:
        if self.status_code == 403:
            return f"{self.provider} refused access with this API key ({self.message})"
        return f"{self.provider} rejected the API key"


class OutOfCredit(ProviderError):
    """402, or a provider's own "out of credit" code: the account has no balance left."""

    kind = ErrorKind.CREDIT

    @property
    def user_message(self) -> str:
        return f"Insufficient balance at {self.provider}"


class RateLimited(ProviderError):
    """429: slow down; `retry_after` is the provider's hint in seconds, when it gave one."""

    kind = ErrorKind.RATE_LIMITED
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    @property
    def user_message(self) -> str:
        return f"{self.provider} is limiting requests; retrying"


class ProviderDown(ProviderError):
    """No usable answer: a 5xx or a lost connection (UNAVAILABLE), no answer in time (TIMEOUT),
    or an answer we cannot read (UNREADABLE). Trying again later may help.

    `maybe_accepted` is set when the provider may have taken the request: it went out before
    the failure (a read timeout, a connection dropped after sending), or a submit was answered
    2xx in a form we cannot read. Resubmitting blindly could pay twice. It is never set when
    the request was refused before it was sent (connection refused, connect or pool timeout).
    """

    retryable = True

    def __init__(
        self, message: str, *, kind: ErrorKind = ErrorKind.UNAVAILABLE, maybe_accepted: bool = False, **kwargs
    ):
        super().__init__(message, **kwargs)
        self.kind = kind
        self.maybe_accepted = maybe_accepted

    @property
    def user_message(self) -> str:
        if self.kind is ErrorKind.TIMEOUT:
            return f"{self.provider} did not answer in time"
        if self.kind is ErrorKind.UNREADABLE:
            return f"{self.provider} answered with something unreadable"
        if self.status_code:
            return f"{self.provider} is unavailable (HTTP {self.status_code})"
        return f"{self.provider} is unavailable"


class CallbackRejected(ProviderError):
    """A callback we refuse, so it changes nothing: unsigned or wrongly signed (AUTH),
    unreadable (UNREADABLE), or sent where no callbacks are expected (INVALID)."""

    def __init__(self, message: str, *, kind: ErrorKind = ErrorKind.UNREADABLE, **kwargs):
        super().__init__(message, **kwargs)
        self.kind = kind


# Failures before the request is on the wire: the provider cannot have taken it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def failure_kind(exc: httpx.HTTPError) -> ErrorKind:
    """The kind of a request that got no whole answer."""
    if isinstance(exc, httpx.TimeoutException):
        return ErrorKind.TIMEOUT
    if isinstance(exc, httpx.DecodingError):  # the answer arrived, but its declared encoding would not decode
        return ErrorKind.UNREADABLE
    return ErrorKind.UNAVAILABLE


# --- The adapter base -----------------------------------------------------------------


def make_client(*, base_url: str, headers: Mapping[str, str], timeout: float = 30.0) -> httpx.Client:
    """The one place provider HTTP clients are built: explicit timeouts, no redirects."""
    return httpx.Client(
        base_url=base_url,
        headers=dict(headers),
        timeout=httpx.Timeout(timeout, connect=5.0),
        follow_redirects=False,
    )


class Adapter:
    """One hosted API. Subclasses say only what is peculiar to their provider."""

    # What the API is; providers/registry.py reads these, so each is said here only.
    label: str = ""  # shown to users, e.g. "Pixazo"
    synchronous = False  # True when the answer is the audio itself (generate_audio, no submit/status)
    accepts_callbacks = False  # True when the API can call us back
    signs_callbacks = False  # True when callbacks carry a signature we check: trusted as they stand
    client_names_job = False  # True when submit uses `client_ref` as the job's id: resubmitting is safe
    cost_unit: CostUnit | None = None  # what its answers report a job's cost in; None: they report none
    timeout = 30.0

    def __init__(self, *, api_key: str, base_url: str):
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.client = make_client(base_url=self.base_url, headers=self.auth_headers(), timeout=self.timeout)

    # What each provider fills in.
    def auth_headers(self) -> dict[str, str]:
        raise NotImplementedError

    def submit(
        self, model: str, params: Mapping[str, Any], *, callback_url: str | None = None, client_ref: str = ""
    ) -> Submitted:
        """Start a job. `client_ref` is a stable UUID per generation: APIs that let the client
        name its task (Runware's taskUUID) use it, so a repeated submit is the same task."""
        raise NotImplementedError

    def status(self, external_id: str) -> JobState:
        raise NotImplementedError

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> JobState:
        raise CallbackRejected("this provider does not send callbacks", provider=self.label, kind=ErrorKind.INVALID)

    @contextmanager
    def generate_audio(self, model: str, params: Mapping[str, Any]) -> Iterator[AudioBody]:
        """Synchronous APIs only: yield the audio body as it streams in (the caller stores it)."""
        raise NotImplementedError

    def state_for(self, status: str, states: Mapping[str, State]) -> State:
        """The studio's state for the provider's status word; one we do not know is an answer
        we cannot read (retried as ProviderDown, never taken as a finish)."""
        state = states.get(status)
        if state is None:
            raise self.unreadable(f"unknown status {status or 'missing'!r}")
        return state

    def reported_cost(self, value: Any) -> Cost | None:
        """The cost an answer reports, in this API's unit; None when it reports none, or a figure
        that is not a finite amount of at least zero."""
        amount = to_decimal(value)
        if amount is None or self.cost_unit is None or not amount.is_finite() or amount < 0:
            return None
        return Cost(amount, self.cost_unit)

    def error_message(self, response: httpx.Response) -> str:
        """The provider's own words for an error answer."""
        body = _json_or_none(response)
        if isinstance(body, dict):
            for key in ("message", "error", "detail"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    return value
        return response.reason_phrase or f"HTTP {response.status_code}"

    # Shared plumbing.
    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        """Send one request; answer the response when it is 2xx, raise a ProviderError otherwise."""
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise self.transport_failure(exc) from exc
        if response.is_success:
            return response
        raise self.error_for(response)

    def transport_failure(self, exc: httpx.HTTPError) -> ProviderDown:
        """A request that got no whole answer. Unless it failed before it was sent, the
        provider may have taken it."""
        sent = not isinstance(exc, NOT_SENT)
        kind = failure_kind(exc)
        if kind is ErrorKind.TIMEOUT:
            message = "no answer in time"
        elif isinstance(exc, httpx.ConnectError):
            message = f"could not connect ({exc})"
        else:
            message = f"connection failed ({type(exc).__name__}: {exc})"
        return ProviderDown(message, provider=self.label, kind=kind, maybe_accepted=sent)

    def error_for(self, response: httpx.Response) -> ProviderError:
        code = response.status_code
        message = self.error_message(response)
        kwargs = {"provider": self.label, "status_code": code}
        if code in (400, 404, 409, 413, 422):
            return InvalidRequest(message, **kwargs)
        if code in (401, 403):
            return AuthFailed(message, **kwargs)
        if code == 402:
            return OutOfCredit(message, **kwargs)
        if code == 429:
            return RateLimited(message, retry_after=parse_retry_after(response), **kwargs)
        return ProviderDown(f"HTTP {code}: {message}", **kwargs)

    def json(self, response: httpx.Response, *, accepted: bool = False) -> Any:
        """The answer's JSON. `accepted`: the request was a submit the provider said yes to,
        so an unreadable answer must not lead to a blind resubmit."""
        body = _json_or_none(response)
        if body is None:
            raise self.unreadable("the answer is not JSON", status_code=response.status_code, maybe_accepted=accepted)
        return body

    def unreadable(self, message: str, *, status_code: int | None = None, maybe_accepted: bool = False) -> ProviderDown:
        """An answer, often a 2xx, that we cannot read. `maybe_accepted` for a submit's answer:
        the provider may have taken the job even though we cannot tell its id."""
        return ProviderDown(
            message, provider=self.label, status_code=status_code, kind=ErrorKind.UNREADABLE, maybe_accepted=maybe_accepted
        )

    def close(self) -> None:
        self.client.close()


def parse_retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # HTTP-date form or absent: the caller backs off on its own


def parse_json_bytes(body: bytes, *, provider: str) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CallbackRejected("the callback body is not JSON", provider=provider) from exc


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
