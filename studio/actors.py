"""Dramatiq actors: thin wrappers that hand a generation id to the pipeline.

Provider errors are handled inside the pipeline (retry with backoff, or fail with a plain
message); Dramatiq's own retries only cover the unexpected (a database hiccup), a few
times, after which the sweep re-drives the job from the database.
"""

import dramatiq

from providers.base import ProviderError

from . import pipeline

QUEUE = "studio"
RETRY = {"max_retries": 3, "min_backoff": 1_000, "max_backoff": 30_000, "throws": (ProviderError,)}


@dramatiq.actor(queue_name=QUEUE, time_limit=90_000, **RETRY)
def submit_generation(generation_id: int, attempt: int = 0) -> None:
    pipeline.submit(generation_id, attempt)


# A status check that finds the job done fetches its audio in the same message: the fetch's limit.
@dramatiq.actor(queue_name=QUEUE, time_limit=15 * 60_000, **RETRY)
def poll_generation(generation_id: int, checks_done: int, running_at: float | None = None) -> None:
    pipeline.poll(generation_id, checks_done, running_at)


@dramatiq.actor(queue_name=QUEUE, time_limit=15 * 60_000, **RETRY)  # long tracks, slow links
def fetch_audio(generation_id: int) -> None:
    pipeline.fetch(generation_id)


@dramatiq.actor(queue_name=QUEUE, time_limit=5 * 60_000, max_retries=0, throws=())
def sweep() -> None:
    pipeline.sweep()
