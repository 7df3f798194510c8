"""Apiframe's v2 job API (specs/003): ElevenLabs Music through one submit route and one job route.

Mounted at /apiframe, so a studio with APIFRAME_BASE_URL=http://127.0.0.1:PORT/apiframe calls the
spec's paths. Jobs report progress; completed ones carry `result.tracks[]` whose audio is served
from /apiframe/media/...; webhooks are signed the way Apiframe signs them, with the key the job
was submitted with.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit


from providers.emulator.audio import AudioSpec
from providers.emulator.jobs import Job, Phase, job_timings, uuid7
from providers.emulator.markers import UnknownMarker, read_markers
from providers.emulator.webhooks import WebhookDispatcher, WebhookPlan
from providers.emulator.wsgi import BadJSON, Request, Response, json_response

if TYPE_CHECKING:
    from providers.emulator.app import Emulator

log = logging.getLogger(__name__)

AUTH_HEADER = "X-API-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"
FORBIDDEN_KEY = "forbidden"  # a key the emulator always answers 403 for
MAX_IDEMPOTENCY_KEY = 255

MODEL_ID = "elevenlabs-music"
PARAMS_KEY = "elevenlabsParams"
MAX_PROMPT_CHARS = 5000
MIN_LENGTH_MS, MAX_LENGTH_MS, DEFAULT_LENGTH_MS = 5000, 300000, 60000
# output_format → (codec, sample rate, kbps), as ElevenLabs renders each choice.
OUTPUT_FORMATS = {
    "mp3_standard": ("mp3", 44100, 128),
    "mp3_high_quality": ("mp3", 44100, 192),
    "wav_16khz": ("wav", 16000, None),
    "wav_22khz": ("wav", 22050, None),
    "wav_24khz": ("wav", 24000, None),
    "wav_cd_quality": ("wav", 44100, None),
}
DEFAULT_OUTPUT_FORMAT = "mp3_high_quality"
WEBHOOK_EVENTS = ("progress", "completed", "failed")
TOP_LEVEL_FIELDS = frozenset({"model", "prompt", PARAMS_KEY, "webhookUrl", "webhookEvents"})
OPTION_FIELDS = frozenset({"music_length_ms", "force_instrumental", "output_format"})
CREDITS_PER_MINUTE = 40  # the emulator's own price list: Apiframe publishes none per model
FAILURE_MESSAGES = {
    "failed": "Generation failed: the model could not compose this prompt",
    "error": "Upstream provider error: the generation was not completed (credits refunded)",
}

JOB_PATH = re.compile(r"^/v2/jobs/(?P<job_id>[^/]+)$")
MEDIA_PATH = re.compile(r"^/media/(?P<job_id>[^/]+)/track-1\.(?P<extension>[a-z0-9]+)$")


class Invalid(ValueError):
    """A body the real API's schema refuses: 400 with per-field `details`, keyed by JSON path."""

    def __init__(self, details: dict[str, list[str]]):
        super().__init__("; ".join(f"{path}: {', '.join(issues)}" for path, issues in details.items()))
        self.details = details


@dataclass(frozen=True)
class Submission:
    """What the emulator remembers about a job besides its clock: whose it is, and what was asked."""

    owner_key: str
    input: dict
    fingerprint: str  # of the request body, to tell an idempotent replay from a conflicting reuse
    has_webhook: bool = False


# --- request validation --------------------------------------------------------


