"""AI/ML API: Stable Audio and Eleven Music behind one async audio endpoint (specs 001, 002).

`POST /v2/generate/audio` with the model id in the body answers a generation id; the same
path with `?generation_id=` is polled until `completed` (with `audio_file.url`) or `error`.
There are no webhooks. Running out of credits is a 403, not a 402.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..base import (
    Adapter,
    Cost,
    CostUnit,
    JobState,
    Media,
    OutOfCredit,
    ProviderDown,
    ProviderError,
    State,
    Submitted,
)

GENERATE_PATH = "/v2/generate/audio"

STATES = {
    "queued": State.QUEUED,
    "generating": State.RUNNING,
    "completed": State.SUCCEEDED,
    "error": State.FAILED,
}

# For files labelled `application/octet-stream`, as the Stable Audio example is.
EXTENSION_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg"}

# The gateway's 403 covers both "this key may not" and "no credits left"; only the words tell them apart.
OUT_OF_CREDIT_WORDS = ("credit", "balance", "top up")


class AimlApi(Adapter):
    label = "AI/ML API"
    cost_unit = CostUnit.CREDITS  # `meta.usage.credits_used`, in AI/ML API credits (its "tokens")

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def submit(
        self, model: str, params: Mapping[str, Any], *, callback_url: str | None = None, client_ref: str = ""
    ) -> Submitted:
        response = self.request("POST", GENERATE_PATH, json={"model": model, **params})
        body = self.json(response, accepted=True)
        # Current docs answer {"id", "status"}; older examples answer {"generation_id"}.
        generation_id = (body.get("id") or body.get("generation_id")) if isinstance(body, dict) else None
        if not isinstance(generation_id, str) or not generation_id:
            # A 2xx means the job was taken: without its id we cannot follow it, nor resubmit safely.
            raise self.unreadable("the submit answer has no generation id", maybe_accepted=True)
        return Submitted(external_id=generation_id, state=self._finished_at_submit(body, generation_id))

    def status(self, external_id: str) -> JobState:
        response = self.request("GET", GENERATE_PATH, params={"generation_id": external_id})
        return self._job_state(self.json(response), external_id)

    def error_message(self, response: httpx.Response) -> str:
        body = _json_object(response)
        message = body.get("message")
        if isinstance(message, list):  # validation errors may come as a list of problems
            message = "; ".join(str(m) for m in message if m)
        if isinstance(message, str) and message.strip():
            return message.strip()
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
            return error["message"]
        return super().error_message(response)

    def error_for(self, response: httpx.Response) -> ProviderError:
        error = super().error_for(response)
        if response.status_code == 403 and any(w in error.message.lower() for w in OUT_OF_CREDIT_WORDS):
            return OutOfCredit(error.message, provider=self.label, status_code=403)
        return error

    # --- reading answers ---

    def _credits_used(self, meta: Any) -> Cost | None:
        """`meta.usage.credits_used`: what the job cost."""
        usage = meta.get("usage") if isinstance(meta, dict) else None
        return self.reported_cost(usage.get("credits_used")) if isinstance(usage, dict) else None

    def _finished_at_submit(self, body: dict, generation_id: str) -> JobState | None:
        """The submit answer normally says `queued`; should it already be final, say so."""
        if str(body.get("status") or "").lower() not in ("completed", "error"):
            return None
        try:
            return self._job_state(body, generation_id)
        except ProviderDown:
            return None  # not readable as a final state: polling will tell

    def _job_state(self, body: Any, external_id: str) -> JobState:
        if not isinstance(body, dict):
            raise self.unreadable("the status answer is not an object")
        state = self.state_for(str(body.get("status") or "").lower(), STATES)
        media: tuple[Media, ...] = ()
        if state is State.SUCCEEDED:
            media = tuple(_media(f) for f in _audio_files(body.get("audio_file")))
            if not media:
                raise self.unreadable("completed without an audio_file url")
        return JobState(
            state=state,
            external_id=str(body.get("id") or external_id),
            media=media,
            error=_failure_text(body.get("error")) if state is State.FAILED else "",
            cost=self._credits_used(body.get("meta")),
            raw=body,
        )


def _audio_files(value: Any) -> list[dict]:
    files = value if isinstance(value, list) else [value]
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("url"), str) and f["url"]]


def _media(audio_file: dict) -> Media:
    return Media(url=audio_file["url"], content_type=_content_type(audio_file))


def _content_type(audio_file: dict) -> str:
    """The declared type when it names audio; else a guess from the file name (Stable Audio
    labels its WAV files `application/octet-stream`). The worker sniffs the bytes anyway."""
    declared = audio_file.get("content_type")
    if isinstance(declared, str) and declared.startswith("audio/"):
        return declared
    name = audio_file.get("file_name")
    name = name if isinstance(name, str) and name else urlsplit(audio_file["url"]).path
    _, dot, extension = name.rpartition(".")
    guessed = EXTENSION_TYPES.get(extension.lower()) if dot else None
    return guessed or (declared if isinstance(declared, str) else "")


def _failure_text(error: Any) -> str:
    if isinstance(error, dict):
        message, name = error.get("message"), error.get("name")
        if isinstance(message, str) and message:
            return message
        if isinstance(name, str) and name:
            return name
    if isinstance(error, str) and error:
        return error
    return "generation failed"


def _json_object(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
