"""Apiframe: ElevenLabs Music behind Apiframe's unified v2 job API (spec 003).

Submit answers 202 with a `jobId`; `GET /v2/jobs/{id}` reports the status, progress, credit
cost and, once COMPLETED, `result.tracks[]`. Apiframe signs its webhooks with a secret derived
from our API key, so a callback whose signature checks out is trusted as it stands.

Idempotency, said plainly. Every submit carries an `Idempotency-Key` header holding the
generation's `client_ref`, a UUID that stays the same for every attempt at one generation.
What the spec promises about it is one line of its overview: "One API key, unified billing,
idempotency and webhooks across every Apiframe model." It names no header or field that
carries a key, no time a key is remembered, nor what a repeated key answers; the fuller
documentation the studio builds against (specs/README.md) adds nothing about it. So nothing
written makes a second submit after an ambiguous answer (a read timeout, an unreadable 2xx)
safe: `client_names_job` is False, and such a job waits for the user to decide whether to
send it again, as a Pixazo or AI/ML API job does. The header still goes out: where Apiframe
honours it (the emulator does: a repeated key answers the job it made, a key reused with
another body answers 409), a resubmit the user asks for is the same job, not a second charge.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ..base import (
    Adapter,
    CallbackRejected,
    CostUnit,
    ErrorKind,
    JobState,
    Media,
    State,
    Submitted,
    parse_json_bytes,
)

SUBMIT_PATH = "/v2/music/generate"
# Each model's own options travel in one object named after it; the catalog's names are flat.
PARAMS_KEYS = {"elevenlabs-music": "elevenlabsParams"}
WEBHOOK_EVENTS = ("progress", "completed", "failed")
SIGNATURE_HEADER = "X-Webhook-Signature"
EVENT_HEADER = "X-Webhook-Event"

STATES = {
    "QUEUED": State.QUEUED,
    "PROCESSING": State.RUNNING,
    "COMPLETED": State.SUCCEEDED,
    "FAILED": State.FAILED,
    "CANCELLED": State.FAILED,  # in the API's job schema, though the studio never cancels
}
# A webhook names its event; the status it carries is the better witness when both are there.
EVENT_STATES = {"progress": State.RUNNING, "completed": State.SUCCEEDED, "failed": State.FAILED}


def signing_secrets(api_key: str) -> tuple[bytes, ...]:
    """The HMAC keys Apiframe may sign with, both derived from our API key.

    The fuller docs key the HMAC with the hex SHA-256 of the key; Apiframe's own SDK keys it
    with the raw digest bytes. Either proves the sender holds the key, so both are accepted.
    """
    digest = hashlib.sha256(api_key.encode()).digest()
    return digest.hex().encode(), digest


def sign(api_key: str, body: bytes) -> str:
    """What Apiframe sends in X-Webhook-Signature for `body` (hex HMAC-SHA256, hex-digest key)."""
    return hmac.new(signing_secrets(api_key)[0], body, hashlib.sha256).hexdigest()


class Apiframe(Adapter):
    label = "Apiframe"
    accepts_callbacks = True
    signs_callbacks = True  # every callback is verified against the key's signature
    # The Idempotency-Key carries `client_ref`, but the spec does not promise what a repeated key
    # does (see the module docstring): a resubmit is not known to be the same job.
    client_names_job = False
    cost_unit = CostUnit.CREDITS  # `creditCost`, in Apiframe credits

    def auth_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key, "Accept": "application/json"}

    def submit(
        self, model: str, params: Mapping[str, Any], *, callback_url: str | None = None, client_ref: str = ""
    ) -> Submitted:
        body = request_body(model, params, callback_url=callback_url)
        # Where Apiframe honours the key, a repeated submit answers the job it already made.
        headers = {"Idempotency-Key": client_ref} if client_ref else {}
        response = self.request("POST", SUBMIT_PATH, json=body, headers=headers)
        answer = self.json(response, accepted=True)
        job_id = answer.get("jobId") if isinstance(answer, dict) else None
        if not isinstance(job_id, str) or not job_id:
            # A 2xx means Apiframe took the job: without its id we cannot follow it, nor resubmit safely.
            raise self.unreadable("the submit answer has no jobId", maybe_accepted=True)
        # Almost always QUEUED; an idempotent replay may say more, but only the job document has the result.
        return Submitted(external_id=job_id)

    def status(self, external_id: str) -> JobState:
        response = self.request("GET", f"/v2/jobs/{quote(external_id, safe='')}")
        body = self.json(response)
        if not isinstance(body, dict):
            raise self.unreadable("the job answer is not an object")
        return self._job_state(body, job_id=body.get("id") or external_id)

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> JobState:
        self._verify_signature(headers, body)
        payload = parse_json_bytes(body, provider=self.label)
        if not isinstance(payload, dict):
            raise CallbackRejected("the callback body is not a JSON object", provider=self.label)
        event = payload.get("event") or header_value(headers, EVENT_HEADER)
        return self._job_state(payload, job_id=payload.get("jobId") or payload.get("id"), event=str(event or ""))

    def error_message(self, response: httpx.Response) -> str:
        """Apiframe's `error`, plus the per-field `details` of a validation error and the
        credit numbers of a 402, which say what to fix."""
        message = super().error_message(response)
        try:
            body = response.json()
        except ValueError:
            return message
        if not isinstance(body, dict):
            return message
        details = body.get("details")
        if isinstance(details, dict) and details:
            problems = "; ".join(f"{field}: {describe(issues)}" for field, issues in details.items())
            message = f"{message} ({problems})"
        required, available = body.get("creditsRequired"), body.get("creditsAvailable")
        if isinstance(required, int) and isinstance(available, int):
            message = f"{message} (needs {required} credits, has {available})"
        return message

    # --- helpers ---

    def _verify_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        given = header_value(headers, SIGNATURE_HEADER).strip()
        if given[:7].lower() == "sha256=":  # the SDK's preferred form; the docs send bare hex
            given = given[7:]
        if not given:
            raise CallbackRejected("the callback is not signed", provider=self.label, kind=ErrorKind.AUTH)
        given_bytes = given.lower().encode("utf-8", "replace")
        matches = [
            hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).hexdigest().encode(), given_bytes)
            for secret in signing_secrets(self.api_key)
        ]
        if not any(matches):
            raise CallbackRejected("the callback signature does not match", provider=self.label, kind=ErrorKind.AUTH)

    def _job_state(self, body: dict, *, job_id: Any, event: str = "") -> JobState:
        status = str(body.get("status") or "").upper()
        # A webhook without a status still names its event.
        state = self.state_for(status, STATES) if status else self.state_for(event.lower(), EVENT_STATES)
        media: tuple[Media, ...] = ()
        if state is State.SUCCEEDED:
            media = media_in(body.get("result"))
            if not media:
                raise self.unreadable("COMPLETED without result.tracks[].audioUrl")
        error = ""
        if state is State.FAILED:
            fallback = "the job was cancelled" if status == "CANCELLED" else "generation failed"
            error = str(body.get("error") or fallback)
        return JobState(
            state=state,
            external_id=str(job_id or ""),
            media=media,
            error=error,
            cost=self.reported_cost(body.get("creditCost")),
            progress=percent(body.get("progress")),
            raw=body,
        )


def request_body(model: str, params: Mapping[str, Any], *, callback_url: str | None) -> dict[str, Any]:
    """The wire request: `prompt` at the top, the model's own options nested under its params key."""
    params_key = PARAMS_KEYS[model]
    options = {name: value for name, value in params.items() if name != "prompt"}
    body: dict[str, Any] = {"model": model, "prompt": params["prompt"]}
    if options:
        body[params_key] = options
    if callback_url:
        # The excerpt says `webhook_url`; the API's schema (and its SDK) take camelCase.
        body["webhookUrl"] = callback_url
        body["webhookEvents"] = list(WEBHOOK_EVENTS)
    return body


def media_in(result: Any) -> tuple[Media, ...]:
    """One Media per track that has an audio URL. Music results are `{"tracks": [...]}`; a bare
    list of tracks (how Apiframe answers for two-song models) or a single track are read too."""
    if isinstance(result, dict):
        tracks = result.get("tracks")
        if tracks is None and "audioUrl" in result:
            tracks = [result]
    else:
        tracks = result
    if not isinstance(tracks, list):
        return ()
    media = []
    for track in tracks:
        url = track.get("audioUrl") if isinstance(track, dict) else None
        if isinstance(url, str) and url:
            media.append(Media(url=url, title=str(track.get("title") or ""), duration=seconds(track.get("duration"))))
    return tuple(media)


def seconds(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return float(value)


def percent(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return max(0, min(100, int(value)))


def describe(issues: Any) -> str:
    if isinstance(issues, list):
        return ", ".join(str(issue) for issue in issues)
    return str(issues)


def header_value(headers: Mapping[str, str], name: str) -> str:
    """A header from a plain dict or Django's case-insensitive headers alike."""
    value = headers.get(name)
    if value is None:
        wanted = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    return value or ""
