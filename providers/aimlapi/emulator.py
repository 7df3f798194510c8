"""AI/ML API (specs/001 Stable Audio, specs/002 Eleven Music): one async endpoint for both models.

Mounted at /aimlapi, so a studio with AIMLAPI_BASE_URL=http://127.0.0.1:PORT/aimlapi calls the spec's paths:
`POST /v2/generate/audio` answers a generation id, `GET /v2/generate/audio?generation_id=…` its status.
Errors carry the gateway's `{message, path, requestId, statusCode, timestamp}` body; validation
messages read like the gateway's ("Body validation error! …, received …"). No webhooks: the API has none.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable

from providers.emulator.audio import AudioSpec
from providers.emulator.jobs import Job, Phase, job_timings
from providers.emulator.markers import Markers, UnknownMarker, read_markers
from providers.emulator.wsgi import BadJSON, Request, Response, json_response

if TYPE_CHECKING:
    from providers.emulator.app import Emulator

GENERATE_PATH = "/v2/generate/audio"
MEDIA_PATH = re.compile(r"^/media/(?P<generation_id>[^/]+)/(?P<file_name>[^/]+)$")
FORBIDDEN_KEY = "forbidden"  # a key the emulator always answers 403 for

# The gateway's own words (docs: "Errors with status code 4xx/5xx").
UNAUTHORIZED = (
    "This request requires a valid API key. You can create a new API key on the Billing page: "
    "https://aimlapi.com/app/keys"
)
OUT_OF_CREDITS = (
    "You've run out of credits. Please top up your balance or update your payment method to continue: "
    "https://aimlapi.com/app/billing/"
)
FORBIDDEN = "Forbidden resource"
TOO_MANY_REQUESTS = "Too Many Requests"
SERVER_ERROR = "Something wrong with the server. Please, try again later."
FAILURES = {
    "failed": {"name": "GenerationError", "message": "The model could not generate audio for this prompt"},
    "error": {"name": "InternalError", "message": "The generation worker stopped unexpectedly"},
}

STATUS_BY_PHASE = {Phase.QUEUED: "queued", Phase.PROCESSING: "generating"}


class Invalid(ValueError):
    """A body the gateway would refuse with 400; the message reads like its validation errors."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f'Body validation error! {problem} at "{field}"')


# --- request validation (the gateway validates with zod: its messages, its order) ---------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _prompt(body: dict, max_length: int | None = None) -> str:
    value = body.get("prompt")
    if value is None:
        raise Invalid("prompt", "Required")
    if not isinstance(value, str):
        raise Invalid("prompt", f"Expected string, received {_type_name(value)}")
    if not value.strip():
        raise Invalid("prompt", "String must contain at least 1 character(s)")
    if max_length is not None and len(value) > max_length:
        raise Invalid("prompt", f"String must contain at most {max_length} character(s)")
    return value