def validate(body: dict) -> dict:
    """The music parameters the request asks for, or Invalid with every problem found."""
    issues: dict[str, list[str]] = {}

    def problem(path: str, message: str) -> None:
        issues.setdefault(path, []).append(message)

    for key in sorted(set(body) - TOP_LEVEL_FIELDS):
        problem(key, f"Unrecognized key '{key}'")
    if body.get("model") != MODEL_ID:
        problem("model", f"Invalid model; this emulator serves '{MODEL_ID}'")
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problem("prompt", "Required: a non-empty string")
    elif len(prompt) > MAX_PROMPT_CHARS:
        problem("prompt", f"String must contain at most {MAX_PROMPT_CHARS} character(s)")
    params: dict[str, Any] = {"prompt": prompt}

    options = body.get(PARAMS_KEY, {})
    if not isinstance(options, dict):
        problem(PARAMS_KEY, "Expected an object")
        options = {}
    for key in sorted(set(options) - OPTION_FIELDS):
        problem(f"{PARAMS_KEY}.{key}", f"Unrecognized key '{key}'")
    if "music_length_ms" in options:
        length = options["music_length_ms"]
        whole = isinstance(length, int) or (isinstance(length, float) and length.is_integer())
        if isinstance(length, bool) or not whole or not MIN_LENGTH_MS <= length <= MAX_LENGTH_MS:
            problem(
                f"{PARAMS_KEY}.music_length_ms",
                f"Expected an integer between {MIN_LENGTH_MS} and {MAX_LENGTH_MS}",
            )
        else:
            params["music_length_ms"] = int(length)
    if "force_instrumental" in options:
        if not isinstance(options["force_instrumental"], bool):
            problem(f"{PARAMS_KEY}.force_instrumental", "Expected boolean")
        else:
            params["force_instrumental"] = options["force_instrumental"]
    if "output_format" in options:
        if options["output_format"] not in OUTPUT_FORMATS:
            problem(f"{PARAMS_KEY}.output_format", f"Expected one of: {', '.join(OUTPUT_FORMATS)}")
        else:
            params["output_format"] = options["output_format"]

    if "webhookUrl" in body:
        url = body["webhookUrl"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or not parts.scheme or not parts.hostname:
            problem("webhookUrl", "Invalid url")
    if "webhookEvents" in body:
        events = body["webhookEvents"]
        if not isinstance(events, list) or not events or any(e not in WEBHOOK_EVENTS for e in events):
            problem("webhookEvents", f"Expected a non-empty array of: {', '.join(WEBHOOK_EVENTS)}")
    if issues:
        raise Invalid(issues)
    return params


# --- what a job renders and costs -------------------------------------------------------


def length_ms(params: dict) -> int:
    return params.get("music_length_ms", DEFAULT_LENGTH_MS)


def credits_for(params: dict) -> int:
    return max(1, math.ceil(CREDITS_PER_MINUTE * length_ms(params) / 60000))


def music_audio(params: dict, settings: dict) -> AudioSpec:
    codec, rate, kbps = OUTPUT_FORMATS[params.get("output_format", DEFAULT_OUTPUT_FORMAT)]
    # Rendering minutes of audio would make every test slow: the track is capped at music_seconds,
    # and its reported duration is what was actually rendered.
    seconds = min(length_ms(params) / 1000, settings["music_seconds"])
    seed = f"{params['prompt']}\ninstrumental={params.get('force_instrumental', False)}"
    return AudioSpec(seed, seconds, codec, rate, kbps, channels=2, style="music")


def track_title(prompt: str) -> str:
    first_line = prompt.strip().splitlines()[0]
    return first_line if len(first_line) <= 60 else first_line[:59].rstrip() + "…"


def webhook_signature(api_key: str, body: bytes) -> str:
    """X-Webhook-Signature: hex HMAC-SHA256 of the raw body, keyed with the hex SHA-256 of the API key."""
    secret = hashlib.sha256(api_key.encode()).hexdigest().encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


# --- answers ----------------------------------------------------------------------


def error(status: int, message: str, headers: list[tuple[str, str]] | None = None, **extra: Any) -> Response:
    """Apiframe's error envelope: `{"error": "..."}`, plus `details` or credit numbers where documented."""
    return json_response(status, {"error": message, **extra}, headers)


def validation_error(details: dict[str, list[str]]) -> Response:
    return error(400, "Invalid request body", details=details)


def forced_error(status: int, params_for_price: dict) -> Response:
    if status == 400:
        return validation_error({"prompt": ["Rejected by the emulator marker [emulate:400]"]})
    if status == 401:
        return error(401, "Invalid API key")
    if status == 402:
        return error(402, "Insufficient credits", creditsRequired=credits_for(params_for_price), creditsAvailable=0)
    if status == 403:
        return error(403, "API key is inactive or lacks permission")
    if status == 429:
        return error(429, "Rate limit exceeded", [("Retry-After", "1")])
    return error(500, "Internal server error")


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(wall * 1000) % 1000:03d}Z"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --- webhooks -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedWebhookPlan(WebhookPlan):
    events: frozenset[str] = frozenset(WEBHOOK_EVENTS)
    signing_key: str = ""  # the API key the job was submitted with


