"""The Pixazo gateway (specs/000): ElevenLabs Music and Eleven v3 Alpha behind one async queue.

Mounted at /pixazo, so a studio with PIXAZO_BASE_URL=http://127.0.0.1:PORT/pixazo calls the spec's paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit

from providers.emulator.audio import AudioSpec, parse_output_format
from providers.emulator.jobs import Job, Phase, job_timings, uuid7
from providers.emulator.markers import Markers, UnknownMarker, read_markers
from providers.emulator.webhooks import WebhookPlan
from providers.emulator.wsgi import BadJSON, Request, Response, error_response, json_response, not_found

if TYPE_CHECKING:
    from providers.emulator.app import Emulator

AUTH_HEADER = "Ocp-Apim-Subscription-Key"
FORBIDDEN_KEY = "forbidden"  # a key the emulator always answers 403 for

OUTPUT_FORMATS = frozenset(
    "mp3_22050_32 mp3_44100_32 mp3_44100_64 mp3_44100_96 mp3_44100_128 mp3_44100_192 "
    "pcm_8000 pcm_16000 pcm_22050 pcm_24000 pcm_44100 pcm_48000 ulaw_8000 alaw_8000 "
    "opus_48000_32 opus_48000_64 opus_48000_96 opus_48000_128 opus_48000_192".split()
)
MAX_SPEECH_CHARS = 5000
SPEECH_CHARS_PER_SECOND = 15
TERMINAL_STATUS = {"completed": "COMPLETED", "failed": "FAILED", "error": "ERROR"}
FAILURE_MESSAGES = {
    "failed": "Generation failed: the model could not render this prompt",
    "error": "System error: the model worker stopped unexpectedly (not charged)",
}

STATUS_PATH = re.compile(r"^/v2/requests/status/(?P<request_id>[^/]+)$")
MEDIA_PATH = re.compile(r"^/media/(?P<request_id>[^/]+)/output\.(?P<extension>[a-z0-9]+)$")


class Invalid(ValueError):
    """A request the real API would refuse with 400; the message says which field and why."""


# --- request validation --------------------------------------------------------


def _required_text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"'{name}' is required and must be a non-empty string")
    return value


def _optional_number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise Invalid(f"'{name}' must be a number between {low} and {high}")
    return float(value)


def validate_music(body: dict) -> dict:
    params = {"prompt": _required_text(body, "prompt")}
    respect = body.get("respect_sections_durations")
    if respect is not None:
        if not isinstance(respect, bool):
            raise Invalid("'respect_sections_durations' must be a boolean")
        params["respect_sections_durations"] = respect
    output_format = body.get("output_format")
    if output_format is not None:
        if output_format not in OUTPUT_FORMATS:
            raise Invalid(f"'output_format' must be one of: {', '.join(sorted(OUTPUT_FORMATS))}")
        params["output_format"] = output_format
    return params


def validate_speech(body: dict) -> dict:
    text = _required_text(body, "text")
    if len(text) > MAX_SPEECH_CHARS:
        raise Invalid(f"'text' must be at most {MAX_SPEECH_CHARS} characters")
    params = {"text": text, "voice": _required_text(body, "voice")}
    for name, low, high in (("stability", 0.0, 1.0), ("similarity_boost", 0.0, 1.0), ("speed", 0.5, 2.0)):
        value = _optional_number(body, name, low, high)
        if value is not None:
            params[name] = value
    return params


# --- what each model renders -------------------------------------------------------


def media_format(output_format: str | None) -> tuple[str, int, int | None]:
    """mp3_* stays MP3; everything else is stored as WAV at the format's rate, as the spec's `output.wav` shows."""
    if output_format is None:
        return "wav", 44100, None
    fmt = parse_output_format(output_format)
    if fmt.codec == "mp3":
        return "mp3", fmt.sample_rate, fmt.bitrate_kbps
    return "wav", fmt.sample_rate, None


def music_audio(params: dict, settings: dict) -> AudioSpec:
    codec, rate, kbps = media_format(params.get("output_format"))
    return AudioSpec(params["prompt"], settings["music_seconds"], codec, rate, kbps, channels=2, style="music")


def speech_audio(params: dict, settings: dict) -> AudioSpec:
    seconds = len(params["text"]) / SPEECH_CHARS_PER_SECOND / params.get("speed", 1.0)
    seed = f"{params['voice']}\n{params['text']}"
    return AudioSpec(seed, min(10.0, max(1.0, seconds)), "wav", 44100, None, channels=1, style="speech")


@dataclass(frozen=True)
class Model:
    model_id: str
    operation: str
    prompt_field: str  # where [emulate:...] markers are read
    validate: Callable[[dict], dict]
    audio_for: Callable[[dict, dict], AudioSpec]

    @property
    def submit_path(self) -> str:
        return f"/{self.model_id}/v1/{self.operation}"


MODELS = (
    Model("elevenlabs-music-api-368", "elevenlabs-music-api-request", "prompt", validate_music, music_audio),
    Model("eleven-v3-alpha-954", "eleven-v3-alpha-request", "text", validate_speech, speech_audio),
)
SUBMIT_ROUTES = {model.submit_path: model for model in MODELS}


# --- answers ----------------------------------------------------------------------


def forced_error(status: int, model: Model) -> Response:
    if status == 400:
        return error_response(400, "Model not found", f"Model '{model.model_id}' not found or is disabled")
    if status == 401:
        return _unauthorized("invalid")
    if status == 402:
        return error_response(402, "Insufficient Balance", "Your wallet does not have enough balance.")
    if status == 403:
        return _forbidden()
    if status == 429:
        return error_response(
            429, "Too Many Requests", "Rate limit is exceeded. Try again in 1 seconds.", [("Retry-After", "1")]
        )
    return error_response(500, "Internal Server Error", "An unexpected error occurred. Please try again later.")


def _unauthorized(problem: str) -> Response:
    return error_response(
        401,
        "Unauthorized",
        f"Access denied due to {problem} subscription key. "
        "Make sure to provide a valid key for an active subscription.",
    )


def _forbidden() -> Response:
    return error_response(403, "Forbidden", "Your subscription does not have access to this API.")


def _bad_request(message: str) -> Response:
    return error_response(400, "Bad Request", message)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(wall * 1000) % 1000:03d}Z"


def _plain(wall: float) -> str:
    # The gateway's own examples mix this form with ISO 8601; clients must read both.
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class PixazoAPI:
    def __init__(self, emulator: Emulator, name: str) -> None:
        self.emulator = emulator
        self.name = name  # its key in providers/registry.py: where it is mounted, whose jobs are its own

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path in SUBMIT_ROUTES:
            return self.submit(request, SUBMIT_ROUTES[request.path])
        if request.method == "GET" and (match := STATUS_PATH.match(request.path)):
            return self.status(request, match["request_id"])
        if request.method in ("GET", "HEAD") and (match := MEDIA_PATH.match(request.path)):
            return self.media(request, match["request_id"], match["extension"])
        return not_found()

    def submit(self, request: Request, model: Model) -> Response:
        if refusal := self._check_key(request):
            return self._rejected(refusal)
        try:
            body = request.json()
        except BadJSON:
            return self._rejected(_bad_request("Request body must be valid JSON"))
        if not isinstance(body, dict):
            return self._rejected(_bad_request("Request body must be a JSON object"))
        try:
            markers = read_markers(body.get(model.prompt_field))
        except UnknownMarker as exc:
            return self._rejected(_bad_request(str(exc)))
        if markers.status_code:
            return self._rejected(forced_error(markers.status_code, model))
        try:
            params = model.validate(body)
        except Invalid as exc:
            return self._rejected(_bad_request(str(exc)))
        settings = self.emulator.settings()
        webhook = self._webhook_plan(request, settings)
        if isinstance(webhook, Response):
            return self._rejected(webhook)

        job = self._new_job(request, model, params, markers, settings)
        self.emulator.add_job(job)
        if webhook:
            self.emulator.webhooks.follow(job, webhook, lambda: self.status_document(job, job.mount_url))
        return json_response(
            202,
            {
                "request_id": job.request_id,
                "status": "QUEUED",
                "polling_url": f"{request.mount_url}/v2/requests/status/{job.request_id}",
            },
        )

    def status(self, request: Request, request_id: str) -> Response:
        if refusal := self._check_key(request):
            return refusal
        job = self.emulator.find_job(self.name, request_id)
        if job is None:
            return not_found(f"Request '{request_id}' not found")
        self.emulator.counters.count("status_calls", request_id)
        return json_response(200, self.status_document(job, request.mount_url))

    def media(self, request: Request, request_id: str, extension: str) -> Response:
        job = self.emulator.find_job(self.name, request_id)
        # Like a CDN: the object exists only once the job completed, and needs no key.
        if job is None or job.outcome != "completed" or job.phase() is not Phase.DONE:
            return not_found("Object not found")
        audio = job.media()
        if extension != audio.extension:
            return not_found("Object not found")
        if request.method == "GET":
            self.emulator.counters.count("media_fetches", request_id)
        return Response(200, audio.data, audio.content_type, [("ETag", f'"{job.media_sha256()}"')])

    def status_document(self, job: Job, mount_url: str) -> dict:
        phase = job.phase()
        done = phase is Phase.DONE
        status = TERMINAL_STATUS[job.outcome] if done else phase.value.upper()
        output = None
        if done and job.outcome == "completed":
            audio = job.media()
            output = {
                "media_url": [f"{mount_url}/media/{job.request_id}/output.{audio.extension}"],
                "media_type": audio.content_type,
            }
        return {
            "request_id": job.request_id,
            "status": status,
            "model_id": job.model_id,
            "error": FAILURE_MESSAGES.get(job.outcome) if done else None,
            "output": output,
            "created_at": _iso(job.created_wall),
            "updated_at": _plain(job.phase_started_wall()),
            "completed_at": _plain(job.done_wall()) if done else None,
        }

    # --- helpers ---

    def _check_key(self, request: Request) -> Response | None:
        key = (request.header(AUTH_HEADER) or "").strip()
        if not key:
            return _unauthorized("missing")
        if key == FORBIDDEN_KEY:
            return _forbidden()
        expected = self.emulator.settings()["api_key"]
        if expected is not None and key != expected:
            return _unauthorized("invalid")
        return None

    def _rejected(self, response: Response) -> Response:
        self.emulator.counters.count("rejected_submissions", response.status)
        return response

    def _webhook_plan(self, request: Request, settings: dict) -> WebhookPlan | Response | None:
        url = (request.header("X-Webhook-URL") or "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        allowed = ("https", "http") if settings["allow_http_webhooks"] else ("https",)
        if parts.scheme not in allowed or not parts.hostname:
            return error_response(
                400, "Invalid webhook URL", "X-Webhook-URL must be an HTTPS URL; plain http:// URLs are rejected"
            )
        mode = (request.header("X-Webhook-Mode") or "terminal").strip().lower()
        if mode not in ("terminal", "sync"):
            return error_response(400, "Invalid webhook mode", "X-Webhook-Mode must be 'terminal' or 'sync'")
        return WebhookPlan(
            url=url,
            sync_interval=settings["sync_interval"] if mode == "sync" else None,
            duplicate_terminal=settings["duplicate_callbacks"],
            timeout=settings["webhook_timeout"],
            retries=settings["webhook_retries"],
            retry_delay=settings["webhook_retry_delay"],
            loopback_only=settings["webhook_loopback_only"],
        )

    def _new_job(self, request: Request, model: Model, params: dict, markers: Markers, settings: dict) -> Job:
        return Job(
            provider=self.name,
            request_id=f"{model.model_id}_{uuid7()}",
            model_id=model.model_id,
            params=params,
            audio=model.audio_for(params, settings),
            **job_timings(settings, markers.time_factor),
            outcome=markers.outcome,
            mount_url=request.mount_url,
        )


API = PixazoAPI
