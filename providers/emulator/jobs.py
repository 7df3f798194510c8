"""An emulated generation job. Its state is derived from the clock, so no worker thread has to move it along."""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum

from .audio import Audio, AudioSpec


class Phase(str, Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"


@dataclass
class Job:
    provider: str
    request_id: str
    model_id: str
    params: dict
    audio: AudioSpec
    queued_seconds: float
    total_seconds: float  # from submission to the terminal status
    outcome: str = "completed"  # completed, failed or error
    mount_url: str = ""  # the provider's URL as the submitting client saw it, for URLs in callbacks
    created_wall: float = field(default_factory=time.time)
    created_clock: float = field(default_factory=time.monotonic)
    _rendered: Audio | None = field(default=None, repr=False)
    _render_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def elapsed(self) -> float:
        return time.monotonic() - self.created_clock

    def phase(self) -> Phase:
        elapsed = self.elapsed()
        if elapsed >= self.total_seconds:
            return Phase.DONE
        if elapsed >= self.queued_seconds:
            return Phase.PROCESSING
        return Phase.QUEUED

    def seconds_until_done(self) -> float:
        return max(0.0, self.total_seconds - self.elapsed())

    def phase_started_wall(self) -> float:
        """Wall-clock time of the latest phase change (the job's `updated_at`)."""
        phase = self.phase()
        if phase is Phase.DONE:
            return self.done_wall()
        if phase is Phase.PROCESSING:
            return self.created_wall + self.queued_seconds
        return self.created_wall

    def done_wall(self) -> float:
        return self.created_wall + self.total_seconds

    def media(self) -> Audio:
        """The job's audio, rendered once on first use and then served from memory."""
        with self._render_lock:
            if self._rendered is None:
                self._rendered = self.audio.render()
            return self._rendered

    def media_sha256(self) -> str:
        return hashlib.sha256(self.media().data).hexdigest()


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (version 7), the shape of the gateways' ids ("019d..." in the Pixazo docs)."""
    millis = time.time_ns() // 1_000_000
    value = (millis & (1 << 48) - 1) << 80 | int.from_bytes(os.urandom(10), "big")
    value = value & ~(0xF << 76) | 0x7 << 76  # version
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    return uuid.UUID(int=value)


def job_timings(settings: dict, time_factor: float = 1.0) -> dict[str, float]:
    """`queued_seconds` and `total_seconds` for a new job, from the configuration and its markers."""
    queued = settings["queued_seconds"] * time_factor
    return {"queued_seconds": queued, "total_seconds": max(settings["job_seconds"], settings["queued_seconds"]) * time_factor}
