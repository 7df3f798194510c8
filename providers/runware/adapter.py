"""Runware: Eleven Music v1 (`elevenlabs:1@1`) behind one REST endpoint (spec 004).

Every request is a POST of a JSON array of tasks to the base URL itself, and every answer is
an envelope `{"data": [...], "errors": [...]}`. The client names its task: the studio's
stable per-generation `client_ref` goes out as the `taskUUID`, so a repeated submit is the
same task and is never paid twice. Submits are always async (an acknowledgement comes back at
once) and ask for the cost; a `getResponse` task polls. One task may yield several results
(`numberResults`), each its own item under the same taskUUID; failed results move to `errors`.
Webhooks are unsigned and come once per result, so they only nudge a poll.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..base import (
    Adapter,
    AuthFailed,
    Cost,
    CostUnit,
    ErrorKind,
    InvalidRequest,
    JobState,
    Media,
    OutOfCredit,
    ProviderDown,
    ProviderError,
    State,
    Submitted,
    parse_json_bytes,
)

# Flat catalog params that Runware nests: the encoder settings, and ElevenLabs' own options.
AUDIO_SETTINGS = ("sampleRate", "bitrate", "channels")
MUSIC_SETTINGS = ("compositionPlan", "forceInstrumental", "respectSectionsDurations")
INTEGER_PARAMS = ("duration", "numberResults", "sampleRate", "bitrate", "channels")

RUNNING_STATUSES = ("processing", "pending")  # "pending" in the older docs
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg"}

# Errors whose code says more than their HTTP status (or that arrive in a 2xx envelope).
AUTH_CODES = ("invalidApiKey", "missingApiKey")
CREDIT_CODES = ("insufficientCredits", "insufficientBalance", "insufficientFunds")
# Remembered expected result counts: enough for every job one worker has in flight.
MAX_REMEMBERED_TASKS = 1024


@dataclass(frozen=True)
class RunwareError:
    """One item of an answer's `errors` array."""

    code: str
    message: str
    parameter: str = ""
    task_uuid: str = ""
    status: str = ""  # "error" marks a generation that ran and failed, not a refused request

    @classmethod
    def parse(cls, item: Any) -> RunwareError | None:
        if not isinstance(item, dict):
            return None
        return cls(
            code=str(item.get("code") or ""),
            message=str(item.get("message") or item.get("error") or item.get("code") or "unknown error"),
            parameter=str(item.get("parameter") or ""),
            task_uuid=str(item.get("taskUUID") or ""),
            status=str(item.get("status") or ""),
        )


@dataclass(frozen=True)
class Envelope:
    """An answer's `data` items (dicts) and parsed `errors`."""

    data: tuple[dict, ...]
    errors: tuple[RunwareError, ...]

    @classmethod
    def parse(cls, body: Any) -> Envelope | None:
        """Accept the documented envelope, a bare list of items, or one bare item (webhooks)."""
        if isinstance(body, list):
            body = {"data": body}
        if not isinstance(body, dict):
            return None
        if "data" not in body and "errors" not in body:
            if "taskUUID" not in body:
                return None
            body = {"errors": [body]} if body.get("status") == "error" else {"data": [body]}
        data, errors = body.get("data") or [], body.get("errors") or []
        if not isinstance(data, list) or not isinstance(errors, list):
            return None
        parsed = (RunwareError.parse(e) for e in errors)
        return cls(tuple(d for d in data if isinstance(d, dict)), tuple(e for e in parsed if e))

    def for_task(self, task_uuid: str) -> Envelope:
        """Only what concerns this task (items that name no task are taken as ours)."""
        return Envelope(
            tuple(d for d in self.data if str(d.get("taskUUID") or task_uuid) == task_uuid),
            tuple(e for e in self.errors if (e.task_uuid or task_uuid) == task_uuid),
        )


class GenerationFailed(ProviderError):
    """The answer says the task ran and failed: the job is over, whatever the HTTP status.
    Never leaves the adapter: submit and status report it as a failed job."""

    kind = ErrorKind.INVALID  # Runware will not make this audio: asking again does not help


class TaskAlreadyExists(ProviderError):
    """A repeated submit of a taskUUID Runware already has: the same task, already accepted.
    Never leaves the adapter: submit answers with the task."""

    kind = ErrorKind.INVALID  # a conflict, as any 409


