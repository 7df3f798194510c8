"""Runware (specs/004): Eleven Music v1 (`elevenlabs:1@1`) behind one task-array endpoint.

Mounted at /runware, so a studio with RUNWARE_BASE_URL=http://127.0.0.1:PORT/runware POSTs its
task arrays to the mount point itself, as it would to https://api.runware.ai/v1. Answers are
`{"data": [...], "errors": [...]}`. The client names each task (`taskUUID`): submitting a
taskUUID again is the same task, never a second job. A task yields `numberResults` results,
each with its own audio, finishing one after another; `getResponse` lists each as
`processing` or `success` (failed ones move to `errors`), and a webhook goes out per result.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from providers.emulator.audio import Audio, render
from providers.emulator.encoders import flac_bytes, sndfile, vorbis_bytes
from providers.emulator.jobs import Job, job_timings
from providers.emulator.markers import Markers, UnknownMarker, read_markers
from providers.emulator.webhooks import WebhookPlan
from providers.emulator.wsgi import BadJSON, Request, Response, json_response

if TYPE_CHECKING:
    from providers.emulator.app import Emulator

FORBIDDEN_KEY = "forbidden"  # a key the emulator always answers 403 for
MODEL_ID = "elevenlabs:1@1"
DOCUMENTATION = "https://runware.ai/docs/models/elevenlabs-music-v1"

OUTPUT_TYPES = ("URL", "dataURI", "base64Data")
OUTPUT_FORMATS = ("MP3", "WAV", "FLAC", "OGG")
LOSSY_FORMATS = ("MP3", "OGG")
DELIVERY_METHODS = ("sync", "async")
# Sample rate (Hz) → (min, max) kbps, from the spec's tables; OGG's also by channel count.
MP3_BITRATES = {
    8000: (8, 64), 11025: (8, 64), 12000: (8, 64),
    16000: (8, 160), 22050: (8, 160), 24000: (8, 160),
    32000: (32, 320), 44100: (32, 320), 48000: (32, 320),
}  # fmt: skip
OGG_BITRATES = {
    1: {8000: (8, 40), 12000: (16, 48), 16000: (16, 96), 24000: (16, 80), 48000: (32, 224)},
    2: {8000: (16, 80), 12000: (16, 96), 16000: (24, 192), 24000: (32, 160), 48000: (48, 256)},
}
DEFAULT_SAMPLE_RATE = {"MP3": 44100, "OGG": 48000, "WAV": 44100, "FLAC": 44100}
DEFAULT_MP3_KBPS = 128
DEFAULT_CHANNELS = 2
# What the emulator charges per second of requested music, per result (made up, but plausible).
PRICE_PER_SECOND = 0.0025
DEFAULT_TRACK_SECONDS = 30  # what a prompt-only request is priced as
EXTENSIONS = {"MP3": "mp3", "WAV": "wav", "FLAC": "flac", "OGG": "ogg"}

INFERENCE_FIELDS = frozenset(
    "taskType taskUUID outputType outputFormat audioSettings webhookURL deliveryMethod uploadEndpoint ttl "
    "includeCost numberResults model positivePrompt duration providerSettings".split()
)
FAILURES = {  # how a job forced to end badly reports each result
    "failed": ("providerError", "The provider could not generate this track from the given prompt."),
    "error": (
        "timeoutProvider",
        "The external provider did not respond within the timeout window. The request was automatically terminated.",
    ),
}

MEDIA_PATH = re.compile(r"^/media/(?P<task>[^/]+)/(?P<audio>[0-9a-f-]{36})\.(?P<extension>[a-z0-9]+)$")


class TaskError(Exception):
    """A task the API refuses: its HTTP status and the error item the answer carries."""

    def __init__(self, status: int, code: str, message: str, parameter: str = "", **extra: Any):
        super().__init__(message)
        self.status = status
        self.item = {"code": code, "message": message, **({"parameter": parameter} if parameter else {}), **extra}

    def for_task(self, task_type: str, task_uuid: str) -> dict:
        return {**self.item, "taskType": task_type, **({"taskUUID": task_uuid} if task_uuid else {})}


def invalid(parameter: str, rule: str, **extra: Any) -> TaskError:
    name = parameter.rpartition(".")[2]
    code = "invalid" + name[0].upper() + name[1:]
    message = f"Invalid value for '{parameter}' parameter. {rule}"
    return TaskError(400, code, message, parameter, documentation=DOCUMENTATION, **extra)


# --- request validation --------------------------------------------------------------


def _integer(task: dict, name: str, low: int, high: int | None = None) -> int | None:
    value = task.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"of at least {low}"
        limits = {"min": low, **({"max": high} if high is not None else {})}
        raise invalid(name, f"It must be an integer value {bounds}.", type="integer", **limits)
    return value


def _string_list(value: Any, parameter: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(parameter, "It is required and must be an array of strings.")
    return value


def validate_composition_plan(plan: Any) -> dict:
    base = "providerSettings.elevenlabs.music.compositionPlan"
    if not isinstance(plan, dict):
        raise invalid(base, "It must be an object.")
    for key in ("positiveGlobalStyles", "negativeGlobalStyles"):
        _string_list(plan.get(key), f"{base}.{key}")
    sections = plan.get("sections")
    if not isinstance(sections, list) or not sections:
        raise invalid(f"{base}.sections", "It is required and must be an array of at least 1 item.")
    for number, section in enumerate(sections):
        where = f"{base}.sections[{number}]"
        if not isinstance(section, dict):
            raise invalid(where, "Each section must be an object.")
        name = section.get("sectionName")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise invalid(f"{where}.sectionName", "It is required and must be a string of 1 to 100 characters.")
        duration = section.get("duration")
        if isinstance(duration, bool) or not isinstance(duration, int) or not 3 <= duration <= 120:
            raise invalid(f"{where}.duration", "It is required and must be an integer value between 3 and 120.")
        for key in ("lines", "positiveLocalStyles", "negativeLocalStyles"):
            _string_list(section.get(key), f"{where}.{key}")
    return plan


def validate_music_settings(task: dict) -> dict:
    settings = task.get("providerSettings")
    if settings is None:
        return {}
    if not isinstance(settings, dict) or not isinstance(settings.get("elevenlabs", {}), dict):
        raise invalid("providerSettings", "It must be an object; this model reads providerSettings.elevenlabs.")
    if "elevenlabs" not in settings:
        return {}
    music = settings["elevenlabs"].get("music")
    if not isinstance(music, dict):
        raise invalid("providerSettings.elevenlabs.music", "It is required and must be an object.")
    clean = {}
    if "compositionPlan" in music:
        clean["compositionPlan"] = validate_composition_plan(music["compositionPlan"])
    for flag in ("forceInstrumental", "respectSectionsDurations"):
        if flag in music:
            if not isinstance(music[flag], bool):
                raise invalid(f"providerSettings.elevenlabs.music.{flag}", "It must be a boolean.")
            clean[flag] = music[flag]
    return clean


def validate_audio_settings(task: dict, output_format: str) -> dict:
    settings = task.get("audioSettings")
    if settings is None:
        return {}
    if output_format not in LOSSY_FORMATS:
        raise invalid(
            "audioSettings",
            f"It is only available for lossy output formats (MP3, OGG), not for {output_format}.",
        )
    if not isinstance(settings, dict) or set(settings) - {"sampleRate", "bitrate", "channels"}:
        raise invalid("audioSettings", "It must be an object with sampleRate, bitrate and/or channels.")
    channels = settings.get("channels", DEFAULT_CHANNELS)
    if channels not in (1, 2) or isinstance(channels, bool):
        raise invalid("audioSettings.channels", "It must be 1 (mono) or 2 (stereo).")
    limits = OGG_BITRATES[channels] if output_format == "OGG" else MP3_BITRATES
    rate = settings.get("sampleRate", DEFAULT_SAMPLE_RATE[output_format])
    if isinstance(rate, bool) or rate not in limits:
        offered = ", ".join(str(r) for r in limits)
        raise invalid("audioSettings.sampleRate", f"For {output_format} it must be one of: {offered}.")
    bitrate = settings.get("bitrate")
    if bitrate is not None:
        low, high = limits[rate]
        if isinstance(bitrate, bool) or not isinstance(bitrate, int) or not low <= bitrate <= high:
            raise invalid(
                "audioSettings.bitrate",
                f"For {output_format} at {rate} Hz with {channels} channel(s) "
                f"it must be between {low} and {high} kbps.",
                type="integer",
                min=low,
                max=high,
            )
    return {"sampleRate": rate, "bitrate": bitrate, "channels": channels}


def validate_inference(task: dict) -> dict:
    """The task's parameters, checked like the real API; raises TaskError naming the parameter."""
    unknown = sorted(set(task) - INFERENCE_FIELDS)
    if unknown:
        message = f"Unsupported parameter '{unknown[0]}' for this model."
        raise TaskError(400, "unsupportedParameter", message, unknown[0])
    if task.get("model") != MODEL_ID:
        message = f"Invalid value for 'model' parameter. Unknown model '{task.get('model')}'."
        raise TaskError(400, "invalidModel", message, "model")
    prompt = task.get("positivePrompt")
    if prompt is not None and (not isinstance(prompt, str) or not 1 <= len(prompt) <= 2000):
        raise invalid("positivePrompt", "It must be a string of 1 to 2000 characters.")
    output_type = task.get("outputType", "URL")
    if output_type not in OUTPUT_TYPES:
        raise invalid("outputType", f"It must be one of: {', '.join(OUTPUT_TYPES)}.")
    output_format = task.get("outputFormat", "MP3")
    output_format = output_format.upper() if isinstance(output_format, str) else output_format
    if output_format not in OUTPUT_FORMATS:
        raise invalid("outputFormat", f"It must be one of: {', '.join(OUTPUT_FORMATS)}.")
    if output_format == "OGG" and sndfile() is None:
        raise invalid("outputFormat", "This emulator cannot encode OGG Vorbis here (libsndfile is not installed).")
    delivery = task.get("deliveryMethod", "sync")
    if delivery not in DELIVERY_METHODS:
        raise invalid("deliveryMethod", "It must be 'sync' or 'async'.")
    for name in ("webhookURL", "uploadEndpoint"):
        value = task.get(name)
        if value is not None and (not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https")):
            raise invalid(name, "It must be an absolute http(s) URL.")
    include_cost = task.get("includeCost", False)
    if not isinstance(include_cost, bool):
        raise invalid("includeCost", "It must be a boolean.")
    music = validate_music_settings(task)
    if prompt is None and "compositionPlan" not in music:
        raise TaskError(
            400,
            "missingPositivePrompt",
            "Either 'positivePrompt' or 'providerSettings.elevenlabs.music.compositionPlan' is required.",
            "positivePrompt",
        )
    return {
        "positivePrompt": prompt,
        "duration": _integer(task, "duration", 10, 300),
        "numberResults": _integer(task, "numberResults", 1, 4) or 1,
        "ttl": _integer(task, "ttl", 60),
        "outputType": output_type,
        "outputFormat": output_format,
        "audioSettings": validate_audio_settings(task, output_format),
        "deliveryMethod": delivery,
        "webhookURL": task.get("webhookURL"),
        "includeCost": include_cost,
        **music,
    }


def _marker_text(task: dict) -> str:
    """Where `[emulate:...]` markers are read: the prompt, and the plan's words when there is one."""
    parts = [task.get("positivePrompt")]
    try:
        parts.append(json.dumps(task["providerSettings"]["elevenlabs"]["music"]["compositionPlan"]))
    except (KeyError, TypeError):
        pass
    return "\n".join(part for part in parts if isinstance(part, str))


def forced_error(status: int) -> TaskError:
    if status == 400:
        return invalid("positivePrompt", "The prompt was flagged by the provider's content moderation.")
    if status == 401:
        return _invalid_key("Invalid API key. Get one at https://my.runware.ai/signup")
    if status == 402:
        message = "Insufficient credits. Add funds at https://my.runware.ai/wallet to continue."
        return TaskError(402, "insufficientCredits", message)
    if status == 403:
        return _forbidden()
    if status == 429:
        return TaskError(429, "tooManyRequests", "Queue capacity exceeded. Retry with exponential backoff.")
    message = "An unexpected error occurred while processing the task. Please retry."
    return TaskError(500, "internalServerError", message)


def _invalid_key(message: str) -> TaskError:
    return TaskError(401, "invalidApiKey", message, "apiKey")


def _forbidden() -> TaskError:
    return TaskError(403, "accessDenied", "The API key doesn't have permissions to perform the request.", "apiKey")


# --- jobs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultAudio:
    """One result's audio: rendered from the job's seed and this result's own, in the asked container."""

    seed: str
    seconds: float
    extension: str  # mp3, wav, flac, ogg
    sample_rate: int
    channels: int
    bitrate_kbps: int | None = None
    quality: float = 0.5  # OGG Vorbis: 0 smallest, 1 best

    def render(self) -> Audio:
        if self.extension in ("mp3", "wav"):
            kbps = (self.bitrate_kbps or DEFAULT_MP3_KBPS) if self.extension == "mp3" else None
            return render(self.seed, self.seconds, self.extension, self.sample_rate, kbps, channels=self.channels)
        pcm = render(self.seed, self.seconds, "pcm", self.sample_rate, channels=self.channels).data
        if self.extension == "flac":
            return Audio(flac_bytes(pcm, self.sample_rate, self.channels), "audio/flac", "flac")
        return Audio(vorbis_bytes(pcm, self.sample_rate, self.channels, self.quality), "audio/ogg", "ogg")


@dataclass(frozen=True)
class Result:
    index: int
    audio_uuid: str
    seed: int
    done_after: float  # seconds after submission
    audio: ResultAudio


@dataclass
class RunwareJob(Job):
    results: tuple[Result, ...] = ()
    _result_audio: dict = field(default_factory=dict, repr=False)

    def result_media(self, result: Result) -> Audio:
        with self._render_lock:
            if result.index not in self._result_audio:
                self._result_audio[result.index] = result.audio.render()
            return self._result_audio[result.index]

    def media(self) -> Audio:  # the shared helpers (media_bytes, media_sha256) see the first result
        return self.result_media(self.results[0])

    def is_done(self, result: Result) -> bool:
        return self.elapsed() >= result.done_after


def result_audio(params: dict, seed_text: str, settings: dict) -> ResultAudio:
    output_format = params["outputFormat"]
    audio_settings = params["audioSettings"]
    rate = audio_settings.get("sampleRate") or DEFAULT_SAMPLE_RATE[output_format]
    channels = audio_settings.get("channels") or DEFAULT_CHANNELS
    bitrate = audio_settings.get("bitrate")
    quality = 0.5
    if output_format == "OGG" and bitrate:
        low, high = OGG_BITRATES[channels][rate]
        quality = (bitrate - low) / (high - low) if high > low else 0.5
    seconds = settings["music_seconds"]  # short, whatever was asked: emulated jobs stay quick
    return ResultAudio(seed_text, seconds, EXTENSIONS[output_format], rate, channels, bitrate, quality)


def requested_seconds(params: dict) -> int:
    plan = params.get("compositionPlan")
    if plan:
        return sum(section["duration"] for section in plan["sections"])
    return params.get("duration") or DEFAULT_TRACK_SECONDS


# --- the API -------------------------------------------------------------------------


class RunwareAPI:
    def __init__(self, emulator: Emulator, name: str) -> None:
        self.emulator = emulator
        self.name = name  # its key in providers/registry.py: where it is mounted, whose jobs are its own
        self._submit_lock = threading.Lock()  # one job per taskUUID, even for concurrent repeats

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/":
            return self.tasks(request)
        if request.method in ("GET", "HEAD") and (match := MEDIA_PATH.match(request.path)):
            return self.media(request, match["task"], match["audio"], match["extension"])
        return _envelope(404, errors=[{"code": "notFound", "message": "The requested resource doesn't exist."}])

    def tasks(self, request: Request) -> Response:
        try:
            tasks = request.json()
        except BadJSON:
            tasks = None
        submits = isinstance(tasks, list) and any(_task_type(t) == "audioInference" for t in tasks)
        if not isinstance(tasks, list) or not tasks:
            message = "The request body must be a non-empty JSON array of tasks."
            return self._refused(submits, TaskError(400, "invalidRequestBody", message))
        if refusal := self._check_key(request, tasks):
            return self._refused(submits, refusal, "authentication")
        data: list[dict] = []
        errors: list[dict] = []
        status = 200
        for task in tasks:
            task_type = _task_type(task)
            task_uuid = str(task.get("taskUUID") or "") if isinstance(task, dict) else ""
            try:
                if task_type == "authentication":
                    continue
                if task_type == "audioInference":
                    found, failed = self.inference(request, task)
                elif task_type == "getResponse":
                    found, failed = self.get_response(request, task)
                else:
                    raise TaskError(400, "invalidTaskType", f"Unsupported taskType '{task_type}'.", "taskType")
            except TaskError as error:
                if task_type == "audioInference":
                    self.emulator.counters.count("rejected_submissions", error.status)
                errors.append(error.for_task(str(task_type or ""), task_uuid))
                status = error.status if status == 200 else status
                continue
            data += found
            errors += failed
        return _envelope(200 if data else status, data=data, errors=errors)

    def inference(self, request: Request, task: dict) -> tuple[list[dict], list[dict]]:
        task_uuid = task.get("taskUUID")
        if not _is_uuid4(task_uuid):
            raise invalid("taskUUID", "It is required and must be a UUID v4 string.")
        with self._submit_lock:
            job = self.emulator.find_job(self.name, task_uuid)
            if job is None:
                job = self._accept(request, task)
        if job.params["deliveryMethod"] == "sync":
            # The connection stays open until every result is in, as the real sync delivery does.
            time.sleep(job.seconds_until_done() + 0.01)
            return self.result_items(job, request.mount_url)
        return [{"taskType": "audioInference", "taskUUID": job.request_id}], []

    def get_response(self, request: Request, task: dict) -> tuple[list[dict], list[dict]]:
        task_uuid = str(task.get("taskUUID") or "")
        job = self.emulator.find_job(self.name, task_uuid)
        if job is None:
            raise TaskError(404, "taskNotFound", f"No task found with taskUUID '{task_uuid}'.", "taskUUID")
        self.emulator.counters.count("status_calls", task_uuid)
        return self.result_items(job, request.mount_url)

    def media(self, request: Request, task_uuid: str, audio_uuid: str, extension: str) -> Response:
        job = self.emulator.find_job(self.name, task_uuid)
        result = next((r for r in job.results if r.audio_uuid == audio_uuid), None) if job else None
        # Like a CDN: no key needed, and nothing before the result is done or after its ttl.
        if result is None or job.outcome != "completed" or not job.is_done(result):
            return _envelope(404, errors=[{"code": "notFound", "message": "Object not found"}])
        ttl = job.params.get("ttl")
        if ttl is not None and time.time() > job.created_wall + result.done_after + ttl:
            return _envelope(404, errors=[{"code": "notFound", "message": "Object expired"}])
        audio = job.result_media(result)
        if extension != audio.extension:
            return _envelope(404, errors=[{"code": "notFound", "message": "Object not found"}])
        if request.method == "GET":
            self.emulator.counters.count("media_fetches", task_uuid)
        etag = hashlib.sha256(audio.data).hexdigest()
        return Response(200, audio.data, audio.content_type, [("ETag", f'"{etag}"')])

    # --- documents ---

    def result_items(self, job: RunwareJob, mount_url: str) -> tuple[list[dict], list[dict]]:
        """`mount_url`: the API as the asking client addressed it, for the media URLs."""
        data, errors = [], []
        for result in job.results:
            item = self.result_item(job, result, mount_url)
            (errors if item.get("status") == "error" else data).append(item)
        return data, errors

    def result_item(self, job: RunwareJob, result: Result, mount_url: str) -> dict:
        base = {"taskType": "audioInference", "taskUUID": job.request_id}
        if not job.is_done(result):
            return {**base, "status": "processing"}
        if job.outcome != "completed":
            code, message = FAILURES[job.outcome]
            return {"code": code, "message": message, "status": "error", **base, "documentation": DOCUMENTATION}
        item = {**base, "status": "success", "audioUUID": result.audio_uuid, "seed": result.seed}
        output_type = job.params["outputType"]
        if output_type == "URL":
            item["audioURL"] = f"{mount_url}/media/{job.request_id}/{result.audio_uuid}.{result.audio.extension}"
        else:
            audio = job.result_media(result)
            encoded = base64.b64encode(audio.data).decode()
            if output_type == "base64Data":
                item["audioBase64Data"] = encoded
            else:
                item["audioDataURI"] = f"data:{audio.content_type};base64,{encoded}"
        if job.params["includeCost"]:
            item["cost"] = round(PRICE_PER_SECOND * requested_seconds(job.params), 4)
        return item

    def webhook_document(self, job: RunwareJob, result: Result) -> dict:
        item = self.result_item(job, result, job.mount_url)
        return {"errors": [item]} if item.get("status") == "error" else {"data": [item]}

    # --- helpers ---

    def _accept(self, request: Request, task: dict) -> RunwareJob:
        try:
            markers = read_markers(_marker_text(task))
        except UnknownMarker as exc:
            raise TaskError(400, "invalidPositivePrompt", str(exc), "positivePrompt") from exc
        if markers.status_code:
            raise forced_error(markers.status_code)
        settings = self.emulator.settings()
        params = validate_inference(task)
        webhook = self._webhook_plan(params["webhookURL"], settings)
        job = self._new_job(request, task["taskUUID"], params, markers, settings)
        self.emulator.add_job(job)
        if webhook:
            for result in job.results:  # one call per result, as each becomes available
                per_result = dataclasses.replace(job, total_seconds=result.done_after)
                self.emulator.webhooks.follow(per_result, webhook, lambda r=result: self.webhook_document(job, r))
        return job

    def _new_job(self, request: Request, task_uuid: str, params: dict, markers: Markers, settings: dict) -> RunwareJob:
        timings = job_timings(settings, markers.time_factor)
        queued, total = timings["queued_seconds"], timings["total_seconds"]
        count = params["numberResults"]
        seed_text = params["positivePrompt"] or repr(params.get("compositionPlan"))
        results = []
        for index in range(count):
            seed = int.from_bytes(hashlib.sha256(f"{task_uuid}/{index}".encode()).digest()[:4], "big")
            audio = result_audio(params, f"{seed_text}\n#{seed}", settings)
            done_after = queued + (total - queued) * (index + 1) / count  # results arrive one by one
            results.append(Result(index, str(uuid.uuid4()), seed, done_after, audio))
        return RunwareJob(
            provider=self.name,
            request_id=task_uuid,
            model_id=MODEL_ID,
            params=params,
            audio=results[0].audio,
            queued_seconds=queued,
            total_seconds=total,
            outcome=markers.outcome,
            mount_url=request.mount_url,
            results=tuple(results),
        )

    def _check_key(self, request: Request, tasks: list) -> TaskError | None:
        header = (request.header("Authorization") or "").strip()
        key = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not key:  # the docs also allow an authentication task in the array
            key = next((str(t.get("apiKey") or "") for t in tasks if _task_type(t) == "authentication"), "").strip()
        if not key:
            return _invalid_key("Missing API key. Send it as 'Authorization: Bearer <API_KEY>'.")
        if key == FORBIDDEN_KEY:
            return _forbidden()
        expected = self.emulator.settings()["api_key"]
        if expected is not None and key != expected:
            return _invalid_key("Invalid API key. Get one at https://my.runware.ai/signup")
        return None

    def _refused(self, submits: bool, error: TaskError, task_type: str = "") -> Response:
        if submits:
            self.emulator.counters.count("rejected_submissions", error.status)
        item = {**error.item, **({"taskType": task_type} if task_type else {})}
        return _envelope(error.status, errors=[item], with_data=False)

    def _webhook_plan(self, url: str | None, settings: dict) -> WebhookPlan | None:
        if not url:
            return None
        allowed = ("https", "http") if settings["allow_http_webhooks"] else ("https",)
        if urlsplit(url).scheme not in allowed or not urlsplit(url).hostname:
            raise invalid("webhookURL", "It must be an HTTPS URL.")
        return WebhookPlan(
            url=url,
            sync_interval=None,  # Runware posts results only, never progress
            duplicate_terminal=settings["duplicate_callbacks"],
            timeout=settings["webhook_timeout"],
            retries=settings["webhook_retries"],
            retry_delay=settings["webhook_retry_delay"],
            loopback_only=settings["webhook_loopback_only"],
        )


def _envelope(status: int, *, data: list | None = None, errors: list | None = None, with_data: bool = True) -> Response:
    body: dict[str, Any] = {"data": data or []} if with_data else {}
    if errors:
        body["errors"] = errors
    return json_response(status, body)


def _task_type(task: Any) -> str | None:
    return task.get("taskType") if isinstance(task, dict) else None


def _is_uuid4(value: Any) -> bool:
    try:
        return isinstance(value, str) and uuid.UUID(value).version == 4
    except ValueError:
        return False


API = RunwareAPI
