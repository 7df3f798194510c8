"""Dramatiq actors: thin wrappers that hand a generation id to the pipeline and send the step it
answers. This is the only module that sends pipeline messages.

Provider errors are handled inside the pipeline (retry with backoff, or fail with a plain
message); Dramatiq's own retries only cover the unexpected (a database hiccup), a few times,
each counted on the job, so a step that keeps failing ends the job instead of looping.
"""

from __future__ import annotations

import dramatiq

from providers.base import ProviderError
from studio.jobs import pipeline

# Two queues: jobs to start, and jobs already at a provider (status checks and fetches). Every
# worker consumes both, each through a consumer of its own that hands its threads a share of the
# work: in a burst of starts, a job the provider finished is checked and saved in turn with the
# submits instead of behind every job started after it. (Serving it strictly first starved the
# submits: the burst as a whole took a quarter longer.)
QUEUE = "studio"
AT_PROVIDER_QUEUE = "studio-at-provider"
QUEUES = (QUEUE, AT_PROVIDER_QUEUE)
RETRY = {"max_retries": 3, "min_backoff": 1_000, "max_backoff": 30_000, "throws": (ProviderError,)}


# A synchronous render streams its audio: the limit of a long fetch.
@dramatiq.actor(queue_name=QUEUE, time_limit=15 * 60_000, **RETRY)
def submit_generation(generation_id: int, turn: int = 0) -> None:
    _run("submit", generation_id, lambda: pipeline.submit(generation_id, turn))


# A status check that finds the job done fetches its audio in the same message: the fetch's limit.
@dramatiq.actor(queue_name=AT_PROVIDER_QUEUE, time_limit=15 * 60_000, **RETRY)
def poll_generation(generation_id: int, checks_done: int, running_at: float | None = None) -> None:
    _run("status check", generation_id, lambda: pipeline.poll(generation_id, checks_done, running_at))


@dramatiq.actor(queue_name=AT_PROVIDER_QUEUE, time_limit=15 * 60_000, **RETRY)  # long tracks
def fetch_audio(generation_id: int) -> None:
    _run("fetch", generation_id, lambda: pipeline.fetch(generation_id))


@dramatiq.actor(queue_name=QUEUE, time_limit=5 * 60_000, max_retries=0, throws=())
def sweep() -> None:
    for step in pipeline.sweep():
        send(step)


def _run(step: str, generation_id: int, work) -> None:
    try:
        next_step = work()
    except Exception as exc:
        pipeline.step_failed(generation_id, step, exc)
        raise
    if next_step is not None:
        send(next_step)


def send(step: pipeline.Next) -> None:
    """Send the message for a pipeline step: now, or after its delay (via the delay queue)."""
    timing = {"delay": int(step.delay * 1000)} if step.delay > 0 else {}
    if step.step == "submit":
        submit_generation.send_with_options(args=(step.generation_id, step.turn), **timing)
    elif step.step == "poll":
        kwargs = {"running_at": step.running_at} if step.running_at is not None else {}
        poll_generation.send_with_options(args=(step.generation_id, step.turn), kwargs=kwargs, **timing)
    elif step.step == "fetch":
        fetch_audio.send_with_options(args=(step.generation_id,), **timing)
    else:
        raise ValueError(f"unknown pipeline step {step.step!r}")


def send_all(steps) -> int:
    count = 0
    for step in steps:
        send(step)
        count += 1
    return count
