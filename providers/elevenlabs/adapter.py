"""ElevenLabs direct: text to speech and sound effects (spec 001, ElevenLabs half).

Both endpoints are synchronous: the answer to the POST is the audio itself, so there is no
job to poll and nothing calls us back. `generate_audio` streams that body to the caller.
Errors come as `{"detail": {type, code, message, status, request_id, param}}` (older
answers carry only `status` and `message`; request validation answers FastAPI's
`{"detail": [{loc, msg, type}, ...]}`), and the code matters more than the HTTP status:
an exhausted quota was long answered with 401.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from ..base import (
    Adapter,
    AudioBody,
    CostUnit,
    InvalidRequest,
    JobState,
    OutOfCredit,
    ProviderDown,
    ProviderError,
    Submitted,
    failure_kind,
)

# The catalog's provider_model values: which endpoint a generation calls.
SPEECH = "text-to-speech"
SOUND_EFFECTS = "sound-generation"

# Flat catalog params that travel in the query string rather than the JSON body.
QUERY_PARAMS = {
    SPEECH: ("output_format", "enable_logging", "optimize_streaming_latency"),
    SOUND_EFFECTS: ("output_format",),
}
# Flat catalog params that the speech endpoint nests under `voice_settings`.
VOICE_SETTINGS = ("stability", "similarity_boost", "style", "use_speaker_boost", "speed")

DEFAULT_OUTPUT_FORMAT = "mp3_44100_128"  # what the API sends when output_format is left out
RAW_CODECS = ("pcm", "ulaw", "alaw")  # headerless: the studio wraps them in WAV
# For answers labelled only application/octet-stream (the studio sniffs the bytes anyway).
CONTENT_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "pcm": "audio/pcm",
    "ulaw": "audio/basic",
    "alaw": "audio/x-alaw-basic",
}
_OUTPUT_FORMAT = re.compile(r"^(?P<codec>[a-z0-9]+)_(?P<rate>\d+)(?:_\d+)?$")

# Codes (the `code`, or the legacy `status`) that mean the account has run out of credits,
# whatever HTTP status carried them.
QUOTA_CODES = frozenset({"quota_exceeded", "insufficient_credits", "payment_required"})
# A 402 the user fixes by choosing another voice, not by topping up.
PAID_PLAN_CODES = frozenset({"paid_plan_required"})

STREAM_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Voice:
    voice_id: str
    name: str
    category: str = ""  # premade, cloned, generated, professional, ...


@dataclass(frozen=True)
class ErrorDetail:
    """The `detail` of an error answer, in either of its shapes."""

    message: str
    code: str = ""
    type: str = ""
    param: str = ""
    request_id: str = ""

    @classmethod
    def parse(cls, response: httpx.Response) -> ErrorDetail | None:
        try:
            body = response.json()
        except ValueError:
            return None
        detail = body.get("detail") if isinstance(body, dict) else None
        if isinstance(detail, dict):
            return cls(
                message=_text(detail.get("message")),
                code=_text(detail.get("code")) or _text(detail.get("status")),
                type=_text(detail.get("type")),
                param=_text(detail.get("param")),
                request_id=_text(detail.get("request_id")),
            )
        if isinstance(detail, list):  # request validation: one entry per bad field
            problems = [_validation_problem(item) for item in detail if isinstance(item, dict)]
            return cls(message="; ".join(p for p in problems if p), type="validation_error")
        if isinstance(detail, str) and detail:
            return cls(message=detail)
        return None


@dataclass(frozen=True)
class Call:
    """One wire request, built from the flat catalog params."""

    path: str
    query: dict[str, Any]
    body: dict[str, Any]
    output_format: str


class ElevenLabs(Adapter):
    label = "ElevenLabs"
    synchronous = True
    cost_unit = CostUnit.CHARACTERS  # the `character-cost` header: characters of text billed
    timeout = 300.0  # the whole audio arrives in the answer; long texts take minutes

    def auth_headers(self) -> dict[str, str]:
        return {"xi-api-key": self.api_key}

    def submit(
        self, model: str, params: Mapping[str, Any], *, callback_url: str | None = None, client_ref: str = ""
    ) -> Submitted:
        raise NotImplementedError("ElevenLabs answers with the audio itself: use generate_audio")

    def status(self, external_id: str) -> JobState:
        raise NotImplementedError("ElevenLabs has no jobs to poll")

    @contextmanager
    def generate_audio(self, model: str, params: Mapping[str, Any]) -> Iterator[AudioBody]:
        call = self.build_call(model, params)
        with self._stream(call) as response:
            codec, rate = _codec_and_rate(call.output_format)
            declared = response.headers.get("Content-Type", "").split(";")[0].strip()
            yield AudioBody(
                content_type=declared if declared.startswith("audio/") else CONTENT_TYPES.get(codec, ""),
                chunks=self._chunks(response),
                external_id=response.headers.get("request-id") or response.headers.get("history-item-id") or "",
                cost=self.reported_cost(response.headers.get("character-cost")),
                raw_format=(codec, rate) if codec in RAW_CODECS else None,
            )

    def list_voices(self) -> list[Voice]:
        """The voices this account may use (premade, cloned, from the library)."""
        body = self.json(self.request("GET", "/v1/voices"))
        entries = body.get("voices") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise self.unreadable("the voices answer has no voices list")
        voices = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            voice_id, name = _text(entry.get("voice_id")), _text(entry.get("name"))
            if voice_id:  # a voice without an id cannot be asked for
                voices.append(Voice(voice_id=voice_id, name=name or voice_id, category=_text(entry.get("category"))))
        return voices

    def build_call(self, model: str, params: Mapping[str, Any]) -> Call:
        if model not in QUERY_PARAMS:
            raise InvalidRequest(f"unknown ElevenLabs endpoint {model!r}", provider=self.label)
        params = {name: value for name, value in params.items() if value is not None}
        query = {name: params.pop(name) for name in QUERY_PARAMS[model] if name in params}
        output_format = str(query.get("output_format") or DEFAULT_OUTPUT_FORMAT)
        if model == SOUND_EFFECTS:
            return Call(f"/v1/{SOUND_EFFECTS}", query, params, output_format)
        voice_id = str(params.pop("voice_id", "") or "")
        if not voice_id:
            raise InvalidRequest("a voice is required", provider=self.label)
        voice_settings = {name: params.pop(name) for name in VOICE_SETTINGS if name in params}
        if voice_settings:
            params["voice_settings"] = voice_settings
        return Call(f"/v1/{SPEECH}/{quote(voice_id, safe='')}", query, params, output_format)

    # --- errors ---

    def error_message(self, response: httpx.Response) -> str:
        detail = ErrorDetail.parse(response)
        if detail and detail.message:
            return detail.message
        return super().error_message(response)

    def error_for(self, response: httpx.Response) -> ProviderError:
        detail = ErrorDetail.parse(response)
        code = detail.code if detail else ""
        kwargs = {"provider": self.label, "status_code": response.status_code}
        if code in QUOTA_CODES:
            return OutOfCredit(self.error_message(response), **kwargs)
        if code in PAID_PLAN_CODES:
            return InvalidRequest(self.error_message(response), **kwargs)
        # The rest maps by status; 429 (rate_limit_exceeded and concurrent_limit_exceeded alike)
        # becomes RateLimited, so the studio waits and tries again.
        return super().error_for(response)

    # --- streaming ---

    @contextmanager
    def _stream(self, call: Call) -> Iterator[httpx.Response]:
        request = self.client.build_request("POST", call.path, params=call.query, json=call.body)
        try:
            response = self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self.transport_failure(exc) from exc
        try:
            if not response.is_success:
                try:
                    response.read()  # the error document, to say what went wrong
                except httpx.HTTPError as exc:
                    # Its words were lost on the way; the status (and any Retry-After) still tell.
                    retry_after = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
                    raise self.error_for(httpx.Response(response.status_code, headers=retry_after)) from exc
                raise self.error_for(response)
            yield response
        finally:
            response.close()

    def _chunks(self, response: httpx.Response) -> Iterator[bytes]:
        try:
            yield from response.iter_bytes(STREAM_CHUNK)
        except httpx.HTTPError as exc:
            # The audio had started: ElevenLabs accepted (and charged) the request.
            raise ProviderDown(
                f"the audio stopped arriving ({type(exc).__name__})",
                provider=self.label,
                kind=failure_kind(exc),
                maybe_accepted=True,
            ) from exc


def _codec_and_rate(output_format: str) -> tuple[str, int]:
    match = _OUTPUT_FORMAT.match(output_format)
    if not match:
        return "", 0
    return match["codec"], int(match["rate"])


def _validation_problem(item: dict) -> str:
    location = [str(part) for part in item.get("loc") or () if part not in ("body", "query", "path")]
    message = _text(item.get("msg"))
    return f"{'.'.join(location)}: {message}" if location and message else message


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
