"""Pixazo gateway: ElevenLabs Music and Eleven v3 speech (spec 000).

Submit answers a `request_id`; the universal status endpoint is polled; an optional
`X-Webhook-URL` (https only) gets the same status document when the job ends. Pixazo does
not sign its callbacks, so the studio treats them as a hint and confirms with a status GET.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..base import (
    Adapter,
    JobState,
    Media,
    State,
    Submitted,
    parse_json_bytes,
)

# The gateway's model id → the path of its generate request.
REQUEST_PATHS = {
    "elevenlabs-music-api-368": "/elevenlabs-music-api-368/v1/elevenlabs-music-api-request",
    "eleven-v3-alpha-954": "/eleven-v3-alpha-954/v1/eleven-v3-alpha-request",
}

STATES = {
    "QUEUED": State.QUEUED,
    "PROCESSING": State.RUNNING,
    "COMPLETED": State.SUCCEEDED,
    "FAILED": State.FAILED,
    "ERROR": State.FAILED,  # a system error: Pixazo does not charge for it
}


class Pixazo(Adapter):
    label = "Pixazo"
    accepts_callbacks = True
    cost_unit = None  # its answers say nothing of cost: a price per model can be set (README)

    def auth_headers(self) -> dict[str, str]:
        return {
            "Ocp-Apim-Subscription-Key": self.api_key,
            "Cache-Control": "no-cache",
        }

    def submit(
        self, model: str, params: Mapping[str, Any], *, callback_url: str | None = None, client_ref: str = ""
    ) -> Submitted:
        headers = {}
        if callback_url and callback_url.startswith("https://"):  # Pixazo rejects plain http
            headers = {"X-Webhook-URL": callback_url, "X-Webhook-Mode": "terminal"}
        response = self.request("POST", REQUEST_PATHS[model], json=dict(params), headers=headers)
        body = self.json(response, accepted=True)
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(request_id, str) or not request_id:
            # A 2xx means Pixazo took the job: without its id we cannot follow it, nor resubmit safely.
            raise self.unreadable("the submit answer has no request_id", maybe_accepted=True)
        return Submitted(external_id=request_id)  # its status is always QUEUED; polling tells the rest

    def status(self, external_id: str) -> JobState:
        response = self.request("GET", f"/v2/requests/status/{external_id}")
        return self._job_state(self.json(response))

    def parse_callback(self, headers: Mapping[str, str], body: bytes) -> JobState:
        return self._job_state(parse_json_bytes(body, provider=self.label))

    def _job_state(self, body: Any) -> JobState:
        if not isinstance(body, dict):
            raise self.unreadable("the status answer is not an object")
        status = str(body.get("status") or "").upper()
        state = self.state_for(status, STATES)
        media: tuple[Media, ...] = ()
        if state is State.SUCCEEDED:
            output = body.get("output") or {}
            urls = output.get("media_url") if isinstance(output, dict) else None
            if isinstance(urls, str):
                urls = [urls]
            urls = [u for u in urls or [] if isinstance(u, str) and u]
            if not urls:
                raise self.unreadable("COMPLETED without a media_url")
            content_type = output.get("media_type") or "" if isinstance(output, dict) else ""
            media = tuple(Media(url=u, content_type=str(content_type)) for u in urls)
        error = ""
        if state is State.FAILED:
            error = str(body.get("error") or ("system error" if status == "ERROR" else "generation failed"))
        return JobState(
            state=state,
            external_id=str(body.get("request_id") or ""),
            media=media,
            error=error,
            raw=body,
        )