class SignedWebhookDispatcher(WebhookDispatcher):
    """The shared dispatcher's timing and retries, posting Apiframe's signed, event-named requests.

    Progress events go out on the shared `sync_interval` ticks once the job is PROCESSING; the
    terminal event when it ends. Only the events the job asked for are sent.
    """

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator.counters, emulator.faults)
        self._emulator = emulator

    def _post(self, job: Job, plan: WebhookPlan, payload: dict, cancelled: threading.Event) -> None:
        assert isinstance(plan, SignedWebhookPlan)
        if self._emulator.find_job(job.provider, job.request_id) is None:
            return  # a reset forgot the job: its deliveries stop with it
        if payload["event"] not in plan.events or payload["status"] == "QUEUED":
            return
        super()._post(job, plan, payload, cancelled)

    def extra_headers(self, plan: WebhookPlan, payload: dict, body: bytes) -> dict[str, str]:
        assert isinstance(plan, SignedWebhookPlan)
        key = plan.signing_key
        if self._emulator.settings()["apiframe_bad_signature"]:
            key = f"not-{key}"
        return {"X-Webhook-Event": payload["event"], "X-Webhook-Signature": webhook_signature(key, body)}


# --- the API ---------------------------------------------------------------------------


class ApiframeAPI:
    def __init__(self, emulator: Emulator, name: str) -> None:
        self.emulator = emulator
        self.name = name  # its key in providers/registry.py: where it is mounted, whose jobs are its own
        self._lock = threading.Lock()
        self._submissions: dict[str, Submission] = {}
        self._idempotent: dict[tuple[str, str], str] = {}  # (API key, Idempotency-Key) → job id
        self._webhooks: SignedWebhookDispatcher | None = None
        self._webhooks_beside: WebhookDispatcher | None = None

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/v2/music/generate":
            return self.submit(request)
        if request.method == "GET" and (match := JOB_PATH.match(request.path)):
            return self.job(request, match["job_id"])
        if request.method in ("GET", "HEAD") and (match := MEDIA_PATH.match(request.path)):
            return self.media(request, match["job_id"], match["extension"])
        return error(404, "Not found")

    def submit(self, request: Request) -> Response:
        key, refusal = self._check_key(request)
        if refusal:
            return self._rejected(refusal)
        if self.emulator.settings()["apiframe_unavailable"]:
            return self._rejected(error(503, "Service temporarily unavailable"))
        try:
            body = request.json()
        except BadJSON:
            return self._rejected(error(400, "Invalid JSON body"))
        if not isinstance(body, dict):
            return self._rejected(validation_error({"": ["Expected object"]}))
        idempotency_key = (request.header(IDEMPOTENCY_HEADER) or "").strip()
        if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            return self._rejected(
                validation_error({IDEMPOTENCY_HEADER: [f"At most {MAX_IDEMPOTENCY_KEY} characters"]})
            )
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if idempotency_key and (replay := self._replay(key, idempotency_key, fingerprint, request)):
            return replay
        try:
            markers = read_markers(body.get("prompt"))
        except UnknownMarker as exc:
            return self._rejected(validation_error({"prompt": [str(exc)]}))
        if markers.status_code:
            return self._rejected(forced_error(markers.status_code, self._price_basis(body)))
        try:
            params = validate(body)
        except Invalid as exc:
            return self._rejected(validation_error(exc.details))
        settings = self.emulator.settings()
        webhook = self._webhook_plan(body, key, settings)
        if isinstance(webhook, Response):
            return self._rejected(webhook)

        job = Job(
            provider=self.name,
            request_id=str(uuid7()),
            model_id=MODEL_ID,
            params=params,
            audio=music_audio(params, settings),
            **job_timings(settings, markers.time_factor),
            outcome=markers.outcome,
            mount_url=request.mount_url,
        )
        submitted_input = {"prompt": params["prompt"], **({PARAMS_KEY: body[PARAMS_KEY]} if PARAMS_KEY in body else {})}
        with self._lock:
            self._submissions[job.request_id] = Submission(key, submitted_input, fingerprint, bool(webhook))
            if idempotency_key:
                self._idempotent[(key, idempotency_key)] = job.request_id
        self.emulator.add_job(job)
        if webhook:
            self._dispatcher().follow(job, webhook, lambda: self.webhook_payload(job))
        return json_response(202, {"jobId": job.request_id, "status": "QUEUED"})

    def job(self, request: Request, job_id: str) -> Response:
        key, refusal = self._check_key(request)
        if refusal:
            return refusal
        if not _is_uuid(job_id):
            return error(400, "Invalid job id: expected a UUID")
        job = self.emulator.find_job(self.name, job_id)
        submission = self._submissions.get(job_id)
        # Another user's job is "not found", as the API answers.
        if job is None or submission is None or submission.owner_key != key:
            return error(404, "Job not found")
        self.emulator.counters.count("status_calls", job_id)
        return json_response(200, self.job_document(job, request.mount_url))

    def media(self, request: Request, job_id: str, extension: str) -> Response:
        job = self.emulator.find_job(self.name, job_id)
        # Like a CDN: the file exists only once the job completed, and needs no key.
        if job is None or job.outcome != "completed" or job.phase() is not Phase.DONE:
            return error(404, "Not found")
        audio = job.media()
        if extension != audio.extension:
            return error(404, "Not found")
        if request.method == "GET":
            self.emulator.counters.count("media_fetches", job_id)
        return Response(200, audio.data, audio.content_type, [("ETag", f'"{job.media_sha256()}"')])

    # --- documents ---

    def job_document(self, job: Job, mount_url: str) -> dict:
        """GET /v2/jobs/{id}: the Job schema."""
        submission = self._submissions[job.request_id]
        state = self._state(job, mount_url)
        return {
            "id": job.request_id,
            "model": job.model_id,
            "status": state["status"],
            "progress": state["progress"],
            "result": state["result"],
            "error": state["error"],
            "creditCost": state["creditCost"],
            "webhookStatus": self._webhook_status(job, submission),
            "input": submission.input,
            "expired": False,
            "createdAt": _iso(job.created_wall),
            "completedAt": state["completedAt"],
        }

    def webhook_payload(self, job: Job) -> dict:
        state = self._state(job, job.mount_url)
        event = {"COMPLETED": "completed", "FAILED": "failed"}.get(state["status"], "progress")
        return {"event": event, "jobId": job.request_id, **state}

    def _state(self, job: Job, mount_url: str) -> dict:
        phase = job.phase()
        done = phase is Phase.DONE
        completed = done and job.outcome == "completed"
        if not done:
            status = phase.value.upper()
        else:
            status = "COMPLETED" if completed else "FAILED"
        result = None
        if completed:
            audio = job.media()
            result = {
                "tracks": [
                    {
                        "audioUrl": f"{mount_url}/media/{job.request_id}/track-1.{audio.extension}",
                        "duration": job.audio.seconds,
                        "title": track_title(job.params["prompt"]),
                    }
                ]
            }
        return {
            "status": status,
            "progress": self._progress(job, phase),
            "result": result,
            "error": FAILURE_MESSAGES.get(job.outcome) if done else None,
            # Only successful generations are paid for; a failed job is refunded.
            "creditCost": (credits_for(job.params) if completed else 0) if done else None,
            "completedAt": _iso(job.done_wall()) if done else None,
        }

    @staticmethod
    def _progress(job: Job, phase: Phase) -> int | None:
        if phase is Phase.QUEUED:
            return 0
        if phase is Phase.PROCESSING:
            running = max(1e-9, job.total_seconds - job.queued_seconds)
            return min(99, 1 + int(98 * (job.elapsed() - job.queued_seconds) / running))
        return 100 if job.outcome == "completed" else None

    def _webhook_status(self, job: Job, submission: Submission) -> str | None:
        if not submission.has_webhook:
            return None
        stats = self.emulator.stats()
        if stats["callbacks_sent"]["by_request_id"].get(job.request_id):
            return "delivered"
        if stats["callback_failures"]["by_request_id"].get(job.request_id):
            return "failed"
        return "pending"

    # --- helpers ---

    def _check_key(self, request: Request) -> tuple[str, Response | None]:
        key = (request.header(AUTH_HEADER) or "").strip()
        if not key:
            return key, error(401, "Missing API key: send it in the X-API-Key header")
        if key == FORBIDDEN_KEY:
            return key, error(403, "API key is inactive or lacks permission")
        expected = self.emulator.settings()["api_key"]
        if expected is not None and key != expected:
            return key, error(401, "Invalid API key")
        return key, None

    def _rejected(self, response: Response) -> Response:
        self.emulator.counters.count("rejected_submissions", response.status)
        return response

    @staticmethod
    def _price_basis(body: dict) -> dict:
        """The length a not-yet-validated body asks for, enough to quote its price in a 402."""
        options = body.get(PARAMS_KEY)
        length = options.get("music_length_ms") if isinstance(options, dict) else None
        valid = isinstance(length, int) and not isinstance(length, bool) and MIN_LENGTH_MS <= length <= MAX_LENGTH_MS
        return {"music_length_ms": length} if valid else {}

    def _replay(self, key: str, idempotency_key: str, fingerprint: str, request: Request) -> Response | None:
        """The original job for a repeated Idempotency-Key; 409 when the body differs; None if new."""
        with self._lock:
            job_id = self._idempotent.get((key, idempotency_key))
            submission = self._submissions.get(job_id or "")
        job = self.emulator.find_job(self.name, job_id) if job_id else None
        if job is None or submission is None:
            return None  # never seen, or forgotten by a reset
        if submission.fingerprint != fingerprint:
            return self._rejected(error(409, "Idempotency-Key was already used with a different request body"))
        return json_response(202, {"jobId": job.request_id, "status": self._state(job, request.mount_url)["status"]})

    def _webhook_plan(self, body: dict, key: str, settings: dict) -> SignedWebhookPlan | Response | None:
        url = body.get("webhookUrl")
        if not url:
            return None
        allowed = ("https", "http") if settings["allow_http_webhooks"] else ("https",)
        if urlsplit(url).scheme not in allowed:
            return validation_error({"webhookUrl": ["Webhook URLs must use https"]})
        events = frozenset(body.get("webhookEvents") or WEBHOOK_EVENTS)
        return SignedWebhookPlan(
            url=url,
            sync_interval=settings["sync_interval"] if "progress" in events else None,
            duplicate_terminal=settings["duplicate_callbacks"],
            timeout=settings["webhook_timeout"],
            retries=settings["webhook_retries"],
            retry_delay=settings["webhook_retry_delay"],
            loopback_only=settings["webhook_loopback_only"],
            events=events,
            signing_key=key,
        )

    def _dispatcher(self) -> SignedWebhookDispatcher:
        """Ours, renewed whenever a reset renews the shared one (new counters, pending posts dropped)."""
        shared = self.emulator.webhooks
        with self._lock:
            if self._webhooks is None or self._webhooks_beside is not shared:
                if self._webhooks is not None:
                    self._webhooks.cancel_all()
                self._webhooks = SignedWebhookDispatcher(self.emulator)
                self._webhooks_beside = shared
            return self._webhooks


API = ApiframeAPI