class Runware(Adapter):
    label = "Runware"
    accepts_callbacks = True  # unsigned, one call per result: each only nudges a poll of the whole task
    client_names_job = True  # we name the task (taskUUID), so resubmitting after a lost answer is safe
    cost_unit = CostUnit.USD  # each result's `cost` (asked for with includeCost), in US dollars

    def __init__(self, *, api_key: str, base_url: str):
        super().__init__(api_key=api_key, base_url=base_url)
        self._expected_results: dict[str, int] = {}

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    # --- requests -------------------------------------------------------------------

    def submit(
        self, model: str, params: Mapping[str, Any], *, callback_url: str | None = None, client_ref: str = ""
    ) -> Submitted:
        task = self.inference_task(model, params, task_uuid=client_ref or str(uuid.uuid4()), callback_url=callback_url)
        task_uuid = task["taskUUID"]
        try:
            response = self._send(task)
        except TaskAlreadyExists:
            return Submitted(external_id=task_uuid)
        except GenerationFailed as failed:
            return Submitted(external_id=task_uuid, state=self._failed(task_uuid, failed.message))
        envelope = Envelope.parse(self.json(response, accepted=True))
        if envelope is None:
            raise self.unreadable("the submit answer is not a task envelope", maybe_accepted=True)
        ours = envelope.for_task(task_uuid)
        if ours.errors and not ours.data:
            if all(e.status == "error" for e in ours.errors):  # it ran already, and failed
                return Submitted(external_id=task_uuid, state=self._job_state(task_uuid, ours, raw=envelope))
            raise self._error_from_codes(ours.errors, status_code=response.status_code)
        if not ours.data:
            raise self.unreadable("the submit answer does not acknowledge the task", maybe_accepted=True)
        self._remember(task_uuid, task.get("numberResults", 1))
        try:
            state = self._job_state(task_uuid, ours, raw=envelope)
        except ProviderDown:
            return Submitted(external_id=task_uuid)  # accepted under our own id: polling will tell
        return Submitted(external_id=task_uuid, state=state if state.finished else None)

    def inference_task(
        self, model: str, params: Mapping[str, Any], *, task_uuid: str, callback_url: str | None = None
    ) -> dict[str, Any]:
        """The audioInference task for flat catalog params: encoder settings and ElevenLabs'
        options nested where Runware expects them, the delivery fields fixed."""
        task: dict[str, Any] = {
            "taskType": "audioInference",
            "taskUUID": task_uuid,
            "model": model,
            "deliveryMethod": "async",
            "outputType": "URL",  # the studio copies the file from its URL
            "includeCost": True,
        }
        audio_settings: dict[str, Any] = {}
        music: dict[str, Any] = {}
        for name, value in params.items():
            if value is None or value == "":
                continue
            if name in INTEGER_PARAMS:
                value = int(value)
            if name in AUDIO_SETTINGS:
                audio_settings[name] = value
            elif name in MUSIC_SETTINGS:
                music[name] = value
            else:
                task[name] = value
        if audio_settings:
            task["audioSettings"] = audio_settings
        if music:
            task["providerSettings"] = {"elevenlabs": {"music": music}}
        if callback_url:
            task["webhookURL"] = callback_url
        return task

    def status(self, external_id: str) -> JobState:
        try:
            response = self._send({"taskType": "getResponse", "taskUUID": external_id})
        except GenerationFailed as failed:
            return self._failed(external_id, failed.message)
        envelope = Envelope.parse(self.json(response))
        if envelope is None:
            raise self.unreadable("the getResponse answer is not a task envelope")
        return self._job_state(external_id, envelope.for_task(external_id), raw=envelope)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> JobState:
        """One result of the task (webhooks come once per result): a hint to poll, no more."""
        envelope = Envelope.parse(parse_json_bytes(body, provider=self.label))
        if envelope is None:
            raise self.unreadable("the callback is not a task envelope")
        named = [d.get("taskUUID") for d in envelope.data] + [e.task_uuid for e in envelope.errors]
        task_uuid = next((str(t) for t in named if t), "")
        return self._job_state(task_uuid, envelope.for_task(task_uuid), raw=envelope)

    # --- answers --------------------------------------------------------------------

    def _send(self, task: dict[str, Any]) -> httpx.Response:
        # The base URL itself is the endpoint: an absolute URL keeps httpx from adding a "/".
        return self.request("POST", self.base_url, json=[task])

    def _job_state(self, task_uuid: str, ours: Envelope, *, raw: Any) -> JobState:
        """The task's state from its result items: finished when none is still running and
        every expected result is in (or one failed), succeeded when any result has audio."""
        running, succeeded = 0, []
        for item in ours.data:
            status = str(item.get("status") or "").lower()
            if status in RUNNING_STATUSES or (not status and not item.get("audioURL")):
                running += 1  # an acknowledgement, or a generation still at work
            elif status == "success" or (not status and item.get("audioURL")):
                succeeded.append(item)
            elif status != "error":
                raise self.unreadable(f"unknown status {status!r}")
        failures = list(ours.errors)
        failures += [RunwareError.parse(d) for d in ours.data if str(d.get("status")).lower() == "error"]
        cost = self._total_cost(ours.data)
        if not ours.data and not failures:
            return JobState(State.QUEUED, external_id=task_uuid, raw=raw)  # accepted, not yet listed
        done = len(succeeded) + len(failures)
        expected = max(self._expected_results.get(task_uuid, 1), len(ours.data) + len(ours.errors))
        if running or (done < expected and not failures):
            progress = round(100 * done / expected) if done else None
            return JobState(State.RUNNING, external_id=task_uuid, progress=progress, cost=cost, raw=raw)
        if succeeded:
            media = tuple(self._media(item) for item in succeeded)
            return JobState(State.SUCCEEDED, external_id=task_uuid, media=media, cost=cost, raw=raw)
        message = "; ".join(dict.fromkeys(f.message for f in failures if f))
        return JobState(State.FAILED, external_id=task_uuid, error=message or "generation failed", cost=cost, raw=raw)

    def _total_cost(self, items: tuple[dict, ...]) -> Cost | None:
        """The task's cost: one job, whatever its number of results, so their costs summed."""
        costs = [c.amount for c in (self.reported_cost(item.get("cost")) for item in items) if c is not None]
        return self.reported_cost(sum(costs, Decimal(0))) if costs else None

    def _media(self, item: dict) -> Media:
        url = item.get("audioURL")
        if not isinstance(url, str) or not url:
            raise self.unreadable("a successful result has no audioURL")
        extension = urlsplit(url).path.rpartition(".")[2].lower()
        duration = item.get("duration")
        return Media(
            url=url,
            content_type=CONTENT_TYPES.get(extension, ""),
            duration=float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None,
        )

    def _failed(self, task_uuid: str, message: str) -> JobState:
        return JobState(State.FAILED, external_id=task_uuid, error=message or "generation failed")

    def _remember(self, task_uuid: str, number_results: Any) -> None:
        """A getResponse lists results as they appear; knowing how many were asked for keeps
        one early result from passing for the whole task (best effort: this process only)."""
        if len(self._expected_results) >= MAX_REMEMBERED_TASKS:
            self._expected_results.pop(next(iter(self._expected_results)), None)
        self._expected_results[task_uuid] = max(1, int(number_results or 1))

    # --- errors ---------------------------------------------------------------------

    def error_message(self, response: httpx.Response) -> str:
        envelope = _envelope_or_none(response)
        if envelope and envelope.errors:
            return "; ".join(dict.fromkeys(e.message for e in envelope.errors))
        return super().error_message(response)

    def error_for(self, response: httpx.Response) -> ProviderError:
        envelope = _envelope_or_none(response)
        errors = envelope.errors if envelope else ()
        if errors and all(e.status == "error" and e.task_uuid for e in errors):
            return GenerationFailed(self.error_message(response), provider=self.label, status_code=response.status_code)
        if response.status_code == 409 or any(_names_a_duplicate_task(e) for e in errors):
            message = self.error_message(response)
            return TaskAlreadyExists(message, provider=self.label, status_code=response.status_code)
        error = super().error_for(response)
        if response.status_code in (400, 422) and errors:
            # Runware's 400 may still carry a key or balance problem in its code.
            refined = self._error_from_codes(errors, status_code=response.status_code)
            if not isinstance(refined, InvalidRequest):
                return refined
        return error

    def _error_from_codes(self, errors: tuple[RunwareError, ...], *, status_code: int) -> ProviderError:
        message = "; ".join(dict.fromkeys(e.message for e in errors))
        codes = {e.code for e in errors}
        kwargs = {"provider": self.label, "status_code": status_code}
        if codes & set(AUTH_CODES):
            return AuthFailed(message, **kwargs)
        if codes & set(CREDIT_CODES):
            return OutOfCredit(message, **kwargs)
        return InvalidRequest(message, **kwargs)


def _envelope_or_none(response: httpx.Response) -> Envelope | None:
    try:
        return Envelope.parse(response.json())
    except ValueError:
        return None


def _names_a_duplicate_task(error: RunwareError) -> bool:
    code = error.code.lower()
    return error.parameter == "taskUUID" and ("duplicat" in code or "exist" in code)