def _optional_integer(body: dict, name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(name, f"Expected number, received {_type_name(value)}")
    if value != int(value):
        raise Invalid(name, "Expected integer, received float")
    if value < low:
        raise Invalid(name, f"Number must be greater than or equal to {low}")
    if value > high:
        raise Invalid(name, f"Number must be less than or equal to {high}")
    return int(value)


def validate_stable_audio(body: dict) -> dict:
    params = {"prompt": _prompt(body)}
    for name, low, high in (("seconds_start", 1, 47), ("seconds_total", 1, 47), ("steps", 1, 1000)):
        value = _optional_integer(body, name, low, high)
        if value is not None:
            params[name] = value
    return params


def validate_eleven_music(body: dict) -> dict:
    params = {"prompt": _prompt(body, max_length=2000)}
    length = _optional_integer(body, "music_length_ms", 10000, 300000)
    if length is not None:
        params["music_length_ms"] = length
    return params


# --- what each model renders ---------------------------------------------------------


def stable_audio(params: dict, settings: dict) -> AudioSpec:
    # The real clip is seconds_total long (default 30); the emulator caps it at music_seconds to stay quick.
    seconds = min(params.get("seconds_total", 30), settings["music_seconds"])
    return AudioSpec(_seed(params), seconds, "wav", 44100, None, channels=2, style="music")


def eleven_music(params: dict, settings: dict) -> AudioSpec:
    seconds = min(params.get("music_length_ms", 10000) / 1000, settings["music_seconds"])
    return AudioSpec(_seed(params), seconds, "mp3", 44100, 128, channels=2, style="music")


def _seed(params: dict) -> str:
    return "\n".join(f"{key}={params[key]}" for key in sorted(params))


@dataclass(frozen=True)
class Model:
    model_id: str
    validate: Callable[[dict], dict]
    audio_for: Callable[[dict, dict], AudioSpec]
    # How the gateway names things for this model, as its examples show.
    id_suffix: str  # Stable Audio ids end in ":stable-audio"; Eleven Music ids are bare UUIDs
    declared_type: str  # the content_type of `audio_file` (Stable Audio says octet-stream for WAV)
    credits: Callable[[dict], int]  # meta.usage.credits_used

    def file_name(self, job: Job) -> str:
        extension = job.audio.codec
        if self.id_suffix:
            return f"tmp{hashlib.sha256(job.request_id.encode()).hexdigest()[:8]}.{extension}"
        return f"{int(job.created_wall * 1000)}-{job.request_id}.{extension}"


MODELS = {
    model.model_id: model
    for model in (
        Model(
            "stable-audio",
            validate_stable_audio,
            stable_audio,
            id_suffix=":stable-audio",
            declared_type="application/octet-stream",
            credits=lambda params: 252 * params.get("steps", 100),  # "252 AI/ML Tokens per step"
        ),
        Model(
            "elevenlabs/eleven_music",
            validate_eleven_music,
            eleven_music,
            id_suffix="",
            declared_type="audio/mpeg",
            # Illustrative: the docs' example reports 120000 for a 20-second track.
            credits=lambda params: 6 * params.get("music_length_ms", 10000),
        ),
    )
}


# --- answers -----------------------------------------------------------------------------


def api_error(status: int, message: str, path: str, headers: list[tuple[str, str]] | None = None) -> Response:
    now = datetime.now(timezone.utc)
    body = {
        "message": message,
        "path": path,
        "requestId": str(uuid.uuid4()),
        "statusCode": status,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
    }
    return json_response(status, body, headers)


def forced_error(status: int) -> Response:
    if status == 400:
        return api_error(400, str(Invalid("prompt", "Invalid input")), GENERATE_PATH)
    if status == 401:
        return api_error(401, UNAUTHORIZED, GENERATE_PATH)
    if status == 402:  # the gateway has no 402: an empty balance is a 403 with these words
        return api_error(403, OUT_OF_CREDITS, GENERATE_PATH)
    if status == 403:
        return api_error(403, FORBIDDEN, GENERATE_PATH)
    if status == 429:
        return api_error(429, TOO_MANY_REQUESTS, GENERATE_PATH)
    return api_error(500, SERVER_ERROR, GENERATE_PATH)


class AimlApiAPI:
    def __init__(self, emulator: Emulator, name: str) -> None:
        self.emulator = emulator
        self.name = name  # its key in providers/registry.py: where it is mounted, whose jobs are its own

    def handle(self, request: Request) -> Response:
        if request.path == GENERATE_PATH and request.method == "POST":
            return self.submit(request)
        if request.path == GENERATE_PATH and request.method == "GET":
            return self.status(request)
        if request.method in ("GET", "HEAD") and (match := MEDIA_PATH.match(request.path)):
            return self.media(request, match["generation_id"], match["file_name"])
        return api_error(404, f"Cannot {request.method} {request.path}", request.path)

    def submit(self, request: Request) -> Response:
        if refusal := self._check_key(request):
            return self._rejected(refusal)
        try:
            body = request.json()
        except BadJSON as exc:
            return self._rejected(api_error(400, f"Invalid JSON body: {exc}", GENERATE_PATH))
        if not isinstance(body, dict):
            problem = f"Expected object, received {_type_name(body)}"
            return self._rejected(api_error(400, f"Body validation error! {problem}", GENERATE_PATH))
        try:
            markers = read_markers(body.get("prompt"))
        except UnknownMarker as exc:
            return self._rejected(api_error(400, str(exc), GENERATE_PATH))
        if markers.status_code:
            return self._rejected(forced_error(markers.status_code))
        try:
            model = self._model(body.get("model"))
            params = model.validate(body)
        except Invalid as exc:
            return self._rejected(api_error(400, str(exc), GENERATE_PATH))

        settings = self.emulator.settings()
        job = self._new_job(request, model, params, markers, settings)
        self.emulator.add_job(job)
        if settings["aimlapi_legacy_submit_answer"]:
            return json_response(201, {"generation_id": job.request_id})
        return json_response(201, {"id": job.request_id, "status": "queued"})

    def status(self, request: Request) -> Response:
        if refusal := self._check_key(request):
            return refusal
        generation_id = request.query.get("generation_id", "")
        if not generation_id:
            return api_error(400, 'Query validation error! Required at "generation_id"', GENERATE_PATH)
        job = self.emulator.find_job(self.name, generation_id)
        if job is None:
            return api_error(404, f"Generation '{generation_id}' not found", GENERATE_PATH)
        self.emulator.counters.count("status_calls", generation_id)
        return json_response(200, self.status_document(job, request.mount_url))

    def media(self, request: Request, generation_id: str, file_name: str) -> Response:
        job = self.emulator.find_job(self.name, generation_id)
        # Like the CDN: the file exists only once the job completed, and needs no key.
        if job is None or job.outcome != "completed" or job.phase() is not Phase.DONE:
            return api_error(404, "Not Found", request.path)
        model = MODELS[job.model_id]
        if file_name != model.file_name(job):
            return api_error(404, "Not Found", request.path)
        audio = job.media()
        if request.method == "GET":
            self.emulator.counters.count("media_fetches", generation_id)
        return Response(200, audio.data, model.declared_type, [("ETag", f'"{job.media_sha256()}"')])

    def status_document(self, job: Job, mount_url: str) -> dict:
        phase = job.phase()
        if phase is not Phase.DONE:
            return {"id": job.request_id, "status": STATUS_BY_PHASE[phase], "error": None, "audio_file": None}
        if job.outcome != "completed":
            return {"id": job.request_id, "status": "error", "error": FAILURES[job.outcome], "audio_file": None}
        model = MODELS[job.model_id]
        file_name = model.file_name(job)
        return {
            "id": job.request_id,
            "status": "completed",
            "error": None,
            "audio_file": {
                "url": f"{mount_url}/media/{job.request_id}/{file_name}",
                "content_type": model.declared_type,
                "file_name": file_name,
                "file_size": len(job.media().data),
            },
            "meta": {"usage": {"credits_used": model.credits(job.params)}},
        }

    # --- helpers ---

    def _model(self, model_id: Any) -> Model:
        if model_id is None:
            raise Invalid("model", "Required")
        if model_id not in MODELS:
            expected = " | ".join(f"'{m}'" for m in MODELS)
            raise Invalid("model", f"Invalid enum value. Expected {expected}, received '{model_id}'")
        return MODELS[model_id]

    def _check_key(self, request: Request) -> Response | None:
        scheme, _, key = (request.header("Authorization") or "").strip().partition(" ")
        key = key.strip() if scheme.lower() == "bearer" else ""
        if not key:
            return api_error(401, UNAUTHORIZED, request.path)
        if key == FORBIDDEN_KEY:
            return api_error(403, FORBIDDEN, request.path)
        expected = self.emulator.settings()["api_key"]
        if expected is not None and key != expected:
            return api_error(401, UNAUTHORIZED, request.path)
        return None

    def _rejected(self, response: Response) -> Response:
        self.emulator.counters.count("rejected_submissions", response.status)
        return response

    def _new_job(self, request: Request, model: Model, params: dict, markers: Markers, settings: dict) -> Job:
        return Job(
            provider=self.name,
            request_id=f"{uuid.uuid4()}{model.id_suffix}",
            model_id=model.model_id,
            params=params,
            audio=model.audio_for(params, settings),
            **job_timings(settings, markers.time_factor),
            outcome=markers.outcome,
            mount_url=request.mount_url,
        )


API = AimlApiAPI
